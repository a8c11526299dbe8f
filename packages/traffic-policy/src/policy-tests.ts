import type {
  AnyEndpointType,
  PolicyTestCase,
  PolicyTestCaseResult,
  PolicyTestMismatch,
  PolicyTestReport,
} from '@gatehouse/contracts';
import type { CompiledPolicy } from './compiled-policy.js';
import type { Decision, HeaderMap, PolicyContext } from './context.js';
import { applyResponseDirectives, createPolicyContext, evaluate } from './evaluate.js';
import { createIpCategoryIndex } from './ip.js';
import { detectMcp } from './mcp.js';
import {
  ManualClock,
  MemoryCircuitBreakers,
  MemoryRateLimitStore,
  OfflineIdentityProviderClient,
  policyTestSessionKeys,
  ipRecordOf,
  ScriptedHttpRequester,
  StaticIpIntelligence,
  StaticJwksFetcher,
} from './memory-ports.js';
import type { Jwk, PolicyPorts } from './ports.js';
import type { IpCategoryResolver } from './cel-values.js';

/**
 * Policy test cases (issue 17): each case runs against in-memory ports of its own (fresh rate-limit and circuit-breaker
 * state, a fixed clock), and a stand-in upstream that answers every forwarded request (and every http-request side
 * call) 200 with no headers and no body,
 * so "forwarded to X" and the response phase are observable without a network. Pure, so the dashboard runs the same
 * code in the browser as the API at save and the CLI before `apply`.
 */

export interface PolicyTestOptions {
  /** The endpoint the policy belongs to; the host of a case's `path` and `endpoint.*` in expressions. */
  endpoint?: { url: string; type: AnyEndpointType; id?: string };
  /** The install's IP categories; a case's `client_ip_categories` replaces them for that case. */
  ipCategories?: readonly { name: string; cidrs: readonly string[] }[];
  jwks?: ReadonlyMap<string, readonly Jwk[]>;
}

/** When a case gives no time: fixed, so a case's result never depends on when it runs. */
export const defaultPolicyTestTime = '2026-01-01T00:00:00Z';
export const defaultPolicyTestClientIp = '203.0.113.10';
const defaultEndpoint = { url: 'https://api.example.com', type: 'cloud' as const, id: 'ep_policy_test' };
/** The stand-in upstream's answer to every request a policy lets through. */
const upstreamStatus = 200;

interface Observed {
  status: number;
  decision: Decision | null;
  forwardedTo: string | null;
  requestHeaders: HeaderMap;
  responseHeaders: HeaderMap;
  body: string;
}

export async function runPolicyTests(
  policy: CompiledPolicy,
  cases: readonly PolicyTestCase[],
  options: PolicyTestOptions = {},
): Promise<PolicyTestReport> {
  const results: PolicyTestCaseResult[] = [];
  for (const testCase of cases) results.push(await runCase(policy, testCase, options));
  const passed = results.filter((result) => result.passed).length;
  return { passed, failed: results.length - passed, results };
}

async function runCase(
  policy: CompiledPolicy,
  testCase: PolicyTestCase,
  options: PolicyTestOptions,
): Promise<PolicyTestCaseResult> {
  const ports = portsFor(testCase, options);
  let first: Observed;
  try {
    first = await send(policy, testCase, options, ports);
  } catch (error) {
    // The engine fails closed on expression errors by itself; anything thrown here is a bug worth seeing in the report.
    return {
      name: testCase.name,
      passed: false,
      mismatches: [{ field: 'evaluation', expected: 'a result', actual: `an error: ${String(error)}` }],
      actual: { status: 0, decision: null, forwarded_to: null },
    };
  }
  const mismatches = compare(testCase, first);
  let first429: number | null | undefined;
  const limit = testCase.expect.rate_limited_after;
  if (limit !== undefined) {
    first429 = first.status === 429 ? 1 : null;
    for (let attempt = 2; attempt <= limit + 1 && first429 === null; attempt++) {
      const observed = await send(policy, testCase, options, ports);
      if (observed.status === 429) first429 = attempt;
    }
    if (first429 !== limit + 1)
      mismatches.push({
        field: 'rate_limited_after',
        expected: `request ${limit + 1} to be the first answered 429`,
        actual: first429 === null ? `no 429 in ${limit + 1} requests` : `request ${first429} was`,
      });
  }
  return {
    name: testCase.name,
    passed: mismatches.length === 0,
    mismatches,
    actual: {
      status: first.status,
      decision:
        first.decision === null
          ? null
          : {
              phase: first.decision.phase,
              rule_index: first.decision.rule_index,
              rule_name: first.decision.rule_name,
              action: first.decision.action,
            },
      forwarded_to: first.forwardedTo,
      ...(first429 === undefined ? {} : { first_429: first429 }),
    },
  };
}

