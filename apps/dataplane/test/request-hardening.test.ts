import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { startEchoUpstream, type EchoedRequest, type RunningServer } from './helpers/upstreams.js';

/**
 * Issue 12, items 4, 8, 10 and 12, each reproduced over real sockets against a real data plane: a deny rule that throws
 * must not let the request through, a reflected query must not become HTML, an absolute-form request must reach the
 * upstream with the authority it was routed by, and `Expect: 100-continue` uploads (curl sends it above 1 MiB) must
 * work, while a declared oversized body is refused before it is sent.
 */

const run = promisify(execFile);
const maxBodyBytes = 64 * 1024;

const forward = `  - actions: [{ type: forward-internal, config: { url: https://echo.internal } }]\n`;

/** Writes `text` on a fresh connection and collects what comes back until `done` says so or the server closes. */
async function rawExchange(
  port: number,
  text: string,
  done: (received: string) => boolean = () => false,
  timeoutMs = 5_000,
): Promise<{ received: string; closed: boolean }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  let closed = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(), timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, closed });
    };
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (done(received)) finish();
    });
    socket.on('end', () => {
      closed = true;
      finish();
    });
    socket.on('error', reject);
    socket.write(text);
  });
}

/** The status line and header block of each response in `received`, in order (100 Continue included). */
function statusLines(received: string): string[] {
  return [...received.matchAll(/HTTP\/1\.1 (\d{3})[^\r]*\r\n/g)].map((match) => match[1]!);
}

const completeResponse = (received: string) => {
  const end = received.indexOf('\r\n\r\n', received.lastIndexOf('HTTP/1.1 '));
  if (end === -1) return false;
  const length = /content-length: (\d+)/i.exec(received.slice(received.lastIndexOf('HTTP/1.1 ')))?.[1];
  return length !== undefined && received.length >= end + 4 + Number(length);
};

