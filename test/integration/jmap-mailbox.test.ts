// JMAP Mailbox/* and Thread/* over real HTTP (RFC 8621 2, 3): roles from special use, counts, changes, query, set = IMAP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RawImap } from '../helpers/imap-raw.js';
import { startJmapServer, type JmapTestServer } from '../helpers/jmap-server.js';

let t: JmapTestServer;
before(async () => {
  t = await startJmapServer();
});
after(async () => {
  await t.close();
});

type Box = Record<string, unknown> & { id: string; name: string };

async function mailboxes(): Promise<{ state: string; list: Box[] }> {
  const [[, res]] = await t.call([['Mailbox/get', { accountId: t.bob.id, ids: null }, '0']]);
  return res as { state: string; list: Box[] };
}
const byName = (list: Box[], name: string) => list.find((b) => b.name === name)!;

const MESSAGE = (subject: string, id: string, extra = '') =>
  `From: Joe <joe@example.org>\nTo: bob@example.test\nSubject: ${subject}\nMessage-ID: <${id}>\n${extra}Date: Mon, 1 Jan 2024 10:00:00 +0000\n\nHello ${subject}\n`;

describe('session', () => {
  test('the mail capability with its limits and sort options (RFC 8621 1.3.1)', async () => {
    const res = await fetch(`${t.base}/.well-known/jmap`, { headers: { authorization: t.bob.auth } });
    const session = (await res.json()) as {
      capabilities: Record<string, unknown>;
      accounts: Record<string, { accountCapabilities: Record<string, Record<string, unknown>> }>;
      primaryAccounts: Record<string, string>;
    };
    assert.deepEqual(session.capabilities['urn:ietf:params:jmap:mail'], {});
    const mail = session.accounts[t.bob.id]!.accountCapabilities['urn:ietf:params:jmap:mail']!;
    assert.equal(mail.maxMailboxesPerEmail, null);
    assert.equal(mail.maxSizeMailboxName, 255);
    assert.equal(mail.mayCreateTopLevelMailbox, true);
    assert.ok((mail.emailQuerySortOptions as string[]).includes('receivedAt'));
    assert.equal(session.primaryAccounts['urn:ietf:params:jmap:mail'], t.bob.id);
  });
});

describe('Mailbox/get', () => {
  test('every mailbox with role, counts, rights and subscription (RFC 8621 2.1)', async () => {
    await t.append(t.bob.storeId, 'INBOX', MESSAGE('one', '1@x'), ['\\Seen']);
    await t.append(t.bob.storeId, 'INBOX', MESSAGE('two', '2@x'));
    const { state, list } = await mailboxes();
    assert.match(state, /^[A-Za-z0-9_-]+$/);
    const inbox = byName(list, 'INBOX');
    assert.deepEqual(
      { ...inbox, id: undefined },
      {
        id: undefined,
        name: 'INBOX',
        parentId: null,
        role: 'inbox',
        sortOrder: 1,
        totalEmails: 2,
        unreadEmails: 1,
        totalThreads: 2,
        unreadThreads: 1,
        myRights: {
          mayReadItems: true,
          mayAddItems: true,
          mayRemoveItems: true,
          maySetSeen: true,
          maySetKeywords: true,
          mayCreateChild: true,
          mayRename: false,
          mayDelete: false,
          maySubmit: true,
        },
        isSubscribed: true,
      },
    );
    assert.equal(byName(list, 'Trash').role, 'trash');
    assert.equal(byName(list, 'Sent').role, 'sent');
    assert.equal(byName(list, 'Junk').role, 'junk');
  });

  test("properties limit the answer; unknown ids are notFound; another account's mailbox is notFound", async () => {
    const carolBoxes = (
      await t.call([['Mailbox/get', { accountId: t.carol.id, ids: null }, '0']], t.carol.auth)
    )[0]![1].list as Box[];
    const carolInbox = byName(carolBoxes, 'INBOX').id;
    const [[, res]] = await t.call([
      ['Mailbox/get', { accountId: t.bob.id, ids: [carolInbox, 'Fzz', 'nope'], properties: ['name'] }, '0'],
    ]);
    assert.deepEqual(res.list, []);
    assert.deepEqual(res.notFound, [carolInbox, 'Fzz', 'nope']);
    const bobInbox = byName((await mailboxes()).list, 'INBOX').id;
    const [[, one]] = await t.call([
      ['Mailbox/get', { accountId: t.bob.id, ids: [bobInbox], properties: ['name'] }, '0'],
    ]);
    assert.deepEqual(one.list, [{ id: bobInbox, name: 'INBOX' }]);
  });

  test('an unknown property is invalidArguments; another account id is accountNotFound', async () => {
    const [[name, res]] = await t.call([
      ['Mailbox/get', { accountId: t.bob.id, properties: ['bogus'] }, '0'],
    ]);
    assert.equal(name, 'error');
    assert.equal(res.type, 'invalidArguments');
    const [[, other]] = await t.call([['Mailbox/get', { accountId: t.carol.id }, '0']]);
    assert.equal(other.type, 'accountNotFound');
  });

  test('10,000 ids in one get is requestTooLarge (maxObjectsInGet)', async () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `F${(i + 1).toString(36)}`);
    const [[name, res]] = await t.call([['Mailbox/get', { accountId: t.bob.id, ids }, '0']]);
    assert.equal(name, 'error');
    assert.equal(res.type, 'requestTooLarge');
  });
});

