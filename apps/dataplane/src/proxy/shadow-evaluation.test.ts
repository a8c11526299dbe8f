import { policyOptionsFor } from '@gatehouse/contracts';
import {
  compile,
  createPolicyContext,
  evaluate,
  parse,
  type ConnectionFacts,
  type RequestFacts,
} from '@gatehouse/traffic-policy';
import { createMemoryPorts } from '@gatehouse/traffic-policy/testing';
import { describe, expect, it } from 'vitest';
import type { LoadedEndpoint, ShadowPolicy } from '../config/runtime-config.js';
import type { RequestDecision } from './policy-chain.js';
import { copyRequestForShadow, ShadowEvaluator } from './shadow-evaluation.js';

/**
 * The shadow's judgement in process (issue 17 item 3), on the engine's memory ports: what it records for each way a
 * request phase can end, that its difference from the live decision is exactly right, and that neither its request
 * copy nor its counters reach the live request or the live ports. test/shadow-policy.test.ts covers the same through
 * a data plane with real sockets.
 */
const url = 'https://shadow.example.com';
const internalUrl = 'https://mcp.example.internal';
const forward = `
  - name: Forward
    actions:
      - type: forward-internal
        config: { url: "${internalUrl}" }
`;
const withRateLimit = (capacity: number) => `
on_http_request:
  - name: No admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions:
      - type: deny
        config: { status_code: 403 }
  - name: Per token
    actions:
      - type: rate-limit
        config:
          name: per-token
          algorithm: sliding_window
          capacity: ${capacity}
          rate: 60s
          bucket_key: [getReqBearerToken()]
${forward}`;

function compiled(source: string, type: 'cloud' | 'internal' = 'cloud') {
  return compile(parse(source), policyOptionsFor(type, type === 'cloud' ? url : 'https://svc.internal'));
}

function endpointOf(live: string, shadow: string, type: 'cloud' | 'internal' = 'cloud') {
  const shadowPolicy: ShadowPolicy = { sha256: 'a'.repeat(64), policy: compiled(shadow, type) };
  const endpoint = {
    facts: {
      id: 'ep_shadowed',
      url: type === 'cloud' ? url : 'https://svc.internal',
      host: 'shadow.example.com',
      type,
    },
    policy: compiled(live, type),
    shadow: shadowPolicy,
  } as unknown as LoadedEndpoint;
  return { endpoint, shadowPolicy };
}

const internalEndpoint = { facts: { id: 'ep_internal', url: internalUrl } } as unknown as LoadedEndpoint;
const connection: ConnectionFacts = {
  clientIp: '203.0.113.9',
  clientPort: 50_000,
  serverIp: '127.0.0.1',
  serverPort: 443,
};

function requestFor(path: string, token = 'token-1'): RequestFacts {
  return {
    method: 'POST',
    scheme: 'https',
    host: 'shadow.example.com',
    port: '',
    path,
    query: 'a=1',
    headers: new Map([
      ['host', ['shadow.example.com']],
      ['authorization', [`Bearer ${token}`]],
    ]),
    httpVersion: '1.1',
    receivedAtMs: 1_000,
  };
}

/** The live request phase as the data plane runs it (one hop, then the internal endpoint when it forwards). */
async function runLive(endpoint: LoadedEndpoint, request: RequestFacts, ports: ReturnType<typeof createMemoryPorts>) {
  const context = createPolicyContext({ endpoint: endpoint.facts, connection, request }, ports);
  const result = await evaluate(endpoint.policy!, 'on_http_request', context, ports);
  const hops = [{ endpoint, context }];
  const outcome = result.outcome;
  if (outcome.kind === 'forward') {
    hops.push({ endpoint: internalEndpoint, context: undefined as never });
    return {
      kind: 'upstream',
      target: internalEndpoint,
      decision: result.decision,
      hops,
    } as unknown as RequestDecision;
  }
  if (outcome.kind === 'respond')
    return {
      kind: 'respond',
      response: outcome.response,
      errorCode: outcome.errorCode,
      decision: result.decision,
      hops,
    } as RequestDecision;
  if (outcome.kind === 'close') return { kind: 'close', decision: result.decision, hops } as RequestDecision;
  return { kind: 'upstream', target: endpoint, decision: result.decision, hops } as unknown as RequestDecision;
}

async function judgeOne(
  evaluator: ShadowEvaluator,
  setup: ReturnType<typeof endpointOf>,
  ports: ReturnType<typeof createMemoryPorts>,
  request: RequestFacts,
) {
  const copy = copyRequestForShadow(request);
  const live = await runLive(setup.endpoint, request, ports);
  const { judged } = await evaluator.judge(setup.shadowPolicy, setup.endpoint, copy, connection, ports, live);
  return judged;
}

