import { hostname } from 'node:os';
import type { Agent } from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreateEndpointBody } from '../src/endpoints/endpoints.dto';
import { errorOf } from './http';
import { DENY_ALL_POLICY } from './policies';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';

const internal = (upstream_url: string) =>
  ({ url: 'https://mcp.example.internal', type: 'internal', upstream_url }) satisfies CreateEndpointBody;

/**
 * Issue 12, items 1, 7 and 13 at save time: an upstream that is the gateway itself (a forwarding loop) or an address
 * the operator's outbound rules refuse (cloud metadata, link-local…) is answered 400 with a stable code, and so are
 * wildcard endpoints on a public suffix and IP-literal endpoint hosts.
 */
describe('outbound targets at save time (defaults: loopback and private networks allowed)', () => {
  let testApp: TestApp;
  let editor: Agent;
  beforeAll(async () => {
    // API_PORT 4000 and GATEHOUSE_GATEWAY_PORTS 8080,8081 (the data planes' default ports) are the gateway's own.
    testApp = await createTestApp({ GATEHOUSE_GATEWAY_HOSTS: 'gateway.example.com' });
    await resetState(testApp);
    editor = await loginAs(testApp, await setupAdmin(testApp), 'editor');
  });
  afterAll(async () => {
    await testApp.close();
  });
  beforeEach(async () => {
    await resetState(testApp, { keepAccounts: true });
  });

  it.each([
    'http://127.0.0.1:8080',
    'http://localhost:8081',
    'http://127.0.0.1:4000/api',
    'http://[::1]:8080',
    'http://0.0.0.0:8080',
    'https://gateway.example.com',
    // The machine's own name resolves here (often through /etc/hosts): judged like localhost on the gateway's ports.
    `http://${hostname()}:8080`,
    `http://${hostname().toUpperCase()}:4000/api`,
  ])('refuses upstream_url %s with 400 UPSTREAM_IS_GATEWAY', async (upstream) => {
    const response = await editor.post('/api/endpoints').send(internal(upstream)).expect(400);
    const error = errorOf(response);
    expect(error.error_code).toBe('UPSTREAM_IS_GATEWAY');
    expect(error.message).toContain('forwarding loop');
    expect(error.details).toEqual([expect.objectContaining({ path: 'upstream_url' })]);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data', 'metadata'],
    ['http://[fd00:ec2::254]', 'metadata'],
    ['http://metadata.google.internal', 'metadata'],
    ['http://169.254.10.10:80', 'link-local'],
    ['http://[fe80::1]:3333', 'link-local'],
  ])('refuses upstream_url %s with 400 UPSTREAM_FORBIDDEN', async (upstream, why) => {
    const response = await editor.post('/api/endpoints').send(internal(upstream)).expect(400);
    expect(errorOf(response).error_code).toBe('UPSTREAM_FORBIDDEN');
    expect(errorOf(response).message).toContain(why);
    expect(errorOf(response).message).toContain('GATEHOUSE_UPSTREAM_ALLOW');
  });

  it('refuses the same on PATCH and keeps the stored upstream', async () => {
    const created = await editor.post('/api/endpoints').send(internal('http://127.0.0.1:3333')).expect(201);
    const id = (created.body as { id: string }).id;
    const patched = await editor
      .patch(`/api/endpoints/${id}`)
      .send({ upstream_url: 'http://127.0.0.1:8081' })
      .expect(400);
    expect(errorOf(patched).error_code).toBe('UPSTREAM_IS_GATEWAY');
    const stored = await editor.get(`/api/endpoints/${id}`).expect(200);
    expect(stored.body).toMatchObject({ upstream_url: 'http://127.0.0.1:3333' });
  });

  it('keeps the walkthrough working: loopback and private upstreams on other ports are allowed', async () => {
    await editor.post('/api/endpoints').send(internal('http://127.0.0.1:3333')).expect(201);
    await editor
      .post('/api/endpoints')
      .send({ url: 'https://c.example.internal', type: 'internal', upstream_url: `http://${hostname()}:3333` })
      .expect(201);
    await editor
      .post('/api/endpoints')
      .send({ url: 'https://b.example.internal', type: 'internal', upstream_url: 'http://10.0.0.7:8080' })
      .expect(201);
  });

  it.each([
    ['https://*.com', 'public suffix'],
    ['https://*.co.uk', 'public suffix'],
    ['https://203.0.113.7', 'IP address'],
  ])('refuses the endpoint URL %s (400 ENDPOINT_URL_INVALID)', async (url, why) => {
    const response = await editor
      .post('/api/endpoints')
      .send({ url, traffic_policy: DENY_ALL_POLICY } satisfies CreateEndpointBody)
      .expect(400);
    expect(errorOf(response).error_code).toBe('ENDPOINT_URL_INVALID');
    expect(errorOf(response).message).toContain(why);
  });
});