describe('request hardening (issue 12)', () => {
  const config = new TestConfigServer(undefined);
  let echo: RunningServer;
  let gateway: RunningDataplane;
  let workdir: string;
  let upstreamRequests = 0;

  beforeAll(async () => {
    echo = await startEchoUpstream();
    echo.server.on('request', () => upstreamRequests++);
    workdir = await mkdtemp(join(tmpdir(), 'gatehouse-hardening-'));
    await config.start();
    await config.upsertEndpoint({ id: 'ep_echo_internal', url: 'https://echo.internal', upstream_url: echo.url });
    const endpoint = (name: string, policy: string) =>
      config.upsertEndpoint({ id: `ep_${name}`, url: `https://${name}.example.com`, traffic_policy: policy });
    await endpoint(
      'fragile',
      `on_http_request:\n  - name: deny without the key\n    expressions: ["req.headers['x-api-key'][0] != 'k'"]\n    actions: [{ type: deny }]\n${forward}`,
    );
    await endpoint(
      'fragile-template',
      `on_http_request:\n  - actions: [{ type: add-headers, config: { headers: { x-user: "\${getQueryParam('user')[0]}" } } }]\n${forward}`,
    );
    await endpoint(
      'fragile-response',
      `on_http_request:\n${forward}on_http_response:\n  - expressions: ["res.headers['x-absent'][0] == 'y'"]\n    actions: [{ type: custom-response, config: { body: replaced } }]\n`,
    );
    await endpoint(
      'fragile-connect',
      `on_tcp_connect:\n  - expressions: ["vars['absent'] == 'x'"]\n    actions: [{ type: close-connection }]\non_http_request:\n${forward}`,
    );
    await endpoint(
      'reflect',
      `on_http_request:\n  - expressions: ["req.url.path == '/deny'"]\n    actions: [{ type: deny, config: { status_code: 400, body: "\${unescapeUrl(req.url.query)}" } }]\n  - actions: [{ type: custom-response, config: { body: "\${unescapeUrl(req.url.query)}" } }]\n`,
    );
    await endpoint(
      'routed',
      `on_http_request:\n  - actions: [{ type: add-headers, config: { headers: { x-policy-saw: "\${req.host} \${getReqHeader('host').join(',')} \${req.url}" } } }]\n${forward}`,
    );
    await endpoint(
      'other',
      `on_http_request:\n  - actions: [{ type: custom-response, config: { body: wrong endpoint } }]\n`,
    );
    await endpoint('upload', `on_http_request:\n${forward}`);
    await endpoint('denied', `on_http_request:\n  - actions: [{ type: deny, config: { status_code: 403 } }]\n`);
    await endpoint(
      'reads-body',
      `on_http_request:\n  - actions: [{ type: request-body-find-replace, config: { replacements: [{ from: secret, to: "***" }] } }]\n${forward}`,
    );
    gateway = await startDataplane(config, { maxBodyBytes });
  });

  afterAll(async () => {
    await gateway?.stop();
    await config.close();
    await echo?.close();
    if (workdir !== undefined) await rm(workdir, { recursive: true, force: true });
  });

  describe('a policy expression that fails at runtime fails the request closed (item 4)', () => {
    it('answers 500 POLICY_RUNTIME_ERROR instead of passing a deny rule that threw, and logs the expression', async () => {
      const before = upstreamRequests;
      const response = await httpRequest({ port: gateway.port, host: 'fragile.example.com', path: '/no-key' });
      expect(response.status).toBe(500);
      expect(response.headers['gatehouse-error-code']).toBe('POLICY_RUNTIME_ERROR');
      expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
      // The client learns that the policy failed, not the policy text.
      expect(response.body).not.toContain('x-api-key');
      expect(upstreamRequests).toBe(before);

      const event = await gateway.sink.waitFor((candidate) => candidate.path === '/no-key');
      expect(event).toMatchObject({
        status: 500,
        error_code: 'POLICY_RUNTIME_ERROR',
        decision: { phase: 'on_http_request', rule_index: 0, rule_name: 'deny without the key', action: 'expressions' },
        runtime_errors: [{ expression: "req.headers['x-api-key'][0] != 'k'" }],
      });
      expect(event.trace?.[0]).toMatchObject({ rule_index: 0, matched: false, actions: [] });
      expect(event.trace?.[0]?.error).toContain("req.headers['x-api-key'][0] != 'k'");
    });

    it('still lets the right key through and denies a wrong one', async () => {
      const allowed = await httpRequest({
        port: gateway.port,
        host: 'fragile.example.com',
        headers: { 'x-api-key': 'k' },
      });
      expect(allowed.status).toBe(200);
      const denied = await httpRequest({
        port: gateway.port,
        host: 'fragile.example.com',
        headers: { 'x-api-key': 'guess' },
      });
      expect(denied.status).toBe(403);
    });

    it('fails a request whose ${} interpolation throws, before the upstream', async () => {
      const before = upstreamRequests;
      const failed = await httpRequest({ port: gateway.port, host: 'fragile-template.example.com', path: '/t' });
      expect(failed.status).toBe(500);
      expect(failed.headers['gatehouse-error-code']).toBe('POLICY_RUNTIME_ERROR');
      expect(upstreamRequests).toBe(before);
      const event = await gateway.sink.waitFor((candidate) => candidate.path === '/t');
      expect(event.decision).toMatchObject({ action: 'add-headers' });
      expect(event.trace?.[0]?.actions).toMatchObject([{ type: 'add-headers', result: 'responded' }]);
      expect(event.trace?.[0]?.actions[0]?.detail).toContain("getQueryParam('user')[0]");
      const passed = await httpRequest({
        port: gateway.port,
        host: 'fragile-template.example.com',
        path: '/t?user=ada',
      });
      expect((JSON.parse(passed.body) as EchoedRequest).headers['x-user']).toBe('ada');
    });

    it('replaces the response when an on_http_response rule throws', async () => {
      const response = await httpRequest({ port: gateway.port, host: 'fragile-response.example.com', path: '/r' });
      expect(response.status).toBe(500);
      expect(response.headers['gatehouse-error-code']).toBe('POLICY_RUNTIME_ERROR');
      expect(response.headers['x-upstream']).toBeUndefined();
      const event = await gateway.sink.waitFor((candidate) => candidate.path === '/r');
      expect(event).toMatchObject({ error_code: 'POLICY_RUNTIME_ERROR', decision: { phase: 'on_http_response' } });
    });

    it('answers 500 when an on_tcp_connect rule throws, instead of running the request phase', async () => {
      const before = upstreamRequests;
      const response = await httpRequest({ port: gateway.port, host: 'fragile-connect.example.com', path: '/c' });
      expect(response.status).toBe(500);
      expect(response.headers['gatehouse-error-code']).toBe('POLICY_RUNTIME_ERROR');
      expect(upstreamRequests).toBe(before);
    });
  });

  describe('policy responses take their content type from the template, not the rendered body (item 8)', () => {
    it('serves a reflected <script> query as text/plain, from custom-response and deny', async () => {
      const attack = `?${encodeURIComponent('<script>alert(document.cookie)</script>')}`;
      const reflected = await httpRequest({ port: gateway.port, host: 'reflect.example.com', path: `/x${attack}` });
      expect(reflected.body).toBe('<script>alert(document.cookie)</script>');
      expect(reflected.headers['content-type']).toBe('text/plain; charset=utf-8');
      const denied = await httpRequest({ port: gateway.port, host: 'reflect.example.com', path: `/deny${attack}` });
      expect(denied.status).toBe(400);
      expect(denied.headers['content-type']).toBe('text/plain; charset=utf-8');
    });
  });

  describe('absolute-form requests use the authority they were routed by (item 10)', () => {
    it('sends the routed authority upstream, and the policy sees the same host, not the client Host', async () => {
      const { received } = await rawExchange(
        gateway.port,
        'GET http://routed.example.com/x?y=1 HTTP/1.1\r\nHost: other.example.com\r\nConnection: close\r\n\r\n',
        completeResponse,
      );
      expect(statusLines(received)).toEqual(['200']);
      const echoed = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)) as EchoedRequest;
      expect(echoed.url).toBe('/x?y=1');
      expect(echoed.headers.host).toBe('routed.example.com');
      expect(echoed.headers['x-forwarded-host']).toBe('routed.example.com');
      expect(echoed.headers['x-policy-saw']).toBe(
        'routed.example.com routed.example.com http://routed.example.com/x?y=1',
      );
    });
  });

  describe('Expect: 100-continue and declared body sizes (item 12)', () => {
    it('uploads 2 MiB with curl (which sends Expect: 100-continue above 1 MiB) to the upstream', async () => {
      const file = join(workdir, 'upload.bin');
      const payload = Buffer.alloc(2 * 1024 * 1024, 'a');
      await writeFile(file, payload);
      const { stdout, stderr } = await run(
        'curl',
        [
          '-sS',
          '-v',
          '--max-time',
          '20',
          '-H',
          'Host: upload.example.com',
          '-H',
          'Content-Type: application/octet-stream',
          '--data-binary',
          `@${file}`,
          '-w',
          '\n%{http_code}',
          `http://127.0.0.1:${gateway.port}/upload`,
        ],
        { maxBuffer: 32 * 1024 * 1024 },
      );
      expect(stderr).toMatch(/> Expect: 100-continue/i);
      expect(stderr).toMatch(/< HTTP\/1\.1 100 Continue/i);
      const status = stdout.slice(stdout.lastIndexOf('\n') + 1);
      expect(status).toBe('200');
      const echoed = JSON.parse(stdout.slice(0, stdout.lastIndexOf('\n'))) as EchoedRequest;
      expect(echoed.body.length).toBe(payload.length);
      // The gateway answered the expectation itself; the upstream got the body without it.
      expect(echoed.headers.expect).toBeUndefined();
    });

    it('sends 100 Continue, then forwards the body, over a raw socket', async () => {
      const socket = connect(gateway.port, '127.0.0.1');
      await once(socket, 'connect');
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      socket.write(
        'POST /raw HTTP/1.1\r\nHost: upload.example.com\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
      );
      await waitUntil(() => received.includes('\r\n\r\n'));
      expect(received).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
      socket.write('hello');
      await waitUntil(() => completeResponse(received));
      socket.destroy();
      expect(statusLines(received)).toEqual(['100', '200']);
      expect((JSON.parse(received.slice(received.lastIndexOf('\r\n\r\n') + 4)) as EchoedRequest).body).toBe('hello');
    });

    it('asks for the body before a policy runs (it is checked for MCP), and denies once its first bytes arrive', async () => {
      // Every body is looked at for a JSON-RPC message before any rule runs, so the gateway wants the body first;
      // a body that is not JSON is judged from its first bytes, and the rest is never needed for the 403.
      const socket = connect(gateway.port, '127.0.0.1');
      await once(socket, 'connect');
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      socket.write(
        'POST /big HTTP/1.1\r\nHost: denied.example.com\r\nContent-Length: 2097152\r\nExpect: 100-continue\r\n\r\n',
      );
      await waitUntil(() => received.includes('\r\n\r\n'));
      expect(received).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
      socket.write('not json, the first of 2 MiB');
      await waitUntil(() => statusLines(received).length === 2);
      socket.destroy();
      expect(statusLines(received)).toEqual(['100', '403']);
    });

    it('refuses a declared Content-Length over the limit with 413 before any byte of the body (with Expect)', async () => {
      const { received } = await rawExchange(
        gateway.port,
        `POST /declared HTTP/1.1\r\nHost: reads-body.example.com\r\nContent-Length: ${10 * maxBodyBytes}\r\nExpect: 100-continue\r\n\r\n`,
        completeResponse,
      );
      expect(statusLines(received)).toEqual(['413']);
      expect(received).toMatch(/gatehouse-error-code: REQUEST_BODY_TOO_LARGE/i);
    });

    it('refuses a declared Content-Length over the limit with 413 at once (without Expect)', async () => {
      // Only the headers are sent: the answer must come without waiting for the body.
      const { received } = await rawExchange(
        gateway.port,
        `POST /declared-plain HTTP/1.1\r\nHost: reads-body.example.com\r\nContent-Length: ${10 * maxBodyBytes}\r\n\r\n`,
        completeResponse,
      );
      expect(statusLines(received)).toEqual(['413']);
      expect(received).toMatch(/gatehouse-error-code: REQUEST_BODY_TOO_LARGE/i);
    });

    it('still reads a small body for a policy after 100 Continue', async () => {
      const socket = connect(gateway.port, '127.0.0.1');
      await once(socket, 'connect');
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      socket.write(
        'POST /small HTTP/1.1\r\nHost: reads-body.example.com\r\nContent-Length: 13\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
      );
      await waitUntil(() => received.includes('\r\n\r\n'));
      socket.write('my secret=42');
      socket.write('!');
      await waitUntil(() => completeResponse(received));
      socket.destroy();
      expect(statusLines(received)).toEqual(['100', '200']);
      expect((JSON.parse(received.slice(received.lastIndexOf('\r\n\r\n') + 4)) as EchoedRequest).body).toBe(
        'my ***=42!',
      );
    });

    it('answers 417 EXPECTATION_FAILED to an expectation other than 100-continue', async () => {
      const { received } = await rawExchange(
        gateway.port,
        'POST /odd HTTP/1.1\r\nHost: upload.example.com\r\nContent-Length: 5\r\nExpect: 200-ok\r\n\r\n',
        completeResponse,
      );
      expect(statusLines(received)).toEqual(['417']);
      expect(received).toMatch(/gatehouse-error-code: EXPECTATION_FAILED/i);
    });
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
