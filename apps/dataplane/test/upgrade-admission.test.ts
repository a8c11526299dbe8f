import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { createTestCertificate } from './helpers/tls-certificate.js';
import { closeWebSocket, requestUpgrade, startWebSocketEcho } from './helpers/websocket-echo.js';

const forwardToWebSocket = `  - actions: [{ type: forward-internal, config: { url: "https://ws.internal" } }]\n`;
const tcpConnect = (rule: 'allow' | 'deny') =>
  `on_tcp_connect:\n  - actions: [{ type: restrict-ips, config: { ${rule}: ["127.0.0.0/8"] } }]\non_http_request:\n${forwardToWebSocket}`;
const hangUp = /socket hang up|ECONNRESET/;

/** A GET on `agent`'s kept-alive connection; the local port tells which connection it went over. */
function getOnConnection(
  agent: Agent,
  port: number,
  host: string,
  path: string,
): Promise<{ status: number; localPort: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host }, agent }, (res) => {
      const localPort = res.socket.localPort ?? 0;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, localPort }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A WebSocket upgrade goes through the same admission as an HTTP request (`proxy/admit-request.ts`): the same secret
 * redaction of `log` metadata, the same connection facts (TLS included) and the same on_tcp_connect phase, once per
 * connection and endpoint. Each test compares the upgrade with the HTTP request it must match.
 */