function portsFor(testCase: PolicyTestCase, options: PolicyTestOptions): PolicyPorts {
  const clientIp = testCase.request.client_ip ?? defaultPolicyTestClientIp;
  const stated = testCase.request.client_ip_categories;
  const ipCategories: IpCategoryResolver =
    stated === undefined
      ? createIpCategoryIndex(options.ipCategories ?? [])
      : { categoriesOf: (address) => (address === clientIp ? stated : []) };
  // The case states what the geo database knows about its client; without it nothing is known ('' and 0).
  const geo = testCase.request.client_geo;
  return {
    clock: new ManualClock(Date.parse(testCase.request.time ?? defaultPolicyTestTime)),
    rateLimits: new MemoryRateLimitStore(),
    ipCategories,
    ...(geo === undefined ? {} : { ipIntelligence: new StaticIpIntelligence(new Map([[clientIp, ipRecordOf(geo)]])) }),
    jwks: new StaticJwksFetcher(options.jwks ?? new Map()),
    // Whether a target is registered is deployment state (validation warns about it); a test asserts where the policy
    // sends the request, so every target exists here.
    internalEndpoints: { has: () => true },
    circuitBreakers: new MemoryCircuitBreakers(),
    identityProviders: new OfflineIdentityProviderClient(),
    sessionKeys: policyTestSessionKeys,
    // Side calls get the stand-in upstream's answer too (200, no headers, empty body), so a case never needs a network.
    httpRequests: new ScriptedHttpRequester(),
  };
}

/** One request through every phase, as the data plane runs them, with the stand-in upstream. */
async function send(
  policy: CompiledPolicy,
  testCase: PolicyTestCase,
  options: PolicyTestOptions,
  ports: PolicyPorts,
): Promise<Observed> {
  const endpoint = { ...defaultEndpoint, ...options.endpoint };
  const endpointUrl = new URL(endpoint.url);
  const request = testCase.request;
  const target = new URL(request.url ?? `${endpointUrl.origin}${request.path ?? '/'}`);
  const headers: HeaderMap = new Map();
  for (const [name, value] of Object.entries(request.headers ?? {}))
    headers.set(name.toLowerCase(), Array.isArray(value) ? [...value] : [value]);
  const body = request.body === undefined ? undefined : new TextEncoder().encode(request.body);
  const mcp = detectMcp(headers, body);
  const scheme = target.protocol === 'http:' ? 'http' : 'https';
  const context = createPolicyContext(
    {
      endpoint: {
        id: endpoint.id ?? defaultEndpoint.id,
        url: endpoint.url,
        host: endpointUrl.hostname,
        type: endpoint.type,
      },
      connection: {
        clientIp: request.client_ip ?? defaultPolicyTestClientIp,
        clientPort: 50000,
        serverIp: '127.0.0.1',
        serverPort: scheme === 'https' ? 443 : 80,
        ...(scheme === 'https'
          ? { tls: { version: '1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', sni: target.hostname } }
          : {}),
      },
      request: {
        method: (request.method ?? 'GET').toUpperCase(),
        scheme,
        host: target.hostname,
        port: target.port || (scheme === 'https' ? '443' : '80'),
        path: target.pathname,
        query: target.search.replace(/^\?/, ''),
        headers,
        ...(body === undefined ? {} : { body }),
        ...(mcp === undefined ? {} : { mcp }),
      },
    },
    ports,
  );
  if (policy.phases.on_tcp_connect.length > 0) {
    const connect = await evaluate(policy, 'on_tcp_connect', context, ports);
    if (connect.outcome.kind !== 'continue') return closed(context, null, new Map());
  }
  const decided = await evaluate(policy, 'on_http_request', context, ports);
  const outcome = decided.outcome;
  if (outcome.kind === 'close') return closed(context, null, new Map());
  const forwardedTo = outcome.kind === 'forward' ? outcome.url : outcome.kind === 'continue' ? 'upstream' : null;
  // Snapshot before the response phase: what the upstream would have received.
  const requestHeaders: HeaderMap = new Map([...context.request.headers].map(([name, values]) => [name, [...values]]));
  let responseBody = '';
  if (outcome.kind === 'respond') {
    context.response = { status: outcome.response.status, headers: outcome.response.headers };
    responseBody = outcome.response.body;
  } else {
    context.response = { status: upstreamStatus, headers: new Map() };
    for (const key of context.directives.circuitBreakerKeys ?? [])
      ports.circuitBreakers.record(key, false, ports.clock.now());
  }
  applyResponseDirectives(context, context.response.headers);
  if (policy.phases.on_http_response.length > 0) {
    const answered = await evaluate(policy, 'on_http_response', context, ports);
    if (answered.outcome.kind === 'respond') {
      context.response = { status: answered.outcome.response.status, headers: answered.outcome.response.headers };
      responseBody = answered.outcome.response.body;
    } else if (answered.outcome.kind === 'close') return closed(context, forwardedTo, requestHeaders);
  }
  return {
    status: context.response.status,
    decision: context.decision ?? null,
    forwardedTo,
    requestHeaders,
    responseHeaders: context.response.headers,
    body: responseBody,
  };
}

