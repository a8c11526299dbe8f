import { createHmac } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveDataplaneSecretsKey, sealForDataplanes } from '@gatehouse/runtime';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { eventually, startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { assertRedisUp, sharedRedisUrl } from './helpers/redis-process.js';
import { listen } from './helpers/upstreams.js';
import { compileOutboundRules } from '@gatehouse/contracts';

const FIRST = 'first-password-1234';
const SECOND = 'second-password-5678';

const basicAuthPolicy = `on_http_request:
  - actions:
      - type: basic-auth
        config:
          credentials: ["alice:\${secrets.get('auth', 'alice')}"]
  - actions:
      - type: deny
        config: { status_code: 418 }
`;

// An HS256 key from a vault: a token signed with the secret's bytes verifies.
const jwtPolicy = `on_http_request:
  - actions:
      - type: jwt-validation
        config:
          issuer: { allow_list: [{ value: "https://issuer.example" }] }
          jws:
            allowed_algorithms: [HS256]
            keys:
              static:
                - { kty: oct, k: "\${secrets.get('jwt', 'hmac')}" }
  - actions:
      - type: deny
        config: { status_code: 418 }
`;

function hs256(key: Buffer): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ iss: 'https://issuer.example', exp: 4_102_444_800 })}`;
  return `${unsigned}.${createHmac('sha256', key).update(unsigned).digest('base64url')}`;
}

describe('secrets on the data plane', () => {
  let config: TestConfigServer;
  let gateway: RunningDataplane | undefined;
  let dataDirectory: string;
  let transportKey: Buffer;

  const login = (password: string) =>
    httpRequest({
      port: gateway!.port,
      host: 'app.example.com',
      headers: { authorization: `Basic ${Buffer.from(`alice:${password}`).toString('base64')}` },
    });

  const publishPassword = (password: string) =>
    config.upsertEndpoint({
      id: 'ep_app',
      url: 'https://app.example.com',
      traffic_policy: basicAuthPolicy,
      secrets: [{ vault: 'auth', name: 'alice', sealed: sealForDataplanes(transportKey, 'auth', 'alice', password) }],
    });

  beforeAll(async () => {
    await assertRedisUp();
  });

  beforeEach(async () => {
    dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-secrets-'));
    config = new TestConfigServer(sharedRedisUrl);
    await config.start();
    transportKey = deriveDataplaneSecretsKey(config.token);
  });

  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
    await config.close();
    await rm(dataDirectory, { recursive: true, force: true });
  });

  it('authenticates basic-auth against the secret, switches on rotation, and keeps values out of the LKG file', async () => {
    await publishPassword(FIRST);
    gateway = await startDataplane(config, { redisUrl: sharedRedisUrl, dataDirectory, secretsKey: transportKey });
    await eventually(() => gateway!.dataplane.sync.feedState === 'subscribed', 5_000, 'the feed to subscribe');
    await gateway.dataplane.sync.settled();

    expect((await login(FIRST)).status).toBe(418);
    // The credential as written is not a password.
    expect((await login("${secrets.get('auth', 'alice')}")).status).toBe(401);
    expect((await login('wrong-password-000')).status).toBe(401);

    const rotated = await publishPassword(SECOND);
    const started = performance.now();
    await eventually(() => gateway!.dataplane.store.appliedRevision === rotated.revision, 5_000, 'the rotation');
    const propagationMs = performance.now() - started;
    expect((await login(FIRST)).status).toBe(401);
    expect((await login(SECOND)).status).toBe(418);
    console.log(`rotation applied ${propagationMs.toFixed(1)} ms after the change was published`);

    await gateway.dataplane.store.flush();
    const files = await readdir(dataDirectory);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const text = await readFile(join(dataDirectory, file), 'utf8').catch(() => '');
      expect(text).not.toContain(FIRST);
      expect(text).not.toContain(SECOND);
    }
    const saved = await readFile(join(dataDirectory, 'dataplane-last-known-good.json'), 'utf8');
    expect(saved).toContain('"sealed":"v1.');
    // No request log, trace or detail carries a value.
    expect(JSON.stringify(gateway.sink.events)).not.toContain(SECOND);
  });

  it('fetches a JWKS URL taken from a secret, and only where the outbound rules allow', async () => {
    let hits = 0;
    const jwks = await listen((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    const policy = `on_http_request:
  - actions:
      - type: jwt-validation
        config:
          issuer: { allow_list: [{ value: "https://issuer.example" }] }
          jws:
            allowed_algorithms: [RS256]
            keys: { sources: { additional_jkus: ["\${secrets.get('idp', 'jwks')}"] } }
  - actions:
      - type: deny
        config: { status_code: 418 }
