// Non-WebSocket upgrades: which requests are WebSocket ones, and the plain request head rebuilt without the upgrade.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainRequestHead, wantsWebSocket } from '../../../src/http/upgrade.js';

test('wantsWebSocket: the websocket token, any case, among others', () => {
  assert.equal(wantsWebSocket('websocket'), true);
  assert.equal(wantsWebSocket('h2c, WebSocket'), true);
  assert.equal(wantsWebSocket('h2c'), false);
  assert.equal(wantsWebSocket(undefined), false);
  assert.equal(wantsWebSocket('websocketx'), false);
});

test('plainRequestHead drops Upgrade, HTTP2-Settings and their Connection tokens, keeps the rest as sent', () => {
  assert.equal(
    plainRequestHead('POST', '/jmap/api', '1.1', [
      'Host',
      'x',
      'Connection',
      'Upgrade, HTTP2-Settings, keep-alive',
      'Upgrade',
      'h2c',
      'HTTP2-Settings',
      'AAA',
      'Content-Length',
      '2',
    ]),
    'POST /jmap/api HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n',
  );
  assert.equal(
    plainRequestHead('GET', '/', '1.1', ['Connection', 'upgrade', 'Upgrade', 'h2c']),
    'GET / HTTP/1.1\r\n\r\n',
  );
});
