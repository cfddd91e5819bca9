// Pure SASL LOGIN (draft-murchison-sasl-login): the two prompts and the decoding of each base64 answer.
import { decodeSaslBase64, type SaslDecodeFailure } from './plain.js';

/** The server's challenges, base64 of "Username:" and "Password:" as every LOGIN client expects. */
export const LOGIN_USERNAME_PROMPT = Buffer.from('Username:').toString('base64');
export const LOGIN_PASSWORD_PROMPT = Buffer.from('Password:').toString('base64');

export type LoginFieldResult = { ok: true; value: string } | { ok: false; reason: SaslDecodeFailure };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes one LOGIN answer (user name or password): valid base64, UTF-8, not empty, no NUL. */
export function decodeSaslLoginField(base64: string): LoginFieldResult {
  const bytes = decodeSaslBase64(base64);
  if (bytes === null) return { ok: false, reason: 'bad-base64' };
  let value: string;
  try {
    value = utf8.decode(bytes);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (value === '' || value.includes('\0')) return { ok: false, reason: 'malformed' };
  return { ok: true, value };
}
