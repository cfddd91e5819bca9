// SessionEnd (pure): a session ends once, when its socket has closed and no command of it still runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEnd } from '../../../src/net/session-end.js';

test('an idle session ends when its socket closes, once', () => {
  let ended = 0;
  const end = new SessionEnd(() => ended++);
  end.socketClosed(false);
  assert.equal(ended, 1);
  assert.equal(end.finishing, false);
  end.socketClosed(false);
  end.commandDone();
  assert.equal(ended, 1);
});

test('a session whose socket closes mid-command ends when the command is done, and is finishing until then', () => {
  let ended = 0;
  const end = new SessionEnd(() => ended++);
  end.commandDone(); // a command finishing while the socket is open ends nothing
  assert.equal(ended, 0);
  end.socketClosed(true);
  assert.equal(ended, 0);
  assert.equal(end.finishing, true);
  end.commandDone();
  assert.equal(ended, 1);
  assert.equal(end.finishing, false);
  end.commandDone();
  assert.equal(ended, 1);
});
