import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { callerOf } from './caller.js';
import { sha256Hex } from './codecs.js';
import { compile } from './compile.js';
import { createPolicyContext, evaluate } from './evaluate.js';
import { createMemoryPorts } from './testing/index.js';

const secret = 'a-shared-secret-of-at-least-32-bytes!!';
const staticKey = { kty: 'oct', k: Buffer.from(secret).toString('base64url'), alg: 'HS256' };

async function run(policyText: string, headers: Record<string, string>) {
  // A cloud policy must end every request: a final custom-response stands in for the upstream.
  const policy = compile(`${policyText}  - actions: [{ type: custom-response }]\n`, { endpointType: 'cloud' });
  const ports = createMemoryPorts();
  const context = createPolicyContext(
    {
      endpoint: { id: 'ep_1', url: 'https://api.example.com', host: 'api.example.com', type: 'cloud' },
      connection: { clientIp: '203.0.113.10', clientPort: 50000, serverIp: '127.0.0.1', serverPort: 443 },
      request: {
        method: 'GET',
        scheme: 'https',
        host: 'api.example.com',
        port: '443',
        path: '/',
        query: '',
        headers: new Map(Object.entries(headers).map(([name, value]) => [name, [value]])),
      },
    },
    ports,
  );
  const result = await evaluate(policy, 'on_http_request', context, ports);
  return { context, result };
}

const jwtPolicy = (enforce: boolean) => `on_http_request:
  - actions:
      - type: jwt-validation
        config:
          issuer: { allow_list: [{ value: "https://issuer.test" }] }
          jws: { allowed_algorithms: [HS256], keys: { static: [${JSON.stringify(staticKey)}] } }
          enforce: ${enforce}
`;

const sign = (claims: Record<string, unknown>, key = secret) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('https://issuer.test')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(key));

const basicPolicy = (enforce: boolean) => `on_http_request:
  - actions:
      - type: basic-auth
        config: { credentials: ["ops:correct-horse-battery"], enforce: ${enforce} }
`;

const rateLimitPolicy = `on_http_request:
  - actions:
      - type: rate-limit
        config:
          name: per-key
          algorithm: sliding_window
          capacity: 10
          rate: 60s
          bucket_key: ["getReqHeader('x-api-key').size() > 0 ? getReqHeader('x-api-key')[0] : ''"]
`;

describe('callerOf', () => {
  it('names the subject, client and issuer of a verified JWT', async () => {
    const token = await sign({ sub: 'user-42', client_id: 'claude-desktop' });
    const { context } = await run(jwtPolicy(true), { authorization: `Bearer ${token}` });
    expect(callerOf([context])).toEqual({
      subject: 'user-42',
      client_id: 'claude-desktop',
      issuer: 'https://issuer.test',
      basic_auth_user: null,
      credential_fingerprint: null,
    });
  });

  it('falls back to azp for the client', async () => {
    const token = await sign({ sub: 'user-42', azp: 'web-app' });
    const { context } = await run(jwtPolicy(true), { authorization: `Bearer ${token}` });
    expect(callerOf([context])?.client_id).toBe('web-app');
  });

  it('never records the claims of a token that failed verification (a claim is not an identity)', async () => {
    const forged = await sign({ sub: 'admin', client_id: 'trusted' }, 'another-secret-of-at-least-32-bytes!!');
    const { context } = await run(jwtPolicy(false), { authorization: `Bearer ${forged}` });
    // Not enforced, so the request went on: the claims were read but not verified.
    expect(context.trace[0]?.actions[0]?.detail).toMatch(/not enforced/);
    expect(callerOf([context])).toBeNull();
  });

  it('names the basic-auth user only when authorized', async () => {
    const good = Buffer.from('ops:correct-horse-battery').toString('base64');
    const bad = Buffer.from('ops:wrong-password!').toString('base64');
    expect(callerOf([(await run(basicPolicy(true), { authorization: `Basic ${good}` })).context])).toMatchObject({
      basic_auth_user: 'ops',
      subject: null,
    });
    expect(callerOf([(await run(basicPolicy(false), { authorization: `Basic ${bad}` })).context])).toBeNull();
  });

  it('fingerprints the rate-limit bucket key without revealing it, distinct from the counter key', async () => {
    const first = callerOf([(await run(rateLimitPolicy, { 'x-api-key': 'sk-live-secret-1' })).context]);
    const again = callerOf([(await run(rateLimitPolicy, { 'x-api-key': 'sk-live-secret-1' })).context]);
    const other = callerOf([(await run(rateLimitPolicy, { 'x-api-key': 'sk-live-secret-2' })).context]);
    expect(first?.credential_fingerprint).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(again?.credential_fingerprint).toBe(first?.credential_fingerprint);
    expect(other?.credential_fingerprint).not.toBe(first?.credential_fingerprint);
    expect(JSON.stringify(first)).not.toContain('sk-live');
    // Domain-separated: not a prefix of the hash that keys the counters in the rate-limit store.
    expect(sha256Hex('sk-live-secret-1\u0000').startsWith(first!.credential_fingerprint!.slice(7))).toBe(false);
  });

  it('identifies nobody by the shared fallback bucket of an empty key', async () => {
    const { context } = await run(rateLimitPolicy, {});
    expect(callerOf([context])).toBeNull();
  });

  it('merges hops: the first policy context that knows a fact wins, undefined contexts are skipped', async () => {
    const token = await sign({ sub: 'user-1' });
    const outer = (await run(jwtPolicy(true), { authorization: `Bearer ${token}` })).context;
    const inner = (await run(rateLimitPolicy, { 'x-api-key': 'k' })).context;
    const caller = callerOf([undefined, outer, inner]);
    expect(caller?.subject).toBe('user-1');
    expect(caller?.credential_fingerprint).toMatch(/^sha256:/);
  });
});
