import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest, openStream } from './helpers/http.js';
import { listen, type RunningServer } from './helpers/upstreams.js';

/**
 * on_event_stream_message over real sockets (issue 15, item 3): the rules run for each server-sent event as it
 * arrives, with `sse.*` describing that event, and the event leaves before the upstream has sent the next one.
 */
describe('on_event_stream_message', () => {
  const config = new TestConfigServer(undefined);
  let gateway: RunningDataplane;
  let upstream: RunningServer;
  /** Resolved by a test to let the upstream send the rest of its stream. */
  let release: () => void = () => {};

  beforeAll(async () => {
    upstream = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('event: greeting\ndata: hello secret-1\nid: 1\n\n');
      new Promise<void>((resolve) => (release = resolve))
        .then(() => {
          res.write('event: delta\ndata: my ssn is 123-45-6789\ndata: mail me at jo@example.com\nid: 2\n\n');
          res.write(': keep-alive\n\n');
          res.end('event: done\ndata: [DONE]\n\n');
        })
        .catch(() => res.destroy());
    });
    await config.start();
    gateway = await startDataplane(config);
    await config.upsertEndpoint({
      id: 'ep_events_internal',
      url: 'https://events.internal',
      upstream_url: upstream.url,
    });
    const forward = `on_http_request:\n  - actions:\n      - type: forward-internal\n        config: { url: https://events.internal }\n`;
    // ngrok's documented example (SSN and e-mail redaction) as published, plus a rule that reads the event.
    await config.upsertEndpoint({
      id: 'ep_redact',
      url: 'https://redact.example.com',
      traffic_policy: `${forward}on_event_stream_message:
  - actions:
      - type: sse-find-replace
        config:
          replacements:
            - field: data
              from: "\\\\d{3}-\\\\d{2}-\\\\d{4}"
              to: "[SSN REDACTED]"
            - field: data
              from: "[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\\\.[a-zA-Z]{2,}"
              to: "[EMAIL REDACTED]"
  - expressions: ["sse.event == 'greeting' && sse.id == '1'"]
    actions:
      - type: sse-find-replace
        config:
          replacements:
            - from: "secret-(\\\\d)"
              to: "hidden-$1-\${res.status_code}"
`,
    });
    // Fails at runtime on every event whose data does not start with "x": the stream must be cut, not passed on.
    await config.upsertEndpoint({
      id: 'ep_failing',
      url: 'https://failing.example.com',
      traffic_policy: `${forward}on_event_stream_message:
  - expressions: ["sse.data.startsWith('x') || getReqHeader('x-missing')[0] == 'y'"]
    actions:
      - type: sse-find-replace
        config: { replacements: [{ from: "hello", to: "bye" }] }
`,
    });
    await gateway.dataplane.sync.heartbeat();
  }, 30_000);

  afterAll(async () => {
    release();
    await gateway?.stop();
    await upstream?.close();
    await config.close();
  });

  it('rewrites each event by rules that read it, and sends it before the upstream sends the next', async () => {
    const stream = await openStream({ port: gateway.port, path: '/', headers: { host: 'redact.example.com' } });
    expect(stream.contentType).toBe('text/event-stream');
    // The upstream is still holding the rest: this event went out on its own.
    expect(stream.firstChunk).toBe('event: greeting\ndata: hello hidden-1-200\nid: 1\n\n');
    release();
    const body = await stream.body;
    expect(body).toBe(
      'event: greeting\ndata: hello hidden-1-200\nid: 1\n\n' +
        'event: delta\ndata: my ssn is [SSN REDACTED]\ndata: mail me at [EMAIL REDACTED]\nid: 2\n\n' +
        ': keep-alive\n\n' +
        'event: done\ndata: [DONE]\n\n',
    );
  });

  it('cuts the stream when a rule fails at runtime (fail closed) and records POLICY_RUNTIME_ERROR', async () => {
    const received = await httpRequest({ port: gateway.port, host: 'failing.example.com', timeoutMs: 5_000 }).then(
      (response) => response.body,
      (error: unknown) => `cut: ${String(error)}`,
    );
    expect(received).not.toContain('hello');
    const event = await gateway.sink.waitFor((candidate) => candidate.host === 'failing.example.com');
    expect(event.error_code).toBe('POLICY_RUNTIME_ERROR');
  });
});
