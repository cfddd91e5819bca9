// `mailroom send --from ADDR --to ADDR[,ADDR] [--subject S] [--server HOST:PORT] [--user U --password PW]`: a small user agent.
import { randomBytes } from 'node:crypto';
import { parseListenAddress } from '../../config/schema.js';
import { MailroomError } from '../../errors.js';
import { composeMessage, parseAddressArg, parseRecipientList } from '../submit/compose.js';
import { submitMessage } from '../submit/connection.js';
import { noMoreArgs, UsageError, type Command, type CommandContext } from '../main.js';

const USAGE =
  'mailroom send --from ADDR --to ADDR[,ADDR] [--subject S] [--server HOST:PORT] [--user U --password PW]';

/** Where to submit: --server, else the config's first submission listener (a wildcard bind means loopback). */
function serverOf(ctx: CommandContext): { host: string; port: number; implicitTls: boolean } {
  const given = ctx.values.server;
  if (typeof given === 'string') {
    const parsed = parseListenAddress(given);
    if (typeof parsed === 'string' || parsed.port === 0) {
      throw new UsageError(`--server: "${given}" is not HOST:PORT`);
    }
    // RFC 8314 3.3: 465 is submission over implicit TLS; anything else starts in plaintext (STARTTLS).
    return { host: parsed.host, port: parsed.port, implicitTls: parsed.port === 465 };
  }
  const config = ctx.config();
  const plain = config.listeners.submission[0];
  const implicit = config.listeners.submissions[0];
  const chosen = plain ?? implicit;
  if (!chosen || chosen.port === 0) {
    throw new MailroomError('NO_SERVER', 'no submission listener in the config: give --server HOST:PORT');
  }
  const host = chosen.host === '0.0.0.0' ? '127.0.0.1' : chosen.host === '::' ? '::1' : chosen.host;
  return { host, port: chosen.port, implicitTls: plain === undefined };
}

export const sendCommand: Command = {
  name: 'send',
  summary:
    '--from ADDR --to ADDR[,ADDR] [--subject S] [--server HOST:PORT] [--user U --password PW]: submit stdin as a message',
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    subject: { type: 'string' },
    server: { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
  },
  async run(ctx) {
    noMoreArgs(ctx, 0, USAGE);
    const { from, to, subject, user, password } = ctx.values;
    if (typeof from !== 'string') throw new UsageError(`missing --from (usage: ${USAGE})`);
    if (typeof to !== 'string') throw new UsageError(`missing --to (usage: ${USAGE})`);
    if ((typeof user === 'string') !== (typeof password === 'string')) {
      throw new UsageError('give --user and --password together');
    }
    const sender = parseAddressArg(from, '--from');
    const recipients = parseRecipientList(to);
    const server = serverOf(ctx);
    const body = await ctx.io.readStdin();
    const date = new Date();
    const idPart = `${date.getTime().toString(36)}.${randomBytes(9).toString('hex')}`;
    const input = {
      from: sender.address,
      to: recipients.map((r) => r.address),
      ...(typeof subject === 'string' ? { subject } : {}),
      body,
      date,
      idPart,
    };
    const message = composeMessage(input);
    const outcome = await submitMessage({
      host: server.host,
      port: server.port,
      implicitTls: server.implicitTls,
      ehloName: ctx.config().hostname,
      ...(typeof user === 'string' && typeof password === 'string'
        ? { auth: { username: user, password } }
        : {}),
      message: {
        id: message.messageId,
        sender: sender.address,
        recipients: recipients.map((r) => ({ address: r.address })),
        size: message.data.length,
        eightBit: message.eightBit,
        smtpUtf8: message.smtpUtf8,
      },
      data: message.data,
      sevenBit: () => composeMessage({ ...input, sevenBit: true }).data,
    });
    const refused = outcome.results.filter((r) => r.outcome !== 'delivered');
    if (outcome.queueId !== null && outcome.results.some((r) => r.outcome === 'delivered')) {
      ctx.print(outcome.queueId);
    }
    if (refused.length > 0 || outcome.queueId === null) {
      // One line (main() prints the first line only): each refused recipient with the server's reply.
      const allSame =
        refused.length === outcome.results.length && new Set(refused.map((r) => r.diagnostic)).size === 1;
      const detail =
        refused.length === 0
          ? 'the server accepted the message but named no queue id'
          : allSame
            ? (refused[0]?.diagnostic ?? '')
            : refused.map((r) => `<${r.address}>: ${r.diagnostic}`).join('; ');
      throw new MailroomError('SEND_FAILED', detail);
    }
  },
};