describe('Mailbox/changes', () => {
  test("the store's CREATE is a created Mailbox; new mail is a counts-only update with updatedProperties", async () => {
    const { state } = await mailboxes();
    t.server.store.mail.createMailbox(t.bob.storeId, 'Projects');
    const [[, c1]] = await t.call([['Mailbox/changes', { accountId: t.bob.id, sinceState: state }, '0']]);
    const projects = byName((await mailboxes()).list, 'Projects');
    assert.deepEqual(c1.created, [projects.id]);
    assert.deepEqual(c1.updated, []);
    assert.equal(c1.updatedProperties, null);
    await t.append(t.bob.storeId, 'Projects', MESSAGE('three', '3@x'));
    const [[, c2]] = await t.call([
      ['Mailbox/changes', { accountId: t.bob.id, sinceState: c1.newState }, '0'],
    ]);
    assert.deepEqual(c2.updated, [projects.id]);
    assert.deepEqual(c2.updatedProperties, ['totalEmails', 'unreadEmails', 'totalThreads', 'unreadThreads']);
    const [[, counts]] = await t.call([
      ['Mailbox/get', { accountId: t.bob.id, ids: [projects.id], properties: ['totalEmails'] }, '0'],
    ]);
    assert.deepEqual(counts.list, [{ id: projects.id, totalEmails: 1 }]);
  });

  test('over IMAP: CREATE, RENAME and DELETE are Mailbox created, updated, destroyed', async () => {
    const { state } = await mailboxes();
    const imap = await RawImap.open(t.server.addresses.imap![0]!.port);
    try {
      assert.equal((await imap.command('LOGIN bob@example.test "bob secret"')).status, 'OK');
      assert.equal((await imap.command('CREATE "Over IMAP"')).status, 'OK');
      const [[, created]] = await t.call([
        ['Mailbox/changes', { accountId: t.bob.id, sinceState: state }, '0'],
      ]);
      const box = byName((await mailboxes()).list, 'Over IMAP');
      assert.deepEqual(created.created, [box.id]);
      assert.equal((await imap.command('RENAME "Over IMAP" "Renamed"')).status, 'OK');
      const [[, renamed]] = await t.call([
        ['Mailbox/changes', { accountId: t.bob.id, sinceState: created.newState }, '0'],
      ]);
      assert.deepEqual(renamed.updated, [box.id]);
      assert.equal(byName((await mailboxes()).list, 'Renamed').id, box.id);
      assert.equal((await imap.command('DELETE "Renamed"')).status, 'OK');
      const [[, deleted]] = await t.call([
        ['Mailbox/changes', { accountId: t.bob.id, sinceState: renamed.newState }, '0'],
      ]);
      assert.deepEqual(deleted.destroyed, [box.id]);
    } finally {
      imap.socket.destroy();
    }
  });

  test('counts follow IMAP STORE \\Seen; a change in one mailbox recounts only that one', async () => {
    const store = t.server.store;
    const counted: string[] = [];
    const mailboxCounts = store.jmap.mailboxCounts.bind(store.jmap);
    store.jmap.mailboxCounts = (account, id) => (counted.push(id), mailboxCounts(account, id));
    try {
      const get = async () => (await mailboxes()).list;
      const before = byName(await get(), 'INBOX');
      counted.length = 0;
      const inbox = store.mail.findMailbox(t.bob.storeId, 'INBOX')!;
      const unseen = store.mail.listIndex(inbox.id).find((r) => !r.flags.includes('\\Seen'))!;
      await store.mail.storeFlags(inbox.id, [unseen.uid], 'add', ['\\Seen'], null);
      const after = byName(await get(), 'INBOX');
      assert.equal(after.unreadEmails, (before.unreadEmails as number) - 1);
      assert.equal(after.totalEmails, before.totalEmails);
      assert.deepEqual(counted, [before.id]);
    } finally {
      store.jmap.mailboxCounts = mailboxCounts;
    }
  });

  test('a state that is not one is cannotCalculateChanges; maxChanges 0 is invalidArguments', async () => {
    const [[, bad]] = await t.call([
      ['Mailbox/changes', { accountId: t.bob.id, sinceState: 'garbage' }, '0'],
    ]);
    assert.equal(bad.type, 'cannotCalculateChanges');
    const { state } = await mailboxes();
    const [[, zero]] = await t.call([
      ['Mailbox/changes', { accountId: t.bob.id, sinceState: state, maxChanges: 0 }, '0'],
    ]);
    assert.equal(zero.type, 'invalidArguments');
  });
});

