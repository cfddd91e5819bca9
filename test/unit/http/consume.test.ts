// consume(): a request body read with backpressure, and a client that hangs up before or during it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { consume } from '../../../src/http/responses.js';

/** A server whose handler hands each request to `onRequest`; returns its port and a closer. */
async function serve(
  onRequest: (req: IncomingMessage) => void,
): Promise<{ port: number; close: () => void }> {
  const server = createServer((req) => onRequest(req));
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

function send(port: number, text: string, hangUp: boolean): void {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(text);
  if (hangUp) socket.end(() => socket.destroy());
}

const within = <T>(work: Promise<T>, ms: number): Promise<T | 'timed out'> =>
  Promise.race([work, new Promise<'timed out'>((r) => setTimeout(() => r('timed out'), ms).unref())]);

test('a whole body is read: done, with every byte', async () => {
  let seen: Promise<[string, string]> | null = null;
  const { port, close } = await serve((req) => {
    let text = '';
    seen = consume(req, (chunk) => void (text += chunk.toString())).then((outcome) => [outcome, text]);
  });
  send(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', false);
  while (!seen) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(await seen, ['done', 'hello']);
  close();
});

test('a client that hung up before the body was read: aborted at once, not an end that never comes', async () => {
  let outcome: Promise<string> | null = null;
  const { port, close } = await serve((req) => {
    // The handler is busy (a password check) until node:http has destroyed the request.
    req.socket.once('close', () =>
      setImmediate(
        () =>
          (outcome = within(
            consume(req, () => undefined),
            2_000,
          )),
      ),
    );
  });
  send(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', true);
  while (!outcome) await new Promise((r) => setTimeout(r, 5));
  assert.equal(await outcome, 'aborted');
  close();
});

test('a client that hangs up in the middle of the body: aborted, not an error', async () => {
  let outcome: Promise<string> | null = null;
  const { port, close } = await serve((req) => {
    outcome = within(
      consume(req, () => undefined),
      2_000,
    );
  });
  send(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nhello', true);
  while (!outcome) await new Promise((r) => setTimeout(r, 5));
  assert.equal(await outcome, 'aborted');
  close();
});

test('a chunk the caller refuses stops reading; an error thrown by the caller rejects', async () => {
  const outcomes: Promise<string>[] = [];
  const { port, close } = await serve((req) => {
    outcomes.push(
      outcomes.length === 0
        ? consume(req, () => false)
        : consume(req, () => {
            throw new Error('disk full');
          }).catch((error: Error) => error.message),
    );
  });
  send(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', false);
  while (outcomes.length < 1) await new Promise((r) => setTimeout(r, 5));
  send(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', false);
  while (outcomes.length < 2) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(await Promise.all(outcomes), ['stopped', 'disk full']);
  close();
});
