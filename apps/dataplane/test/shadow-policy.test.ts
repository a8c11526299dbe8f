import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, uniqueId, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';

/**
 * Shadow policies on a data plane with real sockets (issue 17 item 3): the shadow judges both phases beside the live
 * policy, enforces nothing, and the request event says where it would have decided differently. The response phase
 * runs on the upstream's answer as the live policy received it, never on (or into) what the client gets.
 */
describe('a shadow policy', () => {
  const config = new TestConfigServer(undefined);
  let upstream: Server;
  let gateway: RunningDataplane;
  const host = 'shadowed.example.com';

  // Live: forwards everything and stamps a header on responses. The shadow: the same, except that it denies /admin
  // and hides the upstream's 404s behind a 403 — both differences the event must show while the client sees the live
  // answers.
  const live = `
on_http_request:
  - actions:
      - type: forward-internal
        config: { url: "https://shadowed.internal" }
on_http_response:
  - actions:
      - type: add-headers
        config: { headers: { x-live: "yes" } }
`;
  const shadow = `
on_http_request:
  - name: No admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions:
      - type: deny
        config: { status_code: 403 }
  - actions:
      - type: forward-internal
        config: { url: "https://shadowed.internal" }
on_http_response:
  - name: Hide missing pages
    expressions: ["res.status_code == 404"]
    actions:
      - type: custom-response
        config: { status_code: 403, content: hidden }
  - name: Mark
    actions:
      - type: add-headers
        config: { headers: { x-shadow: "yes" } }
`;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/plain' });
      res.end(`upstream ${req.url}`);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    await config.start();
    await config.upsertEndpoint({
      id: uniqueId('ep_shadow_internal'),
      url: 'https://shadowed.internal',
      upstream_url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    });
    await config.upsertEndpoint({
      id: uniqueId('ep_shadowed'),
      url: `https://${host}`,
      traffic_policy: live,
      shadow_policy: shadow,
    });
    gateway = await startDataplane(config);
  });

  afterAll(async () => {
    await gateway?.stop();
    await config.close();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  const eventFor = (path: string) => gateway.sink.waitFor((event) => event.path === path);

  it('agrees on a request both policies forward and whose answer neither replaces', async () => {
    const response = await httpRequest({ port: gateway.port, host, path: '/ok' });
    expect(response.status).toBe(200);
    expect(response.headers['x-live']).toBe('yes');
    // The shadow's add-headers ran on its own copy: the client never sees it.
    expect(response.headers['x-shadow']).toBeUndefined();
    const event = await eventFor('/ok');
    expect(event.shadow).toMatchObject({
      outcome: 'forward',
      forwarded_to: 'https://shadowed.internal',
      differs: false,
    });
    expect(event.shadow?.response).toMatchObject({ outcome: 'continue', status: 200, differs: false });
    expect(event.shadow?.response?.decision).toBeNull();
  });

  it('records a request-phase difference without enforcing it', async () => {
    const response = await httpRequest({ port: gateway.port, host, path: '/admin' });
    expect(response.status).toBe(200);
    const event = await eventFor('/admin');
    expect(event.shadow).toMatchObject({ outcome: 'respond', status: 403, differs: true });
    expect(event.shadow?.decision).toMatchObject({ phase: 'on_http_request', rule_name: 'No admin' });
    // The request phase already differs: there is no upstream answer the shadow would have received to judge.
    expect(event.shadow?.response).toBeNull();
  });

  it("records a response-phase difference on the upstream's answer, leaving the live response as it was", async () => {
    const response = await httpRequest({ port: gateway.port, host, path: '/missing' });
    expect(response.status).toBe(404);
    expect(response.body).toBe('upstream /missing');
    expect(response.headers['x-live']).toBe('yes');
    const event = await eventFor('/missing');
    expect(event.status).toBe(404);
    expect(event.shadow).toMatchObject({ outcome: 'forward', differs: true });
    expect(event.shadow?.response).toMatchObject({
      outcome: 'respond',
      status: 403,
      differs: true,
      decision: {
        phase: 'on_http_response',
        rule_index: 0,
        rule_name: 'Hide missing pages',
        action: 'custom-response',
      },
    });
  });
});
