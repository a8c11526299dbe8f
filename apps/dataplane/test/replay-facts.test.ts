import { redactedFingerprintPrefix, requestEventSchema } from '@gatehouse/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { eventually, startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { listen, type RunningServer } from './helpers/upstreams.js';

/**
 * Replay facts (issue 17 item 2) over real sockets: what the data plane records is the request as the client sent it
 * (before the policy changed it), with secret header values as fingerprints and MCP facts without arguments.
 */
describe('replay facts in request events', () => {
  const config = new TestConfigServer(undefined);
  let gateway: RunningDataplane;
  let upstream: RunningServer;

  beforeAll(async () => {
    upstream = await listen((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    await config.start();
    await config.upsertEndpoint({
      id: 'ep_replay_internal',
      url: 'https://replay.internal',
      upstream_url: upstream.url,
    });
    await config.upsertEndpoint({
      id: 'ep_replay',
      url: 'https://replay.example.com',
      traffic_policy: `on_http_request:
  - actions:
      - type: add-headers
        config: { headers: { x-added-by-policy: "yes" } }
      - type: remove-headers
        config: { headers: [x-strip-me] }
      - type: forward-internal
        config: { url: https://replay.internal }
`,
    });
    gateway = await startDataplane(config);
  });

  afterAll(async () => {
    await gateway?.stop();
    await config.close();
    await upstream?.close();
  });

  it('records what the client sent, fingerprints secrets and keeps MCP facts without arguments', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'search', arguments: { query: 'private words' } },
    });
    const send = (authorization: string) =>
      httpRequest({
        port: gateway.port,
        host: 'replay.example.com',
        method: 'POST',
        path: '/mcp?trace=1',
        headers: {
          'content-type': 'application/json',
          authorization,
          cookie: 'session=cookie-secret-5678',
          'x-strip-me': 'kept in the recording',
          'x-tag': ['one', 'two'],
        },
        body,
      });
    expect((await send('Bearer sk-live-secret-token-1234')).status).toBe(200);
    expect((await send('Bearer sk-live-secret-token-1234')).status).toBe(200);
    expect((await send('Bearer another-token-5678')).status).toBe(200);
    const events = await eventually(() => {
      const found = gateway.sink.events.filter((candidate) => candidate.endpoint_id === 'ep_replay');
      return found.length >= 3 ? found : undefined;
    });
    const [first, second, third] = events.map((event) => requestEventSchema.parse(event).replay!);
    expect(first).toMatchObject({
      method: 'POST',
      scheme: 'http',
      host: 'replay.example.com',
      path: '/mcp',
      query: 'trace=1',
      client_ip: '127.0.0.1',
      tls: null,
      mcp: { kind: 'request', method: 'tools/call', tool: 'search', names: 'tools' },
    });
    const headers = new Map<string, string[]>();
    for (const [name, value] of first!.headers) headers.set(name, [...(headers.get(name) ?? []), value]);
    // As sent: the header the policy removed is there, the one it added is not.
    expect(headers.get('x-strip-me')).toEqual(['kept in the recording']);
    expect(headers.get('x-tag')).toEqual(['one', 'two']);
    expect(headers.has('x-added-by-policy')).toBe(false);
    // Secrets: the scheme stays readable, the value is a fingerprint, equal values give equal fingerprints.
    expect(headers.get('authorization')![0]).toMatch(new RegExp(`^Bearer ${redactedFingerprintPrefix}[0-9a-f]{16}$`));
    expect(headers.get('cookie')![0]).toMatch(new RegExp(`^${redactedFingerprintPrefix}[0-9a-f]{16}$`));
    const authorizationOf = (facts: typeof first) => facts!.headers.find(([name]) => name === 'authorization')![1];
    expect(authorizationOf(second)).toBe(authorizationOf(first));
    expect(authorizationOf(third)).not.toBe(authorizationOf(first));
    const text = JSON.stringify(events);
    for (const secret of ['sk-live-secret-token-1234', 'cookie-secret-5678', 'another-token-5678', 'private words'])
      expect(text).not.toContain(secret);
  });
});