describe('ShadowEvaluator.judge', () => {
  it('agrees while both forward, then records the 429 the live policy would not have answered', async () => {
    const setup = endpointOf(withRateLimit(1_000), withRateLimit(2));
    const ports = createMemoryPorts({ internalEndpoints: [internalUrl] });
    const evaluator = new ShadowEvaluator();
    const agreeing = {
      sha256: 'a'.repeat(64),
      outcome: 'forward',
      status: null,
      forwarded_to: internalUrl,
      decision: { phase: 'on_http_request', rule_index: 2, rule_name: 'Forward', action: 'forward-internal' },
      differs: false,
      response: null,
    };
    expect(await judgeOne(evaluator, setup, ports, requestFor('/mcp'))).toEqual(agreeing);
    expect(await judgeOne(evaluator, setup, ports, requestFor('/mcp'))).toEqual(agreeing);
    expect(await judgeOne(evaluator, setup, ports, requestFor('/mcp'))).toEqual({
      sha256: 'a'.repeat(64),
      outcome: 'respond',
      status: 429,
      forwarded_to: null,
      decision: { phase: 'on_http_request', rule_index: 1, rule_name: 'Per token', action: 'rate-limit' },
      differs: true,
      response: null,
    });
    // Another bucket key is a bucket of its own in the shadow's counters too.
    expect((await judgeOne(evaluator, setup, ports, requestFor('/mcp', 'token-2'))).differs).toBe(false);
    // The shadow counted in its own store: the live store holds the live policy's buckets only (one per token).
    expect(ports.rateLimits.size).toBe(2);
  });

  it('records the same status as agreeing and another status as differing', async () => {
    const deny = (status: number) => `
on_http_request:
  - name: Deny
    actions:
      - type: deny
        config: { status_code: ${status} }
`;
    const ports = createMemoryPorts({ internalEndpoints: [internalUrl] });
    const same = await judgeOne(new ShadowEvaluator(), endpointOf(deny(403), deny(403)), ports, requestFor('/'));
    expect(same).toEqual({
      sha256: 'a'.repeat(64),
      outcome: 'respond',
      status: 403,
      forwarded_to: null,
      decision: { phase: 'on_http_request', rule_index: 0, rule_name: 'Deny', action: 'deny' },
      differs: false,
      response: null,
    });
    const other = await judgeOne(new ShadowEvaluator(), endpointOf(deny(403), deny(401)), ports, requestFor('/'));
    expect(other).toMatchObject({ outcome: 'respond', status: 401, differs: true });
    // The live policy forwards where the shadow denies, and the other way round.
    const forwarding = `on_http_request:${forward}`;
    expect(
      await judgeOne(new ShadowEvaluator(), endpointOf(forwarding, deny(403)), ports, requestFor('/')),
    ).toMatchObject({ outcome: 'respond', status: 403, differs: true });
    expect(
      await judgeOne(new ShadowEvaluator(), endpointOf(deny(403), forwarding), ports, requestFor('/')),
    ).toMatchObject({ outcome: 'forward', forwarded_to: internalUrl, differs: true });
  });

  it('records a shadow of an internal endpoint that lets the request through as continuing', async () => {
    const ports = createMemoryPorts({ internalEndpoints: [internalUrl] });
    // Only a redirect whose pattern does not match: internal policies may fall through to the upstream.
    const fallsThrough = `
on_http_request:
  - actions:
      - type: redirect
        config: { from: "^/never$", to: "/elsewhere" }
`;
    const passes = 'on_http_request:\n  - actions:\n      - type: log\n        config: { metadata: { a: b } }\n';
    expect(
      await judgeOne(new ShadowEvaluator(), endpointOf(passes, fallsThrough, 'internal'), ports, requestFor('/')),
    ).toEqual({
      sha256: 'a'.repeat(64),
      outcome: 'continue',
      status: null,
      forwarded_to: null,
      decision: null,
      differs: false,
      response: null,
    });
  });
});

describe('copyRequestForShadow', () => {
  it('copies every fact, with headers and the side-call budget of its own', () => {
    const request: RequestFacts = {
      ...requestFor('/mcp'),
      rawPath: '/mcp/',
      bodyReceivedAtMs: 1_001,
      body: new Uint8Array([1]),
      mcp: { kind: 'request', method: 'tools/list', tool: '', arguments: {}, protocolVersion: '', sessionId: '' },
      sideCalls: { made: 1 },
    };
    const copy = copyRequestForShadow(request);
    expect(copy).toEqual(request);
    copy.headers.get('authorization')!.push('changed');
    copy.headers.set('x-added', ['1']);
    copy.sideCalls!.made++;
    expect(request.headers.get('authorization')).toEqual(['Bearer token-1']);
    expect(request.headers.has('x-added')).toBe(false);
    expect(request.sideCalls).toEqual({ made: 1 });
  });

  it('gives a request no policy ran on yet its raw path and a fresh side-call budget', () => {
    const copy = copyRequestForShadow(requestFor('/mcp'));
    expect(copy.rawPath).toBe('/mcp');
    expect(copy.sideCalls).toEqual({ made: 0 });
  });

  it('keeps the shadow out of what the live policy does to the request, and the live request out of the shadow', async () => {
    const ports = createMemoryPorts({ internalEndpoints: [internalUrl] });
    const adds = (name: string) => `
on_http_request:
  - name: Stamp
    actions:
      - type: add-headers
        config: { headers: { ${name}: "1" } }
  - name: Only unstamped
    expressions: ["'x-live' in req.headers"]
    actions:
      - type: deny
        config: { status_code: 409 }
${forward}`;
    const setup = endpointOf(adds('x-live'), adds('x-shadow'));
    const request = requestFor('/');
    const copy = copyRequestForShadow(request);
    const live = await runLive(setup.endpoint, request, ports);
    // The live policy saw its own header (and denied on it); the shadow judges the request as it arrived.
    expect(live.kind).toBe('respond');
    const { judged } = await new ShadowEvaluator().judge(
      setup.shadowPolicy,
      setup.endpoint,
      copy,
      connection,
      ports,
      live,
    );
    expect(judged).toMatchObject({ outcome: 'forward', differs: true });
    expect(request.headers.has('x-shadow')).toBe(false);
    expect(copy.headers.has('x-live')).toBe(false);
    expect(copy.headers.get('x-shadow')).toEqual(['1']);
  });
});