const jwtPolicy = (jku: string) => `on_http_request:
  - actions:
      - type: jwt-validation
        config:
          issuer: { allow_list: [{ value: "https://issuer.example.com" }] }
          audience: { allow_list: [{ value: "gatehouse" }] }
          jws:
            allowed_algorithms: [RS256]
            keys:
              sources:
                additional_jkus:
                  - ${jku}
      - type: deny
`;

describe('JWKS URLs at save time', () => {
  let testApp: TestApp;
  let editor: Agent;
  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    editor = await loginAs(testApp, await setupAdmin(testApp), 'editor');
  });
  afterAll(async () => {
    await testApp.close();
  });

  it.each([
    ['https://169.254.169.254/jwks.json', 'UPSTREAM_FORBIDDEN', 'metadata'],
    ['https://127.0.0.1:8081/jwks.json', 'UPSTREAM_IS_GATEWAY', 'forwarding loop'],
    ['http://issuer.example.com/jwks.json', 'UPSTREAM_FORBIDDEN', 'https only'],
    ['http://10.0.0.5/jwks.json', 'UPSTREAM_FORBIDDEN', 'https only'],
  ])('refuses a policy whose JWKS URL is %s, on its line', async (jku, code, why) => {
    const response = await editor
      .post('/api/endpoints')
      .send({ url: 'https://jwt.example.com', traffic_policy: jwtPolicy(jku) } satisfies CreateEndpointBody)
      .expect(400);
    const error = errorOf(response);
    expect(error.error_code).toBe('POLICY_INVALID');
    expect(error.details).toEqual([
      expect.objectContaining({
        code,
        line: 12,
        path: '/on_http_request/0/actions/0/config/jws/keys/sources/additional_jkus/0',
        message: expect.stringContaining(why) as unknown,
      }),
    ]);
    const validated = await editor
      .post('/api/traffic-policy/validate')
      .send({ traffic_policy: jwtPolicy(jku), endpoint_type: 'cloud' })
      .expect(200);
    expect(validated.body).toMatchObject({ valid: false, errors: [expect.objectContaining({ code })] });
  });

  it('accepts a JWKS URL taken from a secret (its value is judged by the data plane before each fetch)', async () => {
    await editor.post('/api/vaults').send({ name: 'idp' }).expect(201);
    await editor
      .put('/api/vaults/idp/secrets/jwks')
      .send({ value: 'https://issuer.example.com/.well-known/jwks.json' })
      .expect(201);
    await editor
      .post('/api/endpoints')
      .send({
        url: 'https://jwt-secret.example.com',
        traffic_policy: jwtPolicy(`"\${secrets.get('idp', 'jwks')}"`),
      } satisfies CreateEndpointBody)
      .expect(201);
    // A secret that does not exist is still a save-time error.
    const missing = await editor
      .post('/api/endpoints')
      .send({
        url: 'https://jwt-missing.example.com',
        traffic_policy: jwtPolicy(`"\${secrets.get('idp', 'nope')}"`),
      } satisfies CreateEndpointBody)
      .expect(400);
    expect(errorOf(missing).details).toEqual([expect.objectContaining({ code: 'POLICY_SECRET_NOT_FOUND' })]);
  });

  it('accepts an https JWKS URL and a plain-http one on loopback (a local test issuer)', async () => {
    await editor
      .post('/api/endpoints')
      .send({
        url: 'https://jwt.example.com',
        traffic_policy: jwtPolicy('https://issuer.example.com/.well-known/jwks.json'),
      } satisfies CreateEndpointBody)
      .expect(201);
    await editor
      .post('/api/endpoints')
      .send({
        url: 'https://jwt2.example.com',
        traffic_policy: jwtPolicy('http://127.0.0.1:9999/jwks.json'),
      } satisfies CreateEndpointBody)
      .expect(201);
  });
});

describe('sign-in provider URLs at save time', () => {
  let testApp: TestApp;
  let editor: Agent;
  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    editor = await loginAs(testApp, await setupAdmin(testApp), 'editor');
  });
  afterAll(async () => {
    await testApp.close();
  });

  it('refuses an OpenID issuer and oauth endpoints the gateway may not fetch, on their lines', async () => {
    const policy = `on_http_request:
  - actions:
      - type: openid-connect
        config:
          issuer_url: "https://169.254.169.254"
          client_id: gatehouse
  - actions:
      - type: deny
`;
    const refused = await editor
      .post('/api/traffic-policy/validate')
      .send({ traffic_policy: policy, endpoint_type: 'cloud' })
      .expect(200);
    expect(refused.body).toMatchObject({
      valid: false,
      errors: [
        expect.objectContaining({
          code: 'UPSTREAM_FORBIDDEN',
          line: 5,
          path: '/on_http_request/0/actions/0/config/issuer_url',
          message: expect.stringContaining('OpenID issuer URL') as unknown,
        }),
      ],
    });
    const oauth = `on_http_request:
  - actions:
      - type: oauth
        config:
          provider: custom
          client_id: gatehouse
          client_secret: s3cret
          endpoints:
            authorization_url: "https://idp.example.com/authorize"
            token_url: "http://idp.example.com/token"
            userinfo_url: "https://idp.example.com/me"
  - actions:
      - type: deny
`;
    const response = await editor
      .post('/api/endpoints')
      .send({ url: 'https://app.example.com', traffic_policy: oauth } satisfies CreateEndpointBody)
      .expect(400);
    expect(errorOf(response).details).toEqual([
      expect.objectContaining({
        code: 'UPSTREAM_FORBIDDEN',
        path: '/on_http_request/0/actions/0/config/endpoints/token_url',
        message: expect.stringContaining('OAuth token URL') as unknown,
      }),
    ]);
    await editor
      .post('/api/endpoints')
      .send({
        url: 'https://app.example.com',
        traffic_policy: oauth.replace('http://idp.example.com/token', 'https://idp.example.com/token'),
      } satisfies CreateEndpointBody)
      .expect(201);
  });
});

