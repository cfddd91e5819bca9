// Reads what a Mailroom instance stored, through the Store interface (as the CLI would), for e2e assertions.
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { QueueEntry } from '../../src/store/store.js';

/** Every message in the account's INBOX, whole, as stored, in UID order. */
export async function inboxOf(instance: { dataDir: string }, address: string): Promise<string[]> {
  const store = openSqliteStore({ dataDir: instance.dataDir });
  try {
    const account = store.getAccount(address);
    if (!account) throw new Error(`no account ${address}`);
    const inbox = store.getMailbox(account.id, 'INBOX');
    if (!inbox) throw new Error(`no INBOX for ${address}`);
    const messages = store.listMessages(inbox.id);
    const bodies: string[] = [];
    for (const message of messages)
      bodies.push((await store.readMessage(message.messageId)).toString('utf8'));
    return bodies;
  } finally {
    await store.close();
  }
}

export async function queueOf(instance: { dataDir: string }): Promise<QueueEntry[]> {
  const store = openSqliteStore({ dataDir: instance.dataDir });
  try {
    return store.listQueue();
  } finally {
    await store.close();
  }
}