describe('Mailbox/query', () => {
  test('filter by role and hasAnyRole, sort by sortOrder then name, sortAsTree puts children after parents', async () => {
    t.server.store.mail.createMailbox(t.bob.storeId, 'Projects/Alpha');
    const { list } = await mailboxes();
    const id = (n: string) => byName(list, n).id;
    const [[, roles]] = await t.call([
      [
        'Mailbox/query',
        {
          accountId: t.bob.id,
          filter: { hasAnyRole: true },
          sort: [{ property: 'sortOrder' }, { property: 'name' }],
        },
        '0',
      ],
    ]);
    assert.deepEqual(roles.ids, ['INBOX', 'Drafts', 'Sent', 'Archive', 'Junk', 'Trash'].map(id));
    const [[, inbox]] = await t.call([
      ['Mailbox/query', { accountId: t.bob.id, filter: { role: 'inbox' } }, '0'],
    ]);
    assert.deepEqual(inbox.ids, [id('INBOX')]);
    const [[, tree]] = await t.call([
      [
        'Mailbox/query',
        {
          accountId: t.bob.id,
          filter: { hasAnyRole: false },
          sort: [{ property: 'name', isAscending: false }],
          sortAsTree: true,
          calculateTotal: true,
        },
        '0',
      ],
    ]);
    assert.deepEqual(tree.ids, [id('Projects'), id('Alpha')]);
    assert.equal(tree.total, 2);
    const [[, child]] = await t.call([
      ['Mailbox/query', { accountId: t.bob.id, filter: { parentId: id('Projects') } }, '0'],
    ]);
    assert.deepEqual(child.ids, [id('Alpha')]);
    const [[, named]] = await t.call([
      [
        'Mailbox/query',
        {
          accountId: t.bob.id,
          filter: { operator: 'OR', conditions: [{ name: 'ALPH' }, { name: 'trash' }] },
        },
        '0',
      ],
    ]);
    assert.deepEqual(new Set(named.ids as string[]), new Set([id('Alpha'), id('Trash')]));
  });

  test('unknown filter and sort properties are unsupportedFilter/unsupportedSort; queryChanges cannotCalculateChanges', async () => {
    const [[, f]] = await t.call([
      ['Mailbox/query', { accountId: t.bob.id, filter: { colour: 'red' } }, '0'],
    ]);
    assert.equal(f.type, 'unsupportedFilter');
    const [[, s]] = await t.call([
      ['Mailbox/query', { accountId: t.bob.id, sort: [{ property: 'size' }] }, '0'],
    ]);
    assert.equal(s.type, 'unsupportedSort');
    const [[, q]] = await t.call([
      ['Mailbox/queryChanges', { accountId: t.bob.id, sinceQueryState: 'x' }, '0'],
    ]);
    assert.equal(q.type, 'cannotCalculateChanges');
  });
});

