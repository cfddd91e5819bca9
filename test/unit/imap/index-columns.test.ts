// IndexColumns and FlagTable: the typed-column mailbox index behaves as the arrays it replaced, and its flag table stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagTable, IndexColumns } from '../../../src/imap/index-columns.js';
import { SelectedView } from '../../../src/imap/selected-view.js';

/** The rows as plain tuples, to compare with a model kept in JS arrays. */
type Row = [uid: number, flags: string[], modseq: number, messageId: number];
const rowsOf = (c: IndexColumns): Row[] =>
  Array.from(c.uids, (uid, i) => [uid, [...c.flagsAt(i)], c.modseqs[i] as number, c.messageIds[i] as number]);

test('FlagTable: equal lists get one id and one shared array; order matters, as in the lists it replaced', () => {
  const t = new FlagTable();
  const seen = ['\\Seen'];
  const a = t.id(seen);
  assert.equal(t.id(['\\Seen']), a);
  assert.equal(t.list(a), seen, 'the first list is the one kept');
  assert.notEqual(t.id([]), a);
  assert.notEqual(t.id(['\\Seen', '$x']), t.id(['$x', '\\Seen']));
  assert.notEqual(t.id(['a', 'b']), t.id(['ab']));
  assert.equal(t.size, 6);
});

test('IndexColumns: push past capacity, setRow, removeAt, retain and clone keep the same rows as JS arrays would', () => {
  let seed = 11;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const flagSets = [[], ['\\Seen'], ['\\Seen', '$x'], ['\\Flagged']];
  const model: Row[] = [];
  let cols = new IndexColumns(0);
  let uid = 0;
  let modseq = 0;
  for (let step = 0; step < 2_000; step++) {
    const op = rand(10);
    if (op < 5 || model.length === 0) {
      uid += 1 + rand(3);
      const f = flagSets[rand(4)] as string[];
      cols.push(uid, f, ++modseq, 2 ** 40 + uid);
      model.push([uid, f, modseq, 2 ** 40 + uid]);
    } else if (op < 7) {
      const i = rand(model.length);
      const f = flagSets[rand(4)] as string[];
      cols.setRow(i, f, ++modseq);
      const [u, , , id] = model[i] as Row;
      model[i] = [u, f, modseq, id];
    } else if (op < 8) {
      const i = rand(model.length);
      cols.removeAt(i);
      model.splice(i, 1);
    } else if (op < 9) {
      const m = rand(7) + 2;
      cols.retain((u) => u % m !== 0);
      for (let i = model.length - 1; i >= 0; i--) if ((model[i] as Row)[0] % m === 0) model.splice(i, 1);
    } else {
      // A copy is independent of the original (the cache and a view each change their own).
      // cloneFlags shares the UID and message id columns until a row is added or removed.
      const before = rowsOf(cols);
      const copy = rand(2) === 0 ? cols.clone(rand(3)) : cols.cloneFlags();
      if (copy.length > 0) copy.setRow(0, ['$changed'], 1);
      if (rand(2) === 0) copy.push(uid + 1, [], 1, 1);
      if (copy.length > 1 && rand(2) === 0) copy.removeAt(0);
      if (rand(2) === 0) copy.retain((u) => u % 2 === 0);
      assert.deepEqual(rowsOf(cols), before);
      cols = rand(2) === 0 ? cols.clone(rand(2)) : cols.cloneFlags();
    }
    if (step % 97 === 0) assert.deepEqual(rowsOf(cols), model, `step ${step}`);
    assert.equal(cols.length, model.length);
  }
  assert.deepEqual(rowsOf(cols), model);
  for (const [i, [u]] of model.entries()) assert.equal(cols.indexOf(u), i);
  assert.equal(cols.indexOf(uid + 1), -1);
  assert.equal(cols.indexOf(0), -1);
});

test('a long session storing ever new keyword combinations keeps its flag table bounded (2 x messages + 256)', () => {
  const rows = new IndexColumns(0);
  for (let u = 1; u <= 10; u++) rows.push(u, [], u, u);
  const view = new SelectedView(1, 'INBOX', 1, false, { rows, modseq: 10 });
  for (let i = 0; i < 5_000; i++) view.setRow(1 + (i % 10), [`$k${i}`], 11 + i);
  const table = (view as unknown as { rows: IndexColumns }).rows.flags;
  assert.ok(table.size <= 2 * 10 + 256 + 1, `${table.size} lists kept`);
  for (let s = 1; s <= 10; s++) assert.deepEqual(view.flagsAt(s), [`$k${4990 + s - 1}`]);
  // The cache's rows (shared at SELECT) were not changed by the view.
  assert.deepEqual(rows.flagsAt(0), []);
  assert.equal(rows.modseqs[0], 1);
});

test('cloneFlags: the copy changes flags alone, and copies the shared columns before it adds or removes a row', () => {
  const base = new IndexColumns(0);
  for (let u = 1; u <= 5; u++) base.push(u, [], u, 100 + u); // leaves spare room after row 5
  const before = rowsOf(base);
  const a = base.cloneFlags();
  const b = base.cloneFlags();
  assert.equal(a.uids, base.uids, 'UIDs shared while only flags change');
  a.setRow(0, ['\\Seen'], 9);
  a.removeAt(1);
  a.retain((u) => u !== 3);
  b.push(6, ['$b'], 10, 106);
  a.push(7, ['$a'], 11, 107);
  assert.deepEqual(rowsOf(base), before);
  assert.deepEqual(rowsOf(a), [
    [1, ['\\Seen'], 9, 101],
    [4, [], 4, 104],
    [5, [], 5, 105],
    [7, ['$a'], 11, 107],
  ]);
  assert.deepEqual(rowsOf(b), [...before, [6, ['$b'], 10, 106]]);
});
