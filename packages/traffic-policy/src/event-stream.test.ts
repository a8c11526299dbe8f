import { describe, expect, it } from 'vitest';
import { compile } from './compile.js';
import { createPolicyContext, evaluate, evaluateStreamEvent } from './evaluate.js';
import { createMemoryPorts } from './testing/index.js';

/** on_event_stream_message in the engine: one run per event, `sse.*` that event, budgets and traces per event. */
describe('evaluateStreamEvent', () => {
  const policy = compile(
    `on_event_stream_message:
  - expressions: ["sse.event == 'delta' && res.status_code == 200"]
    actions:
      - type: sse-find-replace
        config: { replacements: [{ from: "(\\\\d+)", to: "#\${sse.id}-$1" }] }
  - expressions: ["sse.data.contains('boom') && getReqHeader('x-missing')[0] == 'y'"]
    actions:
      - type: sse-find-replace
        config: { replacements: [{ field: retry, from: "1", to: "2" }] }
`,
    { endpointType: 'internal' },
  );
  const ports = createMemoryPorts();
  const context = createPolicyContext(
    {
      endpoint: { id: 'ep_1', url: 'https://api.example.internal', host: 'api.example.internal', type: 'internal' },
      connection: { clientIp: '203.0.113.10', clientPort: 1, serverIp: '127.0.0.1', serverPort: 443 },
      request: {
        method: 'GET',
        scheme: 'https',
        host: 'api.example.internal',
        port: '443',
        path: '/',
        query: '',
        headers: new Map(),
      },
    },
    ports,
  );
  const response = { status: 200, headers: new Map([['content-type', ['text/event-stream']]]) };

  it('runs the rules against each event', async () => {
    const delta = await evaluateStreamEvent(
      policy,
      context,
      response,
      { event: 'delta', data: 'n 42', id: '7', retry: '' },
      ports,
    );
    expect(delta.outcome.kind).toBe('continue');
    expect(delta.replacements.map((replacement) => 'x 42'.replace(replacement.from, replacement.to))).toEqual([
      'x #7-42',
    ]);
    const other = await evaluateStreamEvent(
      policy,
      context,
      response,
      { event: 'ping', data: '1', id: '', retry: '' },
      ports,
    );
    expect(other.replacements).toEqual([]);
    // The request's own context is untouched: no traces accumulate over a long stream.
    expect(context.trace).toEqual([]);
  });

  it('fails closed on a runtime error in a rule', async () => {
    const failed = await evaluateStreamEvent(
      policy,
      context,
      response,
      { event: '', data: 'boom', id: '', retry: '' },
      ports,
    );
    expect(failed.outcome).toMatchObject({ kind: 'respond', errorCode: 'POLICY_RUNTIME_ERROR' });
  });

  it('is not a phase the request path runs', async () => {
    const result = await evaluate(policy, 'on_http_request', context, ports);
    expect(result.outcome.kind).toBe('continue');
  });
});
