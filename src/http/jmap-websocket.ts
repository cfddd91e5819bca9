// JMAP over WebSocket (RFC 8887) on one upgraded connection: frames in, the engine, Response/RequestError/StateChange out.
import type { Duplex } from 'node:stream';
import { WEBSOCKET_LIMITS } from '../config/limits.js';
import { processRequest, type JmapUser, type MethodRegistry } from '../jmap/core/engine.js';
import { JmapRequestError, REQUEST_ERROR_STATUS } from '../jmap/core/errors.js';
import { filterStates, type StateMap, type StateSource } from '../jmap/core/push.js';
import { sessionStateOf, type CapabilitySpec, type CoreLimits } from '../jmap/core/session.js';
import {
  changedSince,
  decodePushState,
  encodePushState,
  parseClientMessage,
  requestErrorMessage,
  responseMessage,
  stateChangeMessage,
} from '../jmap/core/websocket.js';
import type { Ticker } from '../net/ticker.js';
import type { Logger } from '../observability/logger.js';
import type { InFlight } from './responses.js';
import { CLOSE_CODE, encodeClose, encodeFrame, FrameReader, OPCODE } from './websocket/frames.js';

export interface JmapWebSocketDeps {
  methods: MethodRegistry;
  limits: CoreLimits;
  capabilities: readonly CapabilitySpec[];
  states: StateSource;
  logger: Logger;
  /** The API's per-account request counter: WebSocket requests count against maxConcurrentRequests too. */
  api: InFlight;
  /** Every connection's finisher and its user: shutdown and the account check end them through it. */
  streams: Map<() => void, string>;
  /** The shared liveness timer (WEBSOCKET_LIMITS.pingIntervalMs). */
  ticker: Ticker;
  /** Runs a request's work counted as running (shutdown waits for it); default: just runs it. */
  during?: <T>(work: () => Promise<T>) => Promise<T>;
  limitsWs?: { maxQueuedMessages: number; maxBufferedBytes: number };
}

/**
 * Serves one connection after the 101 (handshake.ts): each text message is a Request (answered in the
 * order received), a WebSocketPushEnable or a WebSocketPushDisable (RFC 8887 4.3). Protocol errors
 * close with their code (RFC 6455 7.4.1); a Close is answered with a Close. Pushes are StateChange
 * objects with a pushState, for the types asked for, from the same state source as EventSource.
 */