`;
    await config.upsertEndpoint({
      id: 'ep_app',
      url: 'https://app.example.com',
      traffic_policy: policy,
      secrets: [
        { vault: 'idp', name: 'jwks', sealed: sealForDataplanes(transportKey, 'idp', 'jwks', `${jwks.url}/jwks.json`) },
      ],
    });
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const token = `${part({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${part({ iss: 'https://issuer.example' })}.c2ln`;
    const call = () =>
      httpRequest({ port: gateway!.port, host: 'app.example.com', headers: { authorization: `Bearer ${token}` } });
    try {
      // Loopback is not allowed here: the URL the secret holds is refused before any connection.
      const strict = compileOutboundRules([], []);
      if (!strict.ok) throw new Error('rules');
      gateway = await startDataplane(config, { dataDirectory, secretsKey: transportKey, outboundRules: strict.rules });
      await eventually(() => gateway!.dataplane.store.loaded, 5_000, 'the config');
      expect((await call()).status).toBe(401);
      expect(hits).toBe(0);
      await gateway.stop();
      // With the default rules (loopback allowed) the same secret's URL is fetched.
      gateway = await startDataplane(config, { dataDirectory, secretsKey: transportKey });
      await eventually(() => gateway!.dataplane.store.loaded, 5_000, 'the config');
      expect((await call()).status).toBe(401);
      expect(hits).toBeGreaterThan(0);
    } finally {
      await jwks.close();
    }
  });

  it('verifies a jwt-validation HMAC key taken from a secret', async () => {
    const hmac = Buffer.from('hmac-key-for-the-data-plane-test-32b');
    await config.upsertEndpoint({
      id: 'ep_app',
      url: 'https://app.example.com',
      traffic_policy: jwtPolicy,
      secrets: [
        {
          vault: 'jwt',
          name: 'hmac',
          sealed: sealForDataplanes(transportKey, 'jwt', 'hmac', hmac.toString('base64url')),
        },
      ],
    });
    gateway = await startDataplane(config, { dataDirectory, secretsKey: transportKey });
    await eventually(() => gateway!.dataplane.store.loaded, 5_000, 'the config');
    const call = (token: string) =>
      httpRequest({ port: gateway!.port, host: 'app.example.com', headers: { authorization: `Bearer ${token}` } });
    expect((await call(hs256(hmac))).status).toBe(418);
    expect((await call(hs256(Buffer.from("${secrets.get('jwt', 'hmac')}")))).status).toBe(401);
  });

  it('fails closed (500 SECRET_UNAVAILABLE) when the sealed value does not open with its key', async () => {
    await publishPassword(FIRST);
    gateway = await startDataplane(config, {
      dataDirectory,
      secretsKey: deriveDataplaneSecretsKey('another-installation-token'),
    });
    await eventually(() => gateway!.dataplane.store.loaded, 5_000, 'the config');
    const answer = await login(FIRST);
    expect(answer.status).toBe(500);
    expect(answer.headers['gatehouse-error-code']).toBe('SECRET_UNAVAILABLE');
    expect(answer.body).not.toContain(FIRST);
  });
});