describe('outbound targets when the operator narrows the allow list', () => {
  let testApp: TestApp;
  let editor: Agent;
  beforeAll(async () => {
    testApp = await createTestApp({ GATEHOUSE_UPSTREAM_ALLOW: 'private', GATEHOUSE_UPSTREAM_DENY: '10.9.0.0/16' });
    await resetState(testApp);
    editor = await loginAs(testApp, await setupAdmin(testApp), 'editor');
  });
  afterAll(async () => {
    await testApp.close();
  });

  it('refuses loopback when it is not listed, and what the deny list names', async () => {
    const loopback = await editor.post('/api/endpoints').send(internal('http://127.0.0.1:3333')).expect(400);
    expect(errorOf(loopback).error_code).toBe('UPSTREAM_FORBIDDEN');
    expect(errorOf(loopback).message).toContain('loopback');
    const denied = await editor.post('/api/endpoints').send(internal('http://10.9.1.1')).expect(400);
    expect(errorOf(denied).message).toContain('GATEHOUSE_UPSTREAM_DENY');
    await editor.post('/api/endpoints').send(internal('http://10.1.1.1')).expect(201);
  });
});

describe('ai-gateway provider base URLs at save time', () => {
  let testApp: TestApp;
  let editor: Agent;
  const aiPolicy = (baseUrl: string) => `on_http_request:
  - actions:
      - type: ai-gateway
        config:
          providers:
            - id: openai
            - id: local
              base_url: ${baseUrl}
`;
  beforeAll(async () => {
    testApp = await createTestApp();
    await resetState(testApp);
    editor = await loginAs(testApp, await setupAdmin(testApp), 'editor');
  });
  afterAll(async () => {
    await testApp.close();
  });

  it('refuses a provider at the metadata address or the gateway itself, on its line', async () => {
    for (const [baseUrl, code] of [
      ['http://169.254.169.254/v1', 'UPSTREAM_FORBIDDEN'],
      ['http://127.0.0.1:8081/v1', 'UPSTREAM_IS_GATEWAY'],
    ] as const) {
      const response = await editor
        .post('/api/endpoints')
        .send({ url: 'https://ai.example.com', traffic_policy: aiPolicy(baseUrl) } satisfies CreateEndpointBody)
        .expect(400);
      expect(errorOf(response).details).toEqual([
        expect.objectContaining({
          code,
          line: 8,
          path: '/on_http_request/0/actions/0/config/providers/1/base_url',
          message: expect.stringContaining('ai-gateway base_url') as unknown,
        }),
      ]);
    }
  });

  it('accepts a plain-http provider on a private network and an internal endpoint', async () => {
    await editor
      .post('/api/endpoints')
      .send({
        url: 'https://ai.example.com',
        traffic_policy: aiPolicy('http://10.0.0.5:11434/v1'),
      } satisfies CreateEndpointBody)
      .expect(201);
    await editor
      .post('/api/endpoints')
      .send({
        url: 'https://ai2.example.com',
        traffic_policy: aiPolicy('https://llm.internal/v1'),
      } satisfies CreateEndpointBody)
      .expect(201);
  });
});

describe('outbound targets when the operator narrows the allow list', () => {
  let testApp: TestApp;
  let editor: Agent;
  beforeAll(async () => {
    testApp = await createTestApp({ GATEHOUSE_UPSTREAM_ALLOW: 'private', GATEHOUSE_UPSTREAM_DENY: '10.9.0.0/16' });
    await resetState(testApp);
    editor = await loginAs(testApp, await setupAdmin(testApp), 'editor');
  });
  afterAll(async () => {
    await testApp.close();
  });

  it('refuses loopback when it is not listed, and what the deny list names', async () => {
    const loopback = await editor.post('/api/endpoints').send(internal('http://127.0.0.1:3333')).expect(400);
    expect(errorOf(loopback).error_code).toBe('UPSTREAM_FORBIDDEN');
    expect(errorOf(loopback).message).toContain('loopback');
    const denied = await editor.post('/api/endpoints').send(internal('http://10.9.1.1')).expect(400);
    expect(errorOf(denied).message).toContain('GATEHOUSE_UPSTREAM_DENY');
    await editor.post('/api/endpoints').send(internal('http://10.1.1.1')).expect(201);
  });
});
