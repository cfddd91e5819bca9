// One ACME order with acme-client (RFC 8555 7.4): account, authorizations answered through AcmeChallenges, finalize, download.
import { Agent } from 'node:https';
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import type * as AcmeClient from 'acme-client';
import { ACME_POLL_MAX_MS, ACME_POLL_MIN_MS, ACME_REQUEST_TIMEOUT_MS } from '../config/limits.js';
import type { AcmeSettings } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { AcmeChallenges } from './challenges.js';
import { accountKeyOf, type AcmePaths } from './storage.js';

export interface OrderRequest {
  settings: AcmeSettings;
  paths: AcmePaths;
  challenges: AcmeChallenges;
  logger: Logger;
}

/** The issued chain (PEM, leaf first) and its new private key. */
export interface Issued {
  cert: string;
  key: string;
}

let configuredCa: string | null | undefined;

/**
 * acme-client sends every request through its one axios instance: give it a timeout (a CA that never
 * answers must end in acme-failed and a retry, not a hung order) and, with ca_file, an agent trusting
 * that CA besides the system's roots. Set once per process ([acme] changes need a restart).
 */
async function configureHttp(acme: typeof AcmeClient, settings: AcmeSettings): Promise<void> {
  acme.axios.defaults.timeout = ACME_REQUEST_TIMEOUT_MS;
  if (configuredCa === settings.caFile) return;
  if (settings.caFile) {
    const extra = await readFile(settings.caFile, 'utf8');
    acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, extra], keepAlive: true });
  } else {
    acme.axios.defaults.httpsAgent = undefined;
  }
  configuredCa = settings.caFile;
}

/** Orders a certificate for settings.domains; throws (with the CA's problem text, RFC 7807) on failure. */
export async function orderCertificate(request: OrderRequest): Promise<Issued> {
  const { settings, paths, challenges, logger } = request;
  // Loaded at the first order: acme-client and its HTTP stack cost ~25 MiB a server without [acme] never pays.
  const acme = await import('acme-client');
  await configureHttp(acme, settings);
  acme.setLogger((message) => logger.debug({ component: 'acme' }, message));
  // ECDSA P-256 for the account (small JWS signatures); the account is found again by its key (RFC 8555 7.3.1).
  const accountKey = await accountKeyOf(paths, async () =>
    (await acme.crypto.createPrivateEcdsaKey()).toString('utf8'),
  );
  const client = new acme.Client({
    directoryUrl: settings.directory,
    accountKey,
    backoffMin: ACME_POLL_MIN_MS,
    backoffMax: ACME_POLL_MAX_MS,
  });
  // RSA 2048 for the certificate: every SMTP, IMAP and POP3 peer can use it (as the self-signed one).
  // A new key each time: a renewal also rotates the key.
  const [key, csr] = await acme.crypto.createCsr(
    { commonName: settings.domains[0]!, altNames: settings.domains },
    await acme.crypto.createPrivateRsaKey(2048),
  );
  const cert = await client.auto({
    csr,
    ...(settings.email ? { email: settings.email } : {}),
    // Setting [acme] is the admin's agreement to the CA's terms (README says so).
    termsOfServiceAgreed: true,
    challengePriority: settings.challenges,
    // acme-client's own pre-check asks the system resolver and port 80/443 from here: wrong behind NAT
    // or a port forward, and the CA's validation is the one that counts.
    skipChallengeVerification: true,
    challengeCreateFn: async (authz, challenge, keyAuthorization) => {
      // acme-client's types know http-01 and dns-01 only; tls-alpn-01 (RFC 8737) is a string here.
      const type: string = challenge.type;
      if (type === 'http-01') challenges.addHttp(challenge.token, keyAuthorization);
      else if (type === 'tls-alpn-01') {
        const [alpnKey, alpnCert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
        challenges.addAlpn(authz.identifier.value, alpnCert.toString('utf8'), alpnKey.toString('utf8'));
      } else throw new Error(`challenge type ${type} is not answered by Mailroom`);
    },
    challengeRemoveFn: async (authz, challenge) => {
      const type: string = challenge.type;
      if (type === 'http-01') challenges.removeHttp(challenge.token);
      else if (type === 'tls-alpn-01') challenges.removeAlpn(authz.identifier.value);
    },
  });
  return { cert, key: key.toString('utf8') };
}