export function serveJmapWebSocket(
  socket: Duplex,
  head: Buffer,
  user: JmapUser,
  deps: JmapWebSocketDeps,
): void {
  const wsLimits = deps.limitsWs ?? WEBSOCKET_LIMITS;
  const reader = new FrameReader({ maxMessageBytes: deps.limits.maxSizeRequest, requireMask: true });
  const capabilityNames = new Set(deps.capabilities.map((c) => c.urn));
  const byStoreId = new Map([...user.accounts.values()].map((a) => [a.storeId, a.id]));
  const storeKey = [...user.accounts.values()][0]!.storeId;
  const during = deps.during ?? ((work) => work());
  const queue: string[] = [];
  let busy = false;
  let closing = false;
  let heard = true;
  let pinged = false;
  // Push, while enabled: the wanted types, the states last told (for pushState), the subscription.
  let push: { types: ReadonlySet<string> | null; known: StateMap; stop: () => void } | null = null;

  const send = (frame: Buffer): void => {
    if (closing || socket.destroyed) return;
    socket.write(frame);
    if (socket.writableLength > wsLimits.maxBufferedBytes) {
      // It does not read what it is sent: drop it rather than buffer without bound (a Close frame
      // would only queue behind the rest).
      closing = true;
      deps.logger.info(
        { event: 'websocket_dropped', reason: 'not reading', account: user.username },
        'websocket',
      );
      socket.destroy();
    }
  };
  const sendText = (text: string): void => send(encodeFrame(OPCODE.text, text));

  const close = (code: number, reason: string): void => {
    if (closing || socket.destroyed) return;
    closing = true;
    socket.write(encodeClose(code, reason));
    socket.end();
  };

  const currentStates = (): StateMap => {
    const states: StateMap = {};
    for (const account of user.accounts.values()) states[account.id] = deps.states.current(account.storeId);
    return states;
  };

  const stopPush = (): void => {
    push?.stop();
    push = null;
  };

  const startPush = (types: ReadonlySet<string> | null, pushState: string | null): void => {
    stopPush();
    const releases = [...byStoreId.keys()].map((storeId) => deps.states.watch(storeId));
    const current = currentStates();
    const state = { types, known: current, stop: () => undefined };
    const unsubscribe = deps.states.subscribe((storeId, changed) => {
      const accountId = byStoreId.get(storeId);
      if (accountId === undefined) return;
      state.known = { ...state.known, [accountId]: { ...state.known[accountId], ...changed } };
      const wanted = filterStates({ [accountId]: changed }, state.types);
      if (wanted) sendText(stateChangeMessage(wanted, encodePushState(state.known)));
    });
    state.stop = () => {
      unsubscribe();
      for (const release of releases) release();
    };
    push = state;
    // RFC 8887 4.3.5.2: with a pushState, everything that changed since it is sent at once.
    if (pushState !== null) {
      const missed = filterStates(changedSince(decodePushState(pushState), current), types);
      if (missed) sendText(stateChangeMessage(missed, encodePushState(current)));
    }
  };

  const handleText = async (text: string): Promise<void> => {
    const message = parseClientMessage(text, {
      capabilities: capabilityNames,
      maxCallsInRequest: deps.limits.maxCallsInRequest,
    });
    switch (message.kind) {
      case 'error':
        return sendText(requestErrorMessage(message.error, message.requestId));
      case 'pushEnable':
        return startPush(message.dataTypes, message.pushState);
      case 'pushDisable':
        return stopPush();
      case 'request': {
        if (!deps.api.enter(storeKey)) {
          const error = new JmapRequestError(
            'limit',
            REQUEST_ERROR_STATUS.limitConcurrent,
            'too many requests at once',
            'maxConcurrentRequests',
          );
          return sendText(requestErrorMessage(error, message.requestId));
        }
        try {
          const response = await during(() =>
            processRequest(message.request, {
              user,
              methods: deps.methods,
              limits: deps.limits,
              sessionState: sessionStateOf(user, deps.capabilities),
              onServerFail: (err, method) =>
                deps.logger.error(
                  { err, method, account: user.username, via: 'websocket' },
                  'jmap method failed',
                ),
            }),
          );
          sendText(responseMessage(response, message.requestId));
        } finally {
          deps.api.leave(storeKey);
        }
      }
    }
  };

  /** Works through the queued messages one at a time (RFC 8620 3.3 order within a connection). */
  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      while (queue.length > 0 && !closing) {
        const text = queue.shift()!;
        if (queue.length < wsLimits.maxQueuedMessages) socket.resume();
        await handleText(text);
      }
    } catch (error) {
      deps.logger.error({ err: error, account: user.username }, 'websocket message failed');
      close(CLOSE_CODE.internalError, 'internal error');
    } finally {
      busy = false;
    }
  };

  const onData = (chunk: Buffer): void => {
    heard = true;
    pinged = false;
    for (const event of reader.push(chunk)) {
      switch (event.kind) {
        case 'text':
          queue.push(event.data);
          if (queue.length >= wsLimits.maxQueuedMessages) socket.pause();
          void pump();
          break;
        case 'binary':
          // RFC 8887 4.2: JMAP messages are text frames.
          close(CLOSE_CODE.unsupportedData, 'JMAP messages are text');
          break;
        case 'ping':
          send(encodeFrame(OPCODE.pong, event.data));
          break;
        case 'pong':
          break;
        case 'close':
          // RFC 6455 5.5.1: answer with a Close (echoing the code), then the server closes TCP first.
          close(event.code ?? CLOSE_CODE.normal, '');
          break;
        case 'error':
          deps.logger.info({ event: 'websocket_error', code: event.code, reason: event.reason }, 'websocket');
          close(event.code, event.reason);
          break;
      }
    }
  };

  const untick = deps.ticker.add(() => {
    if (heard) {
      heard = false;
      return;
    }
    if (pinged) {
      // Silent for a whole tick after our ping: the peer is gone.
      socket.destroy();
      return;
    }
    pinged = true;
    send(encodeFrame(OPCODE.ping, Buffer.alloc(0)));
  });

  const finish = (): void => {
    if (!closing && !socket.destroyed) close(CLOSE_CODE.goingAway, 'server shutting down');
  };
  const cleanup = (): void => {
    untick();
    stopPush();
    deps.streams.delete(finish);
  };
  deps.streams.set(finish, user.username);
  socket.on('data', onData);
  socket.once('close', cleanup);
  socket.on('error', () => socket.destroy());
  socket.on('end', () => {
    if (!closing) {
      closing = true;
      socket.end();
    }
  });
  if (head.length > 0) onData(head);
}