/** A closed connection has no status; 0 stands for it (and reads as "closed" in a mismatch). */
function closed(context: PolicyContext, forwardedTo: string | null, requestHeaders: HeaderMap): Observed {
  return {
    status: 0,
    decision: context.decision ?? null,
    forwardedTo,
    requestHeaders,
    responseHeaders: new Map(),
    body: '',
  };
}

function compare(testCase: PolicyTestCase, observed: Observed): PolicyTestMismatch[] {
  const expected = testCase.expect;
  const mismatches: PolicyTestMismatch[] = [];
  const mismatch = (field: string, want: string, got: string) =>
    mismatches.push({ field, expected: want, actual: got });
  if (expected.status !== undefined && expected.status !== observed.status)
    mismatch('status', String(expected.status), statusText(observed.status));
  if (expected.decision !== undefined) {
    const want = expected.decision;
    const got = observed.decision;
    if (want === null) {
      if (got !== null) mismatch('decision', 'no deciding rule', describeDecision(got));
    } else if (
      got === null ||
      (want.phase !== undefined && want.phase !== got.phase) ||
      (want.action !== undefined && want.action !== got.action) ||
      (typeof want.rule === 'number' && want.rule !== got.rule_index) ||
      (typeof want.rule === 'string' && want.rule !== got.rule_name)
    ) {
      mismatch('decision', describeWantedDecision(want), got === null ? 'no deciding rule' : describeDecision(got));
    }
  }
  if (expected.forwarded_to !== undefined && expected.forwarded_to !== observed.forwardedTo)
    mismatch(
      'forwarded_to',
      expected.forwarded_to ?? 'not forwarded',
      observed.forwardedTo ?? `not forwarded (${statusText(observed.status)})`,
    );
  compareHeaders('request_headers', expected.request_headers, observed.requestHeaders, mismatch);
  compareHeaders('response_headers', expected.response_headers, observed.responseHeaders, mismatch);
  for (const [name, text] of Object.entries(expected.response_headers_contain ?? {})) {
    const value = observed.responseHeaders.get(name.toLowerCase())?.join(', ');
    if (value === undefined || !value.includes(text))
      mismatch(`response_headers_contain.${name}`, `to contain ${JSON.stringify(text)}`, quoteOrAbsent(value));
  }
  if (expected.body_contains !== undefined && !observed.body.includes(expected.body_contains))
    mismatch(
      'body_contains',
      `to contain ${JSON.stringify(expected.body_contains)}`,
      JSON.stringify(clip(observed.body)),
    );
  return mismatches;
}

function compareHeaders(
  field: string,
  expected: Readonly<Record<string, string | null>> | undefined,
  actual: HeaderMap,
  mismatch: (field: string, want: string, got: string) => void,
): void {
  for (const [name, want] of Object.entries(expected ?? {})) {
    const got = actual.get(name.toLowerCase())?.join(', ');
    if (want === null ? got !== undefined : got !== want)
      mismatch(`${field}.${name}`, want === null ? 'absent' : JSON.stringify(want), quoteOrAbsent(got));
  }
}

function quoteOrAbsent(value: string | undefined): string {
  return value === undefined ? 'absent' : JSON.stringify(clip(value));
}

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function statusText(status: number): string {
  return status === 0 ? 'the connection closed' : String(status);
}

function describeDecision(decision: Decision): string {
  const rule =
    decision.rule_name === null ? `rule ${decision.rule_index}` : `rule ${decision.rule_index} "${decision.rule_name}"`;
  return `${decision.action} by ${rule} in ${decision.phase}`;
}

function describeWantedDecision(want: { rule?: string | number; action?: string; phase?: string }): string {
  const parts = [want.action ?? 'any action'];
  if (want.rule !== undefined)
    parts.push(typeof want.rule === 'number' ? `by rule ${want.rule}` : `by rule "${want.rule}"`);
  if (want.phase !== undefined) parts.push(`in ${want.phase}`);
  return parts.join(' ');
}