describe('WebSocket upgrades are admitted like HTTP requests', () => {
  const config = new TestConfigServer(undefined);
  let websocket: Awaited<ReturnType<typeof startWebSocketEcho>>;
  let plain: RunningDataplane;
  let secure: RunningDataplane;

  beforeAll(async () => {
    websocket = await startWebSocketEcho();
    await config.start();
    await config.upsertEndpoint({ id: 'ep_ws_internal', url: 'https://ws.internal', upstream_url: websocket.url });
    await config.upsertEndpoint({
      id: 'ep_logged',
      url: 'https://logged.example.com',
      traffic_policy: `on_http_request:
  - actions: [{ type: log, config: { metadata: { who: "\${getReqHeader('authorization')[0]}", plain: "visible", cookie: "by name" } } }]
${forwardToWebSocket}`,
    });
    await config.upsertEndpoint({
      id: 'ep_secure',
      url: 'https://secure.example.com',
      traffic_policy: `on_http_request:
  - expressions: ["conn.tls.sni != 'secure.example.com'"]
    actions: [{ type: deny, config: { status_code: 403, body: "TLS facts missing" } }]
  - actions: [{ type: log, config: { metadata: { tls: "\${conn.tls.version} \${conn.tls.sni}" } } }]
${forwardToWebSocket}`,
    });
    await config.upsertEndpoint({
      id: 'ep_tcp_closed',
      url: 'https://tcp-closed.example.com',
      traffic_policy: tcpConnect('deny'),
    });
    await config.upsertEndpoint({
      id: 'ep_tcp_once',
      url: 'https://tcp-once.example.com',
      traffic_policy: tcpConnect('allow'),
    });
    plain = await startDataplane(config);
    secure = await startDataplane(config, { tls: await createTestCertificate('secure.example.com') });
  });

  afterAll(async () => {
    await plain?.stop();
    await secure?.stop();
    await config.close();
    await websocket?.close();
  });

  it('redacts secrets that a log action copied, in the upgrade request event as in the HTTP one', async () => {
    const upgrade = await requestUpgrade({
      port: plain.port,
      host: 'logged.example.com',
      path: '/logged-upgrade',
      headers: { authorization: 'Bearer top-secret-token' },
    });
    expect([upgrade.kind, upgrade.status]).toEqual(['upgraded', 101]);
    if (upgrade.kind === 'upgraded') await closeWebSocket(upgrade.socket);
    await httpRequest({
      port: plain.port,
      host: 'logged.example.com',
      path: '/logged-http',
      headers: { authorization: 'Bearer top-secret-token' },
    });
    const upgradeEvent = await plain.sink.waitFor((candidate) => candidate.path === '/logged-upgrade');
    const httpEvent = await plain.sink.waitFor((candidate) => candidate.path === '/logged-http');
    // By value (the Authorization header's text) and by key (a key named like a secret header), as on HTTP.
    expect(upgradeEvent.logs).toEqual([{ who: '[REDACTED]', plain: 'visible', cookie: '[REDACTED]' }]);
    expect(upgradeEvent.logs).toEqual(httpEvent.logs);
    expect(JSON.stringify(upgradeEvent)).not.toContain('top-secret-token');
  });

  it('gives policies the TLS facts of an upgrade on the HTTPS port', async () => {
    const upgrade = await requestUpgrade({
      port: secure.port,
      host: 'secure.example.com',
      path: '/tls-upgrade',
      tls: true,
    });
    // The deny rule would have answered 403 without conn.tls.sni.
    expect([upgrade.kind, upgrade.status]).toEqual(['upgraded', 101]);
    if (upgrade.kind === 'upgraded') await closeWebSocket(upgrade.socket);
    const event = await secure.sink.waitFor((candidate) => candidate.path === '/tls-upgrade');
    expect(event.logs).toEqual([{ tls: expect.stringMatching(/^1\.[23] secure\.example\.com$/) as unknown }]);
  });

  it('runs on_tcp_connect for an upgrade as for HTTP: a closing rule drops it before the upstream', async () => {
    const upgradesBefore = websocket.hosts.length;
    await expect(
      requestUpgrade({ port: plain.port, host: 'tcp-closed.example.com', path: '/tcp-upgrade' }),
    ).rejects.toThrow(hangUp);
    await expect(httpRequest({ port: plain.port, host: 'tcp-closed.example.com', path: '/tcp-http' })).rejects.toThrow(
      hangUp,
    );
    expect(websocket.hosts.length).toBe(upgradesBefore);
    const upgradeEvent = await plain.sink.waitFor((candidate) => candidate.path === '/tcp-upgrade');
    const httpEvent = await plain.sink.waitFor((candidate) => candidate.path === '/tcp-http');
    expect(upgradeEvent).toMatchObject({
      endpoint_id: 'ep_tcp_closed',
      status: 499,
      decision: { phase: 'on_tcp_connect', action: 'restrict-ips' },
    });
    expect(upgradeEvent.rules_matched).toEqual([
      { phase: 'on_tcp_connect', rule_index: 0, rule_name: null, endpoint_id: 'ep_tcp_closed' },
    ]);
    expect(upgradeEvent.decision).toEqual(httpEvent.decision);
    expect(upgradeEvent.rules_matched).toEqual(httpEvent.rules_matched);
  });

  it('runs on_tcp_connect once per connection and endpoint: not again for an upgrade on a kept-alive connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // The first request on the connection runs on_tcp_connect, which lets 127.0.0.1 through.
      const first = await getOnConnection(agent, plain.port, 'tcp-once.example.com', '/first');
      expect(first.status).toBe(426);
      // From now on the phase closes connections from 127.0.0.1 — but it already ran for this one.
      await config.upsertEndpoint({
        id: 'ep_tcp_once',
        url: 'https://tcp-once.example.com',
        traffic_policy: tcpConnect('deny'),
      });
      await plain.dataplane.sync.heartbeat();
      const upgrade = await requestUpgrade({
        port: plain.port,
        host: 'tcp-once.example.com',
        path: '/same-connection',
        agent,
      });
      expect([upgrade.kind, upgrade.status]).toEqual(['upgraded', 101]);
      if (upgrade.kind === 'upgraded') {
        expect(upgrade.socket.localPort).toBe(first.localPort);
        await closeWebSocket(upgrade.socket);
      }
      // A new connection runs the phase again, with the new rule.
      await expect(
        requestUpgrade({ port: plain.port, host: 'tcp-once.example.com', path: '/new-connection' }),
      ).rejects.toThrow(hangUp);
    } finally {
      agent.destroy();
    }
  });
});
