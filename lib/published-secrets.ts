/**
 * Secret values that were ever written in this repository (docker-compose.yml defaults, README examples, the
 * simulators' keys). Anyone can read them, so a production process refuses to start with one of them. Values stay
 * here after they leave the files they came from: old checkouts and copied compose files still carry them.
 * test/security/production-config.test.ts fails when a new secret-looking value appears in those files and is not
 * listed here.
 */
export const publishedSecretValues: ReadonlySet<string> = new Set([
  // docker-compose.yml defaults until the compose file required the secrets.
  'change-me-to-32-or-more-random-characters',
  'whsec_ZGV2LWF0cy1zZWNyZXQtY2hhbmdlLW1lLXBsZWFzZQ==',
  'whsec_ZGV2LWVycC1zZWNyZXQtY2hhbmdlLW1lLXBsZWFzZQ==',
  // The simulators' keys (lib/config.ts defaults, docker-compose.yml, README).
  'dev-erp-key',
  'dev-hris-key',
  'dev-ats-key',
  'dev-screening-key',
  'dev-esign-key',
  'dev-it-key',
]);

/** The shortest secret a production process accepts, in bytes. */
export const MIN_SECRET_BYTES = 32;

/** Why a production secret is unacceptable, or undefined when it is fine. Never repeats the value. */
export function productionSecretProblem(value: string): string | undefined {
  if (publishedSecretValues.has(value.trim())) {
    return 'is a value published in the Opsflow repository (docker-compose.yml or README); generate a new one, e.g. `openssl rand -base64 48`';
  }
  if (Buffer.byteLength(value, 'utf8') < MIN_SECRET_BYTES) return `is shorter than ${MIN_SECRET_BYTES} bytes`;
  return undefined;
}