describe('Mailbox/set', () => {
  test('create with a creation-id parent, rename, subscribe, destroy (RFC 8621 2.5) as IMAP sees them', async () => {
    const [[, res]] = await t.call([
      [
        'Mailbox/set',
        {
          accountId: t.bob.id,
          create: {
            a: { name: 'Clients', parentId: null, isSubscribed: true },
            b: { name: 'Acme', parentId: '#a' },
          },
        },
        '0',
      ],
    ]);
    const created = res.created as Record<string, { id: string }>;
    assert.ok(created.a && created.b, JSON.stringify(res));
    assert.ok(t.server.store.mail.findMailbox(t.bob.storeId, 'Clients/Acme'));
    assert.ok(t.server.store.mail.listSubscriptions(t.bob.storeId).includes('Clients'));
    const [[, upd]] = await t.call([
      [
        'Mailbox/set',
        {
          accountId: t.bob.id,
          update: { [created.b.id]: { name: 'Acme Corp', parentId: null, isSubscribed: true } },
        },
        '0',
      ],
    ]);
    assert.deepEqual(upd.updated, { [created.b.id]: null });
    assert.ok(t.server.store.mail.findMailbox(t.bob.storeId, 'Acme Corp'));
    assert.ok(t.server.store.mail.listSubscriptions(t.bob.storeId).includes('Acme Corp'));
    const [[, del]] = await t.call([
      ['Mailbox/set', { accountId: t.bob.id, destroy: [created.a.id, created.b.id] }, '0'],
    ]);
    assert.deepEqual(del.destroyed, [created.a.id, created.b.id]);
    assert.equal(t.server.store.mail.findMailbox(t.bob.storeId, 'Clients'), null);
  });

  test('mailboxHasChild, mailboxHasEmail, onDestroyRemoveEmails, INBOX forbidden, duplicate role and name', async () => {
    const { list } = await mailboxes();
    const id = (n: string) => byName(list, n).id;
    const [[, res]] = await t.call([
      ['Mailbox/set', { accountId: t.bob.id, destroy: [id('Projects'), id('INBOX'), 'Fnope'] }, '0'],
    ]);
    assert.deepEqual(res.notDestroyed, {
      [id('Projects')]: { type: 'mailboxHasChild' },
      [id('INBOX')]: { type: 'forbidden', description: 'INBOX cannot be destroyed' },
      Fnope: { type: 'notFound' },
    });
    t.server.store.mail.renameMailbox(t.bob.storeId, 'Projects/Alpha', 'Alpha');
    const [[, full]] = await t.call([
      ['Mailbox/set', { accountId: t.bob.id, destroy: [id('Projects')] }, '0'],
    ]);
    assert.deepEqual(full.notDestroyed, { [id('Projects')]: { type: 'mailboxHasEmail' } });
    const [[, gone]] = await t.call([
      ['Mailbox/set', { accountId: t.bob.id, destroy: [id('Projects')], onDestroyRemoveEmails: true }, '0'],
    ]);
    assert.deepEqual(gone.destroyed, [id('Projects')]);
    const [[, bad]] = await t.call([
      [
        'Mailbox/set',
        {
          accountId: t.bob.id,
          create: { x: { name: 'Bin', role: 'trash' }, y: { name: 'Alpha' }, z: { name: 'a/b' } },
        },
        '0',
      ],
    ]);
    const nc = bad.notCreated as Record<string, { type: string; properties: string[] }>;
    assert.deepEqual([nc.x?.properties, nc.y?.properties, nc.z?.properties], [['role'], ['name'], ['name']]);
  });

  test("role and sortOrder updates: stored, the role as the mailbox's IMAP special use, unique per account", async () => {
    const { list, state } = await mailboxes();
    const id = (n: string) => byName(list, n).id;
    const [[, res]] = await t.call([
      [
        'Mailbox/set',
        {
          accountId: t.bob.id,
          create: { bin: { name: 'Bin', sortOrder: 7 } },
          update: { [id('Trash')]: { role: null, sortOrder: 50 } },
        },
        '0',
      ],
      [
        'Mailbox/set',
        { accountId: t.bob.id, update: { '#bin': { role: 'trash' }, [id('INBOX')]: { role: 'archive' } } },
        '1',
      ],
    ]);
    const bin = (res.created as Record<string, { id: string; sortOrder: number }>).bin!;
    assert.equal(bin.sortOrder, 7);
    const [[, second]] = await t.call([
      [
        'Mailbox/get',
        { accountId: t.bob.id, ids: [bin.id, id('Trash')], properties: ['role', 'sortOrder'] },
        '0',
      ],
    ]);
    assert.deepEqual(second.list, [
      { id: bin.id, role: 'trash', sortOrder: 7 },
      { id: id('Trash'), role: null, sortOrder: 50 },
    ]);
    assert.equal(t.server.store.mail.findMailbox(t.bob.storeId, 'Bin')!.specialUse, '\\Trash');
    assert.equal(t.server.store.mail.findMailbox(t.bob.storeId, 'Trash')!.specialUse, null);
    const [[, changes]] = await t.call([
      ['Mailbox/changes', { accountId: t.bob.id, sinceState: state }, '0'],
    ]);
    assert.ok((changes.updated as string[]).includes(id('Trash')));
    assert.equal(changes.updatedProperties, null);
    const [[, bad]] = await t.call([
      [
        'Mailbox/set',
        {
          accountId: t.bob.id,
          update: {
            [id('Junk')]: { role: 'trash' },
            [id('Sent')]: { sortOrder: -1 },
            [id('INBOX')]: { role: 'archive' },
          },
        },
        '0',
      ],
    ]);
    const nu = bad.notUpdated as Record<string, { type: string; properties?: string[] }>;
    assert.deepEqual(nu[id('Junk')]!.properties, ['role']);
    assert.deepEqual(nu[id('Sent')]!.properties, ['sortOrder']);
    assert.equal(nu[id('INBOX')]!.type, 'forbidden');
  });

  test('ifInState that is not current is stateMismatch', async () => {
    const [[name, res]] = await t.call([
      ['Mailbox/set', { accountId: t.bob.id, ifInState: 'old', create: { a: { name: 'X' } } }, '0'],
    ]);
    assert.equal(name, 'error');
    assert.equal(res.type, 'stateMismatch');
  });
});

