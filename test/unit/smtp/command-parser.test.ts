// Table tests for parseSmtpCommand, addresses and ESMTP parameters: RFC rows first, then hostile rows.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSmtpCommand } from '../../../src/smtp/server/command-parser.js';
import { decodeXtext, encodeXtext } from '../../../src/smtp/esmtp-params.js';
import { ProtocolError } from '../../../src/errors.js';

function ok(line: string | Buffer) {
  const r = parseSmtpCommand(line);
  if (r instanceof ProtocolError)
    throw new Error(`unexpected error for ${JSON.stringify(line)}: ${r.message}`);
  return r;
}
function err(line: string | Buffer): string {
  const r = parseSmtpCommand(line);
  assert.ok(r instanceof ProtocolError, `expected an error for ${JSON.stringify(line)}`);
  return `${r.code} ${r.enhanced}`;
}

describe('RFC rows', () => {
  const rows: [string, unknown][] = [
    ['EHLO bar.com', { verb: 'EHLO', domain: 'bar.com' }],
    ['helo [192.0.2.1]', { verb: 'HELO', domain: '[192.0.2.1]' }],
    ['DATA', { verb: 'DATA' }],
    ['RSET\r\n', { verb: 'RSET' }],
    ['NOOP anything', { verb: 'NOOP' }],
    ['QUIT', { verb: 'QUIT' }],
    ['VRFY Smith', { verb: 'VRFY', argument: 'Smith' }],
    ['HELP', { verb: 'HELP', topic: '' }],
    ['STARTTLS', { verb: 'STARTTLS' }],
    ['BDAT 86 LAST', { verb: 'BDAT', size: 86, last: true }], // RFC 3030 4.2
    ['BDAT 0', { verb: 'BDAT', size: 0, last: false }],
    [
      'AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=',
      { verb: 'AUTH', mechanism: 'PLAIN', initialResponse: 'dGVzdAB0ZXN0AHRlc3Q=' },
    ], // RFC 4616 4
    ['AUTH login', { verb: 'AUTH', mechanism: 'LOGIN', initialResponse: undefined }],
    ['AUTH PLAIN =', { verb: 'AUTH', mechanism: 'PLAIN', initialResponse: '=' }],
  ];
  for (const [line, expected] of rows) test(line, () => assert.deepEqual(ok(line), expected));

  test('MAIL FROM paths (RFC 5321 4.1.2, C: source routes ignored, <> null path)', () => {
    const m = ok('MAIL FROM:<Smith@bar.com>');
    assert.ok(m.verb === 'MAIL' && m.from?.address === 'Smith@bar.com');
    const nul = ok('MAIL FROM:<>');
    assert.ok(nul.verb === 'MAIL' && nul.from === null);
    const routed = ok('RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>');
    assert.ok(routed.verb === 'RCPT' && routed.to.address === 'userc@d.bar.org');
    const quoted = ok('RCPT TO:<"john doe"@Example.COM>');
    assert.ok(quoted.verb === 'RCPT' && quoted.to.address === '"john doe"@example.com');
    const unneeded = ok('RCPT TO:<"john"@example.com>');
    assert.ok(unneeded.verb === 'RCPT' && unneeded.to.address === 'john@example.com');
    const lit = ok('RCPT TO:<a@[IPv6:2001:db8::1]>');
    assert.ok(lit.verb === 'RCPT' && lit.to.domain === '[IPv6:2001:db8::1]');
    const pm = ok('RCPT TO:<Postmaster>');
    assert.ok(pm.verb === 'RCPT' && pm.to.address === 'postmaster');
    const space = ok('MAIL FROM: <a@b.c>'); // widely sent; tolerated
    assert.ok(space.verb === 'MAIL');
  });

  test('ESMTP parameters: SIZE, BODY, SMTPUTF8, RET/ENVID, AUTH, NOTIFY/ORCPT', () => {
    const m = ok('MAIL FROM:<a@b.c> SIZE=1000 BODY=8bitmime SMTPUTF8 RET=FULL ENVID=QQ314159 AUTH=<>');
    assert.deepEqual(m.verb === 'MAIL' && m.params, {
      size: 1000,
      body: '8BITMIME',
      smtpUtf8: true,
      ret: 'FULL',
      envid: 'QQ314159',
      auth: '<>',
    });
    // RFC 3461 4.2 example ORCPT with xtext
    const r = ok('RCPT TO:<a@b.c> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;Bob+40Example.COM');
    assert.deepEqual(r.verb === 'RCPT' && r.params, {
      notify: ['SUCCESS', 'DELAY'],
      orcpt: 'rfc822;Bob@Example.COM',
    });
    const utf = ok('MAIL FROM:<jürgen@bücher.example> SMTPUTF8');
    assert.ok(utf.verb === 'MAIL' && utf.from?.utf8 === true);
    assert.equal(decodeXtext(encodeXtext('a+b=c é')), 'a+b=c é');
  });
});

