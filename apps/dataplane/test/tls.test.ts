import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import {
  createIssuedCertificate,
  createTestCertificate,
  createTestCertificateAuthority,
} from './helpers/tls-certificate.js';
import { startEchoUpstream, type EchoedRequest, type RunningServer } from './helpers/upstreams.js';

function httpsGet(
  port: number,
  host: string,
  path = '/',
  client: { cert: Buffer; key: Buffer } | undefined = undefined,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: host,
        headers: { host },
        rejectUnauthorized: false,
        agent: false,
        ...(client === undefined ? {} : { cert: client.cert, key: client.key }),
      },
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
  - expressions: ["req.url.path == '/client'"]
    actions: [{ type: custom-response, config: { status_code: 200, body: "[\${conn.tls.client.subject.common_name}] \${size(conn.tls.client.san.dns_names)}" } }]
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

  it('reads conn.tls.client.* empty when the listener asks for no client certificate', async () => {
    const response = await httpsGet(gateway.port, 'secure.example.com', '/client');
    expect(response).toEqual({ status: 200, body: '[] 0' });
  });

  it('tells the upstream the original scheme', async () => {
    const response = await httpsGet(gateway.port, 'secure.example.com', '/x');
    expect((JSON.parse(response.body) as EchoedRequest).headers['x-forwarded-proto']).toBe('https');
  });
});

describe('mutual TLS (DATAPLANE_TLS_CLIENT_CA)', () => {
  const config = new TestConfigServer(undefined);
  let gateway: RunningDataplane;
  let serviceA: { cert: Buffer; key: Buffer };
  let serviceB: { cert: Buffer; key: Buffer };
  let stranger: { cert: Buffer; key: Buffer };

  beforeAll(async () => {
    const authority = await createTestCertificateAuthority('Gatehouse Test CA');
    serviceA = await createIssuedCertificate(authority, '/CN=service-a/O=Example Corp/C=US', {
      subjectAltName:
        'DNS:service-a.example.com,DNS:a.example.com,email:a@example.com,IP:10.0.0.1,URI:spiffe://example/a',
      serialHex: 'B53017E79D4A5208',
    });
    serviceB = await createIssuedCertificate(authority, '/CN=service-b');
    // Same common name, issued by a CA the data plane does not trust.
    stranger = await createIssuedCertificate(await createTestCertificateAuthority('Other CA'), '/CN=service-a');
    await config.start();
    for (const service of ['service-a', 'service-b']) {
      await config.upsertEndpoint({
        id: `ep_${service.replace('-', '_')}`,
        url: `https://${service}.internal`,
        traffic_policy: `on_http_request:\n  - actions: [{ type: custom-response, config: { status_code: 200, body: "${service}" } }]\n`,
      });
    }
    // ngrok's published example (test/ngrok-corpus/examples-route-requests-16.yaml), plus a facts rule and a catch-all.
    await config.upsertEndpoint({
      id: 'ep_mtls',
      url: 'https://mtls.example.com',
      traffic_policy: `on_http_request:
  - expressions: ["req.url.path == '/facts'"]
    actions: [{ type: custom-response, config: { status_code: 200, body: "\${conn.tls.client.subject.common_name} \${conn.tls.client.subject.organization} \${conn.tls.client.subject.country} \${conn.tls.client.issuer.common_name} \${conn.tls.client.san.dns_names} \${conn.tls.client.san.email_addresses} \${conn.tls.client.san.ip_addresses} \${conn.tls.client.san.uris} \${conn.tls.client.serial_number} \${conn.tls.client.signature_algorithm} \${conn.tls.client.validity.not_before < conn.tls.client.validity.not_after} \${conn.tls.client.pem.startsWith('-----BEGIN CERTIFICATE-----')}" } }]
  - expressions:
      - conn.tls.client.subject.common_name == 'service-a'
    actions:
      - type: forward-internal
        config:
          url: https://service-a.internal
  - expressions:
      - conn.tls.client.subject.common_name == 'service-b'
    actions:
      - type: forward-internal
        config:
          url: https://service-b.internal
  - actions: [{ type: custom-response, config: { status_code: 403, body: "no route" } }]
`,
    });
    gateway = await startDataplane(config, {
      tls: { ...(await createTestCertificate('mtls.example.com')), clientCa: authority.cert },
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await config.close();
  });

  it("routes by the client certificate's common name, as ngrok's example does", async () => {
    expect(await httpsGet(gateway.port, 'mtls.example.com', '/', serviceA)).toEqual({ status: 200, body: 'service-a' });
    expect(await httpsGet(gateway.port, 'mtls.example.com', '/', serviceB)).toEqual({ status: 200, body: 'service-b' });
  });

  it("gives policies the verified certificate in ngrok's shapes", async () => {
    const response = await httpsGet(gateway.port, 'mtls.example.com', '/facts', serviceA);
    expect(response.status).toBe(200);
    expect(response.body).toBe(
      'service-a ["Example Corp"] ["US"] Gatehouse Test CA ["service-a.example.com","a.example.com"] ' +
        '["a@example.com"] ["10.0.0.1"] ["spiffe://example/a"] b53017e79d4a5208 SHA256-RSA true true',
    );
  });

  it('refuses, at the handshake, a client without a certificate or with one the CAs did not issue', async () => {
    for (const client of [undefined, stranger]) {
      const error = await httpsGet(gateway.port, 'mtls.example.com', '/', client).then(
        () => undefined,
        (failure: unknown) => failure as NodeJS.ErrnoException,
      );
      expect(error, 'the request must fail').toBeDefined();
      // TLS 1.3 clients learn of the refusal by the server's alert (or the reset that follows it), never a response.
      expect(`${error?.code} ${error?.message}`).toMatch(
        /ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED|ERR_SSL_TLSV1_ALERT_UNKNOWN_CA|ECONNRESET|alert/i,
      );
    }
  });
});
