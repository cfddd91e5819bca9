// CONTEXT=SORT over a real socket (RFC 5267 4): a message APPENDed by another connection reaches an IDLE client as ADDTO.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawImap } from '../helpers/imap-raw.js';
import { admitAnyone, startImapServer } from '../helpers/imap-server.js';
import { deliverText, openTestStore } from '../helpers/imap-session.js';

test('IDLE: an APPEND by another connection is pushed as ESEARCH ADDTO at its sorted position', async () => {
  const { store, bob } = await openTestStore();
  for (const [n, h] of [
    [1, 10],
    [2, 8],
    [3, 12],
  ] as const) {
    await deliverText(
      store,
      bob,
      `From: a@x.test\r\nSubject: m${n}\r\nDate: Mon, 2 Nov 2026 ${h}:00:00 +0000\r\n\r\nbody\r\n`,
      { queueId: `Q${n}` },
    );
  }
  const server = await startImapServer(store, { authenticate: admitAnyone });
  after(() => server.close());
  const port = server.port;
  const watcher = await RawImap.open(port);
  const actor = await RawImap.open(port);
  try {
    for (const c of [watcher, actor]) {
      assert.equal((await c.command('LOGIN bob@example.test x')).status, 'OK');
      assert.equal((await c.command('SELECT INBOX')).status, 'OK');
    }
    // Sorted by DATE: 2 (08:00), 1 (10:00), 3 (12:00).
    watcher.write('S1 UID SORT RETURN (UPDATE) (DATE) UTF-8 ALL\r\n');
    assert.deepEqual((await watcher.until('S1')).lines, ['* ESEARCH (TAG "S1") UID ALL 2,1,3']);
    watcher.write('I1 IDLE\r\n');
    assert.equal(await watcher.line(), '+ idling');
    // 11:00 sorts third: ADDTO (3 4), after the EXISTS that announces UID 4.
    const msg = 'From: c@x.test\r\nSubject: m4\r\nDate: Mon, 2 Nov 2026 11:00:00 +0000\r\n\r\nhi\r\n';
    actor.write(`A1 APPEND INBOX {${Buffer.byteLength(msg)}}\r\n`);
    assert.match(await actor.line(), /^\+/);
    actor.write(`${msg}\r\n`);
    assert.equal((await actor.until('A1')).status, 'OK');
    const started = Date.now();
    const pushed: string[] = [];
    while (!pushed.some((l) => l.startsWith('* ESEARCH'))) pushed.push(await watcher.line(3000));
    assert.ok(Date.now() - started < 3000);
    assert.deepEqual(pushed.slice(-1), ['* ESEARCH (TAG "S1") UID ADDTO (3 4)']);
    assert.ok(pushed.includes('* 4 EXISTS'), pushed.join('|'));
    watcher.write('DONE\r\n');
    assert.equal((await watcher.until('I1')).status, 'OK');
    // After IDLE, CANCELUPDATE ends the context: a flag change that would remove 4 says nothing.
    assert.equal((await watcher.command('CANCELUPDATE "S1"')).status, 'OK');
    assert.equal((await actor.command('UID STORE 4 +FLAGS (\\Deleted)')).status, 'OK');
    const r = await watcher.command('NOOP');
    assert.ok(!r.lines.some((l) => l.startsWith('* ESEARCH')), r.lines.join('|'));
  } finally {
    watcher.close();
    actor.close();
  }
});
