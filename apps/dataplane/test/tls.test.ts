import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { createTestCertificate } from './helpers/tls-certificate.js';
import { startEchoUpstream, type EchoedRequest, type RunningServer } from './helpers/upstreams.js';

function httpsGet(port: number, host: string, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, servername: host, headers: { host }, rejectUnauthorized: false, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS traffic port', () => {
  const config = new TestConfigServer(undefined);
  let echo: RunningServer;
  let gateway: RunningDataplane;

  beforeAll(async () => {
    echo = await startEchoUpstream();
    await config.start();
    await config.upsertEndpoint({ id: 'ep_echo_internal', url: 'https://echo.internal', upstream_url: echo.url });
    await config.upsertEndpoint({
      id: 'ep_secure',
      url: 'https://secure.example.com',
      traffic_policy: `on_http_request:
  - expressions: ["req.url.path == '/facts'"]
    actions: [{ type: custom-response, config: { status_code: 200, body: "\${req.url.scheme} \${conn.tls.sni} \${conn.tls.version} \${conn.ts.start} \${conn.tls.version >= '1.2'}" } }]
  - actions: [{ type: forward-internal, config: { url: "https://echo.internal" } }]
`,
    });
    gateway = await startDataplane(config, { tls: await createTestCertificate('secure.example.com') });
  });

  afterAll(async () => {
    await gateway?.stop();
    await config.close();
    await echo?.close();
  });

  it('serves HTTPS and gives policies the TLS facts, the version as ngrok writes it', async () => {
    const before = Date.now();
    const response = await httpsGet(gateway.port, 'secure.example.com', '/facts');
    expect(response.status).toBe(200);
    // ngrok's minimum-TLS rules compare `conn.tls.version < '1.3'`: Node's `TLSv1.3` would never match.
    const match = /^https secure\.example\.com 1\.[23] (\S+) true$/.exec(response.body);
    expect(match, response.body).not.toBeNull();
    // conn.ts.start: when this connection's handshake completed, on the data plane's clock.
    const started = Date.parse(match![1]!);
    expect(started).toBeGreaterThanOrEqual(before - 1);
    expect(started).toBeLessThanOrEqual(Date.now());
  });

  it('tells the upstream the original scheme', async () => {
    const response = await httpsGet(gateway.port, 'secure.example.com', '/x');
    expect((JSON.parse(response.body) as EchoedRequest).headers['x-forwarded-proto']).toBe('https');
  });
});
