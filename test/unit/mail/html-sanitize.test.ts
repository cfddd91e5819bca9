// The message HTML sanitiser against the hostile corpus (test/fixtures/hostile-html): nothing runs, nothing is fetched until allowed.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cleanCss, sanitizeMessageHtml, type SanitizeOptions } from '../../../src/mail/html-sanitize.js';

const CORPUS = join(import.meta.dirname, '../../fixtures/hostile-html');
const TRACKER = 'http://tracker.invalid:8099';
const PNG = 'data:image/png;base64,iVBORw0KGgo=';

function load(name: string): string {
  return readFileSync(join(CORPUS, name), 'utf8').replaceAll('{{TRACKER}}', TRACKER);
}

const blocked: SanitizeOptions = {
  allowRemote: false,
  resolveCid: (cid) => (cid === 'logo@example.org' ? PNG : null),
};

/** What must never appear in sanitised output, whatever the input. */
const FORBIDDEN: [string, RegExp][] = [
  ['script element', /<script/i],
  ['event handler attribute', /<[^>]+\son[a-z]+\s*=/i],
  ['javascript: URL', /javascript\s*:/i],
  ['vbscript: URL', /vbscript\s*:/i],
  ['a data: URL the server did not make', /data:(?!image\/png;base64,iVBORw0KGgo=)/i],
  [
    'active, framing, form or fetching element',
    /<(?:base|meta|form|input|button|iframe|object|embed|svg|math|link|video|audio|source|textarea|select|image|foreignobject|noscript|template)\b/i,
  ],
  ['CSS expression()', /expression\s*\(/i],
  ['CSS @import', /@import/i],
  ['CSS behavior/-moz-binding', /behavior\s*:|-moz-binding/i],
  ['image-set()', /image-set\s*\(/i],
  ['srcset (a second image URL)', /srcset/i],
  ['background attribute (a remote image)', /\sbackground\s*=/i],
];

describe('sanitizeMessageHtml: the hostile corpus', () => {
  const files = readdirSync(CORPUS).filter((f) => f.endsWith('.html'));
  test('the corpus is there', () => assert.ok(files.length >= 8, files.join()));
  for (const file of files) {
    test(`${file}: nothing that runs or fetches survives`, () => {
      const { html } = sanitizeMessageHtml(load(file), blocked);
      for (const [what, pattern] of FORBIDDEN)
        assert.doesNotMatch(html, pattern, `${file}: ${what}\n${html}`);
      assert.ok(!html.includes('tracker.invalid'), `${file}: a tracker URL survived\n${html}`);
    });
  }
});

describe('sanitizeMessageHtml: what stays and how', () => {
  test('links open in a new tab without opener or referrer; the harmless text stays', () => {
    const { html } = sanitizeMessageHtml(load('javascript-links.html'), blocked);
    assert.match(
      html,
      /<a href="https:\/\/example\.org\/ok" target="_blank" rel="noopener noreferrer">a real link<\/a>/,
    );
    // The dangerous links lose their href but keep their text.
    assert.match(html, /<a target="_blank" rel="noopener noreferrer">js<\/a>/);
  });

  test('remote images are removed and counted; cid: images become the part as data:', () => {
    const { html, blockedRemote } = sanitizeMessageHtml(load('tracking.html'), blocked);
    assert.equal(blockedRemote, 2);
    assert.match(html, /<img width="1" height="1" alt="" \/>/);
    assert.match(html, new RegExp(`<img alt="inline logo" src="${PNG.replace(/[+/.]/g, '\\$&')}" />`));
  });

  test('with remote content allowed, remote images load (and only http/https)', () => {
    const { html, blockedRemote } = sanitizeMessageHtml(load('tracking.html'), {
      ...blocked,
      allowRemote: true,
    });
    assert.equal(blockedRemote, 0);
    assert.match(html, /<img [^>]*src="http:\/\/tracker\.invalid:8099\/pixel\.gif"/);
  });

  test('CSS: url() in <style> and style attributes blocked and counted, escapes cannot hide one', () => {
    const { html, blockedRemote } = sanitizeMessageHtml(load('css.html'), blocked);
    // 2 @import, bg.png, escaped.png, font.woff, inline.png (image-set's URL is defused, not counted).
    assert.equal(blockedRemote, 6);
    assert.match(html, /<style>/);
    assert.match(html, /color: ?red/);
  });

  test('a unclosed comment or "</style" inside CSS cannot end the style element', () => {
    const counter = { blocked: 0 };
    assert.doesNotMatch(cleanCss('p{color:red}</style><script>x</script>', blocked, counter), /</);
    assert.equal(cleanCss('p{color:red} /* never closed', blocked, counter).trim(), 'p{color:red}');
  });

  test('protocol-relative URLs count as remote', () => {
    const { html, blockedRemote } = sanitizeMessageHtml('<img src="//tracker.invalid/p.gif">', blocked);
    assert.equal(blockedRemote, 1);
    assert.doesNotMatch(html, /tracker/);
  });
});