describe('Thread/get and Thread/changes', () => {
  test("a reply joins its parent's thread; Thread/changes reports it", async () => {
    const states = t.server.store.jmap.states(t.bob.storeId);
    await t.append(t.bob.storeId, 'INBOX', MESSAGE('Lunch', 'lunch@x'), [], new Date('2024-02-01T00:00:00Z'));
    await t.append(
      t.bob.storeId,
      'INBOX',
      MESSAGE('Re: Lunch', 'reply@x', 'In-Reply-To: <lunch@x>\nReferences: <lunch@x>\n'),
      [],
      new Date('2024-02-02T00:00:00Z'),
    );
    const box = byName((await mailboxes()).list, 'INBOX').id;
    const ids = t.server.store.jmap.queryMailbox(t.bob.storeId, box, 0, 2, false)!.ids;
    const emails = t.server.store.jmap.getEmails(t.bob.storeId, ids);
    assert.equal(emails[0]!.threadId, emails[1]!.threadId);
    const [[, got]] = await t.call([
      ['Thread/get', { accountId: t.bob.id, ids: [emails[0]!.threadId, 'Tzzz'] }, '0'],
    ]);
    assert.deepEqual(got.list, [{ id: emails[0]!.threadId, emailIds: [ids[1], ids[0]] }]);
    assert.deepEqual(got.notFound, ['Tzzz']);
    const [[, ch]] = await t.call([
      ['Thread/changes', { accountId: t.bob.id, sinceState: states.Thread }, '0'],
    ]);
    assert.deepEqual(ch.created, [emails[0]!.threadId]);
    const [[, all]] = await t.call([['Thread/get', { accountId: t.bob.id, ids: null }, '0']]);
    assert.equal(all.type, 'requestTooLarge');
  });
});
