import { request as httpRequestRaw } from 'node:http';
import { compileOutboundRules } from '@gatehouse/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopIdFromSecret } from '../src/proxy/loop-detection.js';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, uniqueId, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { listen, startEchoUpstream, type EchoedRequest, type RunningServer } from './helpers/upstreams.js';

const forwardTo = (url: string) =>
  `on_http_request:\n  - actions:\n      - type: forward-internal\n        config:\n          url: ${url}\n`;

/**
 * Issue 12, items 1 and 7, over real sockets: forwarding loops (an upstream that is the gateway itself, directly or
 * through another proxy) end at once, and upstream/JWKS connections obey the operator's outbound rules after DNS.
 */
describe('forwarding loops', () => {
  const config = new TestConfigServer(undefined);
  const loopId = loopIdFromSecret('loop-test-secret');
  let gateway: RunningDataplane;
  let echo: RunningServer;
  /** A plain proxy (a load balancer, say) in front of the gateway: what it receives it sends to the traffic port. */
  let relay: RunningServer;
  let relayHits = 0;

  beforeAll(async () => {
    echo = await startEchoUpstream();
    await config.start();
    gateway = await startDataplane(config, { loopId, maxProxyHops: 5 });
    relay = await listen((req, res) => {
      relayHits++;
      const outgoing = httpRequestRaw(
        {
          host: '127.0.0.1',
          port: gateway.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent: false,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      outgoing.on('error', () => res.destroy());
      req.pipe(outgoing);
    });
    // The attack of the issue: an internal endpoint whose upstream is the gateway's own traffic port, with the
    // cloud endpoint's Host kept, so the request comes back to the same cloud endpoint again and again.
    await config.upsertEndpoint({
      id: 'ep_self_internal',
      url: 'https://self.internal',
      upstream_url: `http://127.0.0.1:${gateway.port}`,
    });
    await config.upsertEndpoint({
      id: 'ep_self_by_name_internal',
      url: 'https://self-by-name.internal',
      upstream_url: `http://localhost:${gateway.adminPort}`,
    });
    await config.upsertEndpoint({ id: 'ep_relay_internal', url: 'https://relay.internal', upstream_url: relay.url });
    await config.upsertEndpoint({ id: 'ep_echo_internal', url: 'https://echo.internal', upstream_url: echo.url });
    await config.upsertEndpoint({
      id: 'ep_self',
      url: 'https://self.example.com',
      traffic_policy: forwardTo('https://self.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_self_by_name',
      url: 'https://self-by-name.example.com',
      traffic_policy: forwardTo('https://self-by-name.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_relay',
      url: 'https://relay.example.com',
      traffic_policy: forwardTo('https://relay.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_echo',
      url: 'https://echo.example.com',
      traffic_policy: forwardTo('https://echo.internal'),
    });
    await gateway.dataplane.sync.heartbeat();
  });

  afterAll(async () => {
    await gateway?.stop();
    await relay?.close();
    await echo?.close();
    await config.close();
  });

  const eventsFor = (marker: string) => gateway.sink.events.filter((event) => event.query === `m=${marker}`);

  it('refuses an upstream that is its own traffic port at dial time: 508 UPSTREAM_IS_GATEWAY, one request-log row', async () => {
    const marker = uniqueId('self');
    const response = await httpRequest({ port: gateway.port, host: 'self.example.com', path: `/?m=${marker}` });
    expect(response.status).toBe(508);
    expect(response.headers['gatehouse-error-code']).toBe('UPSTREAM_IS_GATEWAY');
    await gateway.sink.waitFor((event) => event.query === `m=${marker}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(eventsFor(marker)).toHaveLength(1);
    expect(eventsFor(marker)[0]).toMatchObject({ status: 508, error_code: 'UPSTREAM_IS_GATEWAY' });
  });

  it('refuses a name that resolves to its own admin port (checked on the connected socket)', async () => {
    const response = await httpRequest({ port: gateway.port, host: 'self-by-name.example.com' });
    expect(response.status).toBe(508);
    expect(response.headers['gatehouse-error-code']).toBe('UPSTREAM_IS_GATEWAY');
  });

  it('ends a loop through another proxy on the second arrival (CDN-Loop): 508, two rows, not an amplification', async () => {
    const marker = uniqueId('relay');
    relayHits = 0;
    const response = await httpRequest({ port: gateway.port, host: 'relay.example.com', path: `/?m=${marker}` });
    // The inner hop answers 508 LOOP_DETECTED; the outer hop passes the status on (an upstream's error-code header
    // is never trusted, so the code itself is in the inner hop's row).
    expect(response.status).toBe(508);
    expect(response.body).toContain('already passed this gateway');
    expect(relayHits).toBe(1);
    await gateway.sink.waitFor((event) => event.query === `m=${marker}` && event.error_code === 'LOOP_DETECTED');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const rows = eventsFor(marker);
    expect(rows).toHaveLength(2);
    expect(rows.map((row) => row.status)).toEqual([508, 508]);
    expect(rows.filter((row) => row.error_code === 'LOOP_DETECTED')).toHaveLength(1);
  });

  it("appends its id to the client's CDN-Loop entries, which are kept", async () => {
    const response = await httpRequest({
      port: gateway.port,
      host: 'echo.example.com',
      headers: { 'cdn-loop': 'other-cdn; v=1' },
    });
    expect(response.status).toBe(200);
    const echoed = JSON.parse(response.body) as EchoedRequest;
    expect(echoed.headers['cdn-loop']).toBe(`other-cdn; v=1, ${loopId}`);
    expect(loopId).toMatch(/^gatehouse-[A-Za-z0-9_-]{22}$/);
    expect(loopId).not.toContain('loop-test-secret');
  });

  it('refuses a request that already passed too many proxies (max hop count across processes)', async () => {
    const response = await httpRequest({
      port: gateway.port,
      host: 'echo.example.com',
      headers: { 'cdn-loop': 'a, b, c, d, e' },
    });
    expect(response.status).toBe(508);
    expect(response.headers['gatehouse-error-code']).toBe('LOOP_DETECTED');
    const fewer = await httpRequest({ port: gateway.port, host: 'echo.example.com', headers: { 'cdn-loop': 'a, b' } });
    expect(fewer.status).toBe(200);
  });
});

describe('outbound rules at dial time', () => {
  const config = new TestConfigServer(undefined);
  let gateway: RunningDataplane;
  let echo: RunningServer;
  let jwksHits = 0;
  let jwks: RunningServer;

  beforeAll(async () => {
    echo = await startEchoUpstream();
    jwks = await listen((_req, res) => {
      jwksHits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    await config.start();
    const strict = compileOutboundRules([], []);
    if (!strict.ok) throw new Error('rules');
    // Loopback not allowed: the operator's list decides, not the URL's spelling.
    gateway = await startDataplane(config, { outboundRules: strict.rules });
    const internal = (id: string, upstream: string) =>
      config.upsertEndpoint({ id: `ep_${id}_internal`, url: `https://${id}.internal`, upstream_url: upstream });
    const cloud = (id: string, policy = forwardTo(`https://${id}.internal`)) =>
      config.upsertEndpoint({ id: `ep_${id}`, url: `https://${id}.example.com`, traffic_policy: policy });
    await internal('metadata', 'http://169.254.169.254/latest/meta-data');
    await internal('literal', echo.url);
    await internal('named', `http://localhost:${echo.port}`);
    await cloud('metadata');
    await cloud('literal');
    await cloud('named');
    const jwtPolicy = (jku: string) => `on_http_request:
  - actions:
      - type: jwt-validation
        config:
          issuer: { allow_list: [{ value: "https://issuer.test" }] }
          audience: { allow_list: [{ value: "gatehouse" }] }
          jws:
            allowed_algorithms: [RS256]
            keys: { sources: { additional_jkus: ["${jku}"] } }
      - type: deny
`;
    await cloud('jwks-closed-port', jwtPolicy('https://127.0.0.1:1/jwks.json'));
    await cloud('jwks-plain-http', jwtPolicy(`${jwks.url}/jwks.json`));
    await gateway.dataplane.sync.heartbeat();
  });

  afterAll(async () => {
    await gateway?.stop();
    await echo?.close();
    await jwks?.close();
    await config.close();
  });

  it.each([
    ['the metadata address', 'metadata.example.com'],
    ['a loopback literal the list does not allow', 'literal.example.com'],
    ['a name that resolves to loopback (checked after DNS)', 'named.example.com'],
  ])('refuses %s: 502 UPSTREAM_FORBIDDEN, the reason only in the log', async (_what, host) => {
    const response = await httpRequest({ port: gateway.port, host });
    expect(response.status).toBe(502);
    expect(response.headers['gatehouse-error-code']).toBe('UPSTREAM_FORBIDDEN');
    expect(response.body).not.toMatch(/127\.0\.0\.1|169\.254|GATEHOUSE_UPSTREAM/);
  });

  it('never shows a JWKS fetch error to the client or in the trace (no port-scan oracle)', async () => {
    const token = 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJ4In0.c2ln';
    const marker = uniqueId('jwks');
    const response = await httpRequest({
      port: gateway.port,
      host: 'jwks-closed-port.example.com',
      path: `/?m=${marker}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(401);
    expect(response.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|connect/i);
    const event = await gateway.sink.waitFor((candidate) => candidate.query === `m=${marker}`);
    const logged = JSON.stringify(event);
    expect(logged).not.toMatch(/ECONNREFUSED|127\.0\.0\.1:1|not allowed|https only/);
    expect(logged).toContain('the JWKS could not be fetched');
  });

  it('fetches JWKS over https only unless the allow list names the host: plain http is never dialed', async () => {
    jwksHits = 0;
    const response = await httpRequest({
      port: gateway.port,
      host: 'jwks-plain-http.example.com',
      headers: { authorization: 'Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJ4In0.c2ln' },
    });
    expect(response.status).toBe(401);
    expect(jwksHits).toBe(0);
  });
});