describe('hostile rows', () => {
  const rows: [string | Buffer, string][] = [
    ['FROB', '500 5.5.2'],
    // RFC 5321 4.2.4: recognized but not implemented is 502, not 500.
    ['EXPN staff', '502 5.5.1'],
    ['expn staff', '502 5.5.1'],
    ['TURN', '502 5.5.1'],
    ['SEND FROM:<a@b.c>', '502 5.5.1'],
    ['SOML FROM:<a@b.c>', '502 5.5.1'],
    ['SAML FROM:<a@b.c>', '502 5.5.1'],
    ['', '500 5.5.2'],
    [Buffer.from('NOOP \0'), '500 5.5.2'],
    [Buffer.from([0x4e, 0x4f, 0x4f, 0x50, 0x20, 0xff]), '500 5.5.2'],
    ['EHLO café', '500 5.5.2'], // 8-bit outside MAIL/RCPT
    [
      Buffer.from([...Buffer.from('MAIL FROM:<a'), 0xc3, 0x28, ...Buffer.from('@b.c> SMTPUTF8')]),
      '500 5.5.2',
    ], // bad UTF-8
    ['NOOP ' + 'x'.repeat(510), '500 5.5.6'],
    ['MAIL FROM:<' + 'a'.repeat(65) + '@b.c>', '501 5.1.3'],
    [
      'RCPT TO:<a@' +
        'b'.repeat(63) +
        '.' +
        'c'.repeat(63) +
        '.' +
        'd'.repeat(63) +
        '.' +
        'e'.repeat(63) +
        '>',
      '501 5.1.3',
    ],
    ['MAIL FROM:<jürgen@b.c>', '553 5.6.7'],
    ['MAIL FROM:a@b.c', '501 5.1.3'],
    ['MAIL FROM:<a@b.c', '501 5.1.3'],
    ['MAIL TO:<a@b.c>', '501 5.5.4'],
    ['RCPT TO:<>', '501 5.1.3'],
    ['MAIL FROM:<a@b.c> FOO=bar', '555 5.5.4'],
    ['MAIL FROM:<a@b.c> SIZE=1 SIZE=2', '501 5.5.4'],
    ['MAIL FROM:<a@b.c> SIZE=abc', '501 5.5.4'],
    ['MAIL FROM:<a@b.c> BODY=9BIT', '501 5.5.4'],
    ['MAIL FROM:<a@b.c> ENVID=bad+zz', '501 5.5.4'],
    ['RCPT TO:<a@b.c> NOTIFY=NEVER,SUCCESS', '501 5.5.4'],
    ['RCPT TO:<a@b.c> ORCPT=nosemicolon', '501 5.5.4'],
    ['RCPT TO:<a@-bad-.com>', '501 5.1.3'],
    ['RCPT TO:<a..b@c.d>', '501 5.1.3'],
    ['RCPT TO:<a@[999.1.1.1]>', '501 5.1.3'],
    ['DATA now', '501 5.5.4'],
    ['EHLO', '501 5.5.4'],
    ['BDAT', '501 5.5.4'],
    ['BDAT -1', '501 5.5.4'],
    ['BDAT 10 FIRST', '501 5.5.4'],
    ['AUTH PLAIN !!!notbase64', '501 5.5.2'],
    ['AUTH', '501 5.5.4'],
  ];
  for (const [line, expected] of rows) {
    test(JSON.stringify(line.toString()).slice(0, 60), () => assert.equal(err(line), expected));
  }

  test('huge numbers do not allocate: BDAT 99999999999999999999 and SIZE=99999999999999999999', () => {
    const b = ok('BDAT 99999999999999999999 LAST');
    assert.ok(b.verb === 'BDAT' && b.size === Number.POSITIVE_INFINITY);
    const m = ok('MAIL FROM:<a@b.c> SIZE=99999999999999999999');
    assert.ok(m.verb === 'MAIL' && m.params.size === Number.POSITIVE_INFINITY);
  });

  test('AUTH lines may be up to 12288 octets (RFC 4954 4); others stop at 512', () => {
    assert.equal(ok('AUTH PLAIN ' + 'A'.repeat(1000)).verb, 'AUTH');
    assert.equal(err('AUTH PLAIN ' + 'A'.repeat(13000)), '500 5.5.6');
  });
});
