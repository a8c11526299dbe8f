import { createSign, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { listen, startEchoUpstream, type RunningServer } from './helpers/upstreams.js';

const base64url = (input: Buffer | string) => Buffer.from(input).toString('base64url');

/** jwt-validation end to end: the data plane fetches (and caches) the issuer's JWKS over HTTP through its JWKS port. */
describe('jwt-validation with a JWKS URL', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const config = new TestConfigServer(undefined);
  let jwks: RunningServer;
  let echo: RunningServer;
  let gateway: RunningDataplane;
  let jwksHits = 0;

  const sign = (claims: Record<string, unknown>) => {
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'test-key' }));
    const payload = base64url(JSON.stringify(claims));
    const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKey);
    return `${header}.${payload}.${base64url(signature)}`;
  };

  beforeAll(async () => {
    jwks = await listen((_req, res) => {
      jwksHits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    echo = await startEchoUpstream();
    await config.start();
    await config.upsertEndpoint({ id: 'ep_echo_internal', url: 'https://echo.internal', upstream_url: echo.url });
    await config.upsertEndpoint({
      id: 'ep_jwt',
      url: 'https://jwt.example.com',
      traffic_policy: `on_http_request:
  - actions:
      - type: jwt-validation
        config:
          issuer: { allow_list: [{ value: "https://issuer.test" }] }
          audience: { allow_list: [{ value: "gatehouse" }] }
          jws:
            allowed_algorithms: [RS256]
            keys: { sources: { additional_jkus: ["${jwks.url}/jwks.json"] } }
      - type: forward-internal
        config: { url: "https://echo.internal" }
`,
    });
    gateway = await startDataplane(config);
  });

  afterAll(async () => {
    await gateway?.stop();
    await config.close();
    await jwks?.close();
    await echo?.close();
  });

  it('admits a valid token, rejects a bad one with 401 and a Bearer challenge, and fetches the JWKS once', async () => {
    const now = Math.floor(Date.now() / 1000);
    const valid = sign({ iss: 'https://issuer.test', aud: 'gatehouse', sub: 'alice', iat: now, exp: now + 300 });
    for (let index = 0; index < 3; index++) {
      expect(
        (
          await httpRequest({
            port: gateway.port,
            host: 'jwt.example.com',
            headers: { authorization: `Bearer ${valid}` },
          })
        ).status,
      ).toBe(200);
    }
    const wrongIssuer = sign({ iss: 'https://evil.test', aud: 'gatehouse', iat: now, exp: now + 300 });
    const rejected = await httpRequest({
      port: gateway.port,
      host: 'jwt.example.com',
      headers: { authorization: `Bearer ${wrongIssuer}` },
    });
    expect(rejected.status).toBe(401);
    expect(rejected.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(rejected.headers['gatehouse-error-code']).toBe('JWT_VALIDATION_FAILED');
    expect((await httpRequest({ port: gateway.port, host: 'jwt.example.com' })).status).toBe(401);
    expect(jwksHits).toBe(1);
  });
});
