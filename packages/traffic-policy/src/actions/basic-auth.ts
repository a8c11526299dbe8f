import { z } from 'zod';
import { defineAction } from '../action.js';
import { decodeBase64, sha256Hex } from '../codecs.js';
import { continueOutcome } from '../context.js';
import { enforceField, respondWithError } from './shared.js';

const credentialRule = 'credentials are "user:password" with a password of 8 to 128 characters';

function isCredential(text: string): boolean {
  const separator = text.indexOf(':');
  const password = text.slice(separator + 1);
  return separator > 0 && password.length >= 8 && password.length <= 128;
}

// A credential with `${}` (`user:${secrets.get('auth', 'password')}`) is checked once it is computed.
const credentialSchema = z
  .string()
  .max(4096)
  .refine((text) => text.includes('${') || isCredential(text), credentialRule);

const configSchema = z.strictObject({
  credentials: z
    .array(credentialSchema)
    .min(1)
    .max(10)
    .describe(
      '1 to 10 "user:password" pairs (the first ":" separates); `${}` may use secrets.get, computed when the configuration is applied.',
    ),
  realm: z
    .string()
    .max(128)
    .regex(/^[\x20-\x7e]*$/, 'realm must be printable ASCII')
    .refine((realm) => !realm.includes('"'), 'realm cannot contain a double quote')
    .default('gatehouse')
    .describe('The realm named in the WWW-Authenticate challenge.'),
  enforce: enforceField,
});

export const basicAuthAction = defineAction({
  type: 'basic-auth',
  description: 'Requires HTTP Basic credentials; answers 401 with a challenge when they are missing or wrong.',
  phases: ['on_http_request'],
  resultName: 'basic_auth',
  isAuthentication: true,
  configSchema,
  configRequired: true,
  alwaysTerminates: () => false,
  compile(config, context) {
    // Passwords are kept only as hashes and compared in constant time. A credential written with `${}` is computed
    // here, when the configuration is applied with the secret values — never compared as the text it is written as.
    const passwordHashes = new Map<string, string>();
    let unavailable: string | undefined;
    config.credentials.forEach((written, index) => {
      const field = context.constant(written, ['credentials', index]);
      if (!field.known) {
        unavailable ??= field.reason;
        return;
      }
      if (!isCredential(field.text)) {
        // A secret's value is never quoted; a written credential was checked by the schema already.
        const problem = `credential ${index + 1} computed from secrets is not "user:password" with a password of 8 to 128 characters`;
        context.secretFieldUnusable(problem, ['credentials', index]);
        unavailable ??= problem;
        return;
      }
      const separator = field.text.indexOf(':');
      passwordHashes.set(field.text.slice(0, separator), sha256Hex(field.text.slice(separator + 1)));
    });
    if (unavailable !== undefined) {
      const reason = unavailable;
      // Fail closed: some credential cannot be known, and letting the others in would be guessing.
      return () => ({
        outcome: respondWithError('SECRET_UNAVAILABLE', 'Gatehouse: the authentication settings are not available.'),
        detail: reason,
      });
    }
    const challenge = `Basic realm="${config.realm}", charset="UTF-8"`;
    return (request) => {
      const presented = parseBasicCredentials(request.requestHeader('authorization')?.[0]);
      const expectedHash = presented === undefined ? undefined : passwordHashes.get(presented.username);
      const authorized = expectedHash !== undefined && constantTimeEqual(expectedHash, sha256Hex(presented!.password));
      request.actionResults.basic_auth = {
        credentials: { presented: presented !== undefined, username: presented?.username ?? '', authorized },
      };
      if (authorized) return { outcome: continueOutcome, detail: `authorized as ${presented!.username}` };
      const detail = presented === undefined ? 'no credentials' : `rejected ${presented.username}`;
      if (!config.enforce) return { outcome: continueOutcome, detail: `${detail} (not enforced)` };
      return {
        outcome: respondWithError(
          'BASIC_AUTH_FAILED',
          'Gatehouse: authentication required.',
          new Map([['www-authenticate', [challenge]]]),
        ),
        detail,
      };
    };
  },
});

function parseBasicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  let decoded: string;
  try {
    decoded = decodeBase64(header.slice(6).trim());
  } catch {
    return undefined;
  }
  const separator = decoded.indexOf(':');
  if (separator <= 0) return undefined;
  return { username: decoded.slice(0, separator), password: decoded.slice(separator + 1) };
}

export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let index = 0; index < a.length; index++) difference |= a.charCodeAt(index) ^ b.charCodeAt(index);
  return difference === 0;
}
