// SEARCH header keys match each message's header index in place: no per-message arrays or strings (V8's sampling heap profiler counts them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from 'node:inspector/promises';
import { deliverText, imapSession, openTestStore, TEST_NOW } from '../../helpers/imap-session.js';

const MESSAGES = 300;
const SEARCHES = 12;

interface SamplingNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: SamplingNode[];
}

/** Bytes sampled in frames of search.ts's per-message matching (matches and what it calls there). */
function matchingBytes(node: SamplingNode, inMatches = false): number {
  const here =
    inMatches || (node.callFrame.functionName === 'matches' && node.callFrame.url.endsWith('search.ts'));
  let sum = here ? node.selfSize : 0;
  for (const c of node.children) sum += matchingBytes(c, here);
  return sum;
}

test('SEARCH FROM/SUBJECT allocate nothing per message while matching header indexes', async () => {
  const { store, bob } = await openTestStore({ clock: () => TEST_NOW });
  for (let i = 0; i < MESSAGES; i++) {
    await deliverText(
      store,
      bob,
      `From: Sender ${i % 7} <sender${i % 7}@remote.example>\r\nTo: bob@example.test\r\n` +
        `Subject: ${i % 3 === 0 ? 'invoice' : 'note'} ${i}\r\n\r\nbody\r\n`,
      { queueId: `Q${i}` },
    );
  }
  const send = imapSession(store);
  await send('a LOGIN bob@example.test x');
  await send('b SELECT INBOX');
  // Warm: the header indexes are loaded into the store's cache once (that allocation is not matching).
  assert.match(await send('w SEARCH FROM sender3@'), /^w OK/m);
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 512,
      includeObjectsCollectedByMinorGC: true,
      includeObjectsCollectedByMajorGC: true,
    });
    for (let i = 0; i < SEARCHES; i++) {
      // FROM with an '@' filters on the field's presence only (requiredHeaderText): every message is matched.
      const r = await send(`s${i} SEARCH ${i % 2 === 0 ? 'FROM sender3@' : 'SUBJECT invoice FROM sender'}`);
      assert.match(r, new RegExp(`^s${i} OK`, 'm'));
    }
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as {
      profile: { head: SamplingNode };
    };
    const bytes = matchingBytes(profile.head);
    // Before: an array and a string per value per message (~100-200 bytes each, ~0.5 MB here).
    if (process.env.SHOW) console.log('matching bytes', bytes);
    assert.ok(bytes < 64 * 1024, `matching allocated ~${bytes} bytes for ${MESSAGES * SEARCHES} messages`);
  } finally {
    session.disconnect();
  }
});
