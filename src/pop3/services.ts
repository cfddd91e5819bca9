// Pop3Services over the Store: authentication (throttled), opening and locking the INBOX, removal in UPDATE state.
import type { Authenticate } from '../auth/authenticator.js';
import type { Store } from '../store/store.js';
import type { MaildropLocks } from './maildrop-lock.js';
import type { OpenMaildropResult, Pop3Services } from './session.js';

export function createPop3Services(deps: {
  store: Pick<Store, 'getAccount' | 'getMailbox' | 'listMessages' | 'mail'>;
  authenticate: Authenticate;
  locks: MaildropLocks;
}): Pop3Services {
  const { store, locks } = deps;
  return {
    authenticate: deps.authenticate,
    openMaildrop(address): OpenMaildropResult {
      const account = store.getAccount(address);
      if (!account) return { kind: 'error', error: new Error(`account vanished: ${address}`) };
      const release = locks.tryAcquire(account.id);
      if (!release) return { kind: 'in-use' };
      try {
        const inbox = store.getMailbox(account.id, 'INBOX');
        if (!inbox) throw new Error(`no INBOX for ${address}`);
        // The snapshot fixes message numbers for the session (RFC 1939 5); later deliveries wait for the next login.
        const messages = store
          .listMessages(inbox.id)
          .map((m) => ({ uid: m.uid, messageId: m.messageId, size: m.size }));
        return {
          kind: 'ok',
          maildrop: {
            accountId: account.id,
            mailboxId: inbox.id,
            uidValidity: inbox.uidValidity,
            messages,
            release,
          },
        };
      } catch (error) {
        release();
        return { kind: 'error', error };
      }
    },
    async removeMessages(mailboxId, uids) {
      await store.mail.expunge(mailboxId, uids);
    },
  };
}
