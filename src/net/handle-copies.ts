// More accepts per event-loop turn: extra descriptors for one listening socket, each its own libuv handle.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:net';

/*
 * Since libuv 1.45 (Node 20 ships 1.46) a listening handle accepts one connection per turn of the event
 * loop. Under a burst the kernel's accept queue then drains one connection per turn, and a good client
 * waits behind every attacker that connected before it. Node 22.12 can open several sockets on one port
 * (reusePort); Node 20 cannot, and has no dup(2). It can pass a descriptor to a child process and back
 * over IPC (SCM_RIGHTS), which yields a new descriptor for the same socket each time: a second handle on
 * it, registered with epoll on its own, accepts one more connection in the same turn.
 *
 * The child only echoes: it gets the raw handle (Node's 'net.Native', not a Server, so it never accepts),
 * sends it back N times and waits for the next one. One child serves every listener of a start or reload
 * and exits once idle, or when this process goes (its IPC channel closes).
 */
const CHILD_SOURCE = `
process.on('message', (m, handle) => {
  let left = m.copies;
  const done = () => {
    // Its own copy goes at once: a socket still open here would keep accepting into the kernel's
    // queue after the server closed its listener.
    handle.close();
    process.send({ done: true });
  };
  if (left <= 0) return done();
  for (let i = 0; i < m.copies; i++) process.send({ copy: i }, handle, () => { if (--left === 0) done(); });
});
process.on('disconnect', () => process.exit(0));
`;
/** The child exits this long after its last request. */
const IDLE_MS = 1_000;

interface Request {
  handle: unknown;
  copies: number;
  resolve(handles: unknown[]): void;
}

let child: ChildProcess | null = null;
let idleTimer: NodeJS.Timeout | null = null;
const queue: Request[] = [];
let busy = false;

function startChild(): ChildProcess {
  const c = spawn(process.execPath, ['-e', CHILD_SOURCE], {
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    // The child needs nothing of ours (no --import tsx, no inspector): a bare Node.
    env: {},
  });
  // Neither the child nor its channel keeps a server that is closing alive.
  c.unref();
  c.channel?.unref();
  // Gone (or never started): the next request starts another.
  const forget = (): void => {
    if (child === c) child = null;
  };
  c.on('error', forget);
  c.on('exit', forget);
  return c;
}

function next(): void {
  if (busy) return;
  const request = queue.shift();
  if (!request) {
    idleTimer = setTimeout(() => {
      idleTimer = null;
      child?.kill();
      child = null;
    }, IDLE_MS);
    idleTimer.unref();
    return;
  }
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = null;
  busy = true;
  const c = (child ??= startChild());
  const got: unknown[] = [];
  let finished = false;
  // The child's done, or its end: a spawn that failed emits 'error' and maybe never 'exit'. The request
  // gets what came (or nothing): the listener works with what it has.
  const finish = (): void => {
    if (finished) return;
    finished = true;
    c.off('message', onMessage);
    c.off('exit', finish);
    c.off('error', finish);
    busy = false;
    request.resolve(got);
    next();
  };
  const onMessage = (message: { done?: boolean }, handle: unknown): void => {
    if (message.done) finish();
    else if (handle) got.push(handle);
  };
  c.on('message', onMessage);
  c.once('exit', finish);
  c.once('error', finish);
  try {
    c.send({ copies: request.copies }, request.handle as never);
  } catch {
    finish();
  }
}

/**
 * `copies` raw handles for `server`'s listening socket (Node's internal TCP wrap); listen on each with
 * `otherServer.listen(handle)`. Resolves [] when the child cannot help (it failed to start, or the server
 * has no handle); the listener then works as before, one accept per turn.
 */
export function listenHandleCopies(server: Server, copies: number): Promise<unknown[]> {
  // Why the cast: Node documents no accessor for a server's handle; child.send takes the raw handle.
  const handle = (server as unknown as { _handle?: unknown })._handle;
  if (copies <= 0 || !handle) return Promise.resolve([]);
  return new Promise((resolve) => {
    queue.push({ handle, copies, resolve });
    next();
  });
}
