import {
  replayExamplesPerGroup,
  type RecordedRequest,
  type ReplayGroup,
  type ReplayOutcome,
} from '@gatehouse/contracts';
import { callerOf } from './caller.js';
import type { CompiledPolicy } from './compiled-policy.js';
import type { HeaderMap, McpFacts } from './context.js';
import type { IpCategoryResolver, IpIntelligence, IpIntelligenceRecord } from './cel-values.js';
import { createPolicyContext, evaluate } from './evaluate.js';
import {
  ManualClock,
  MemoryCircuitBreakers,
  MemoryRateLimitStore,
  OfflineIdentityProviderClient,
  policyTestSessionKeys,
  ipRecordOf,
  ScriptedHttpRequester,
  StaticJwksFetcher,
} from './memory-ports.js';
import type { PolicyPorts } from './ports.js';

/**
 * Replay (issue 17 item 2): a policy evaluated over recorded requests, oldest first, with the engine's memory ports.
 * One rate-limit store and one set of circuit breakers serve the whole run and the clock is set to each request's
 * time, so a draft's rate limits count the recorded callers the way the data plane would have. Only the phases that
 * run before the upstream (on_tcp_connect, on_http_request) are replayed: a recording has no response to judge.
 */

export interface ReplayedRequest {
  /** The request-log id. */
  id: string;
  /** Epoch milliseconds when the request arrived. */
  timeMs: number;
  facts: RecordedRequest;
}

export interface ReplayEndpoint {
  id: string;
  url: string;
  host: string;
  type: Parameters<typeof createPolicyContext>[0]['endpoint']['type'];
}

export interface ReplayResult {
  outcome: ReplayOutcome;
  /** The caller's credential fingerprint when a rate-limit step keyed it (sha256:…); only computed for 429s. */
  rateLimitKey: string | null;
}

export interface ReplayOptions {
  /**
   * Awaited after every `pauseEvery` requests (default 256): a server passes a macrotask yield so a long replay does
   * not hold its event loop; the browser passes nothing.
   */
  pause?: () => Promise<void>;
  pauseEvery?: number;
}

/** Runs `policy` over `requests` (oldest first) with fresh in-memory state; one result per request, in order. */
export async function replayRequests(
  policy: CompiledPolicy,
  requests: readonly ReplayedRequest[],
  endpoint: ReplayEndpoint,
  options: ReplayOptions = {},
): Promise<ReplayResult[]> {
  const pauseEvery = options.pauseEvery ?? 256;
  const clock = new ManualClock(requests[0]?.timeMs ?? 0);
  // The categories recorded with each request are the truth for its time; the install's lists may have changed since.
  let current: { ip: string; categories: readonly string[]; geo: IpIntelligenceRecord | undefined } = {
    ip: '',
    categories: [],
    geo: undefined,
  };
  const ipCategories: IpCategoryResolver = {
    categoriesOf: (address) => (address === current.ip ? current.categories : []),
  };
  // Likewise the geo/AS record kept with each request (recordings from before it was kept read as unknown).
  const ipIntelligence: IpIntelligence = {
    lookup: (address) => (address === current.ip ? current.geo : undefined),
  };
  const ports: PolicyPorts = {
    clock,
    rateLimits: new MemoryRateLimitStore(),
    ipCategories,
    ipIntelligence,
    // Recordings hold no JWKS; a jwt-validation step fails as it would with its JWKS unreachable.
    jwks: new StaticJwksFetcher(new Map()),
    internalEndpoints: { has: () => true },
    circuitBreakers: new MemoryCircuitBreakers(),
    // A replay never reaches the network: sign-in cannot complete (recordings hold no session cookies that open here)
    // and side calls get the same stand-in answer as in policy tests (200, no headers, empty body).
    identityProviders: new OfflineIdentityProviderClient(),
    sessionKeys: policyTestSessionKeys,
    httpRequests: new ScriptedHttpRequester(),
  };
  const hasConnectRules = policy.phases.on_tcp_connect.length > 0;
  const results: ReplayResult[] = [];
  for (const request of requests) {
    if (options.pause !== undefined && results.length > 0 && results.length % pauseEvery === 0) await options.pause();
    const facts = request.facts;
    clock.set(request.timeMs);
    current = {
      ip: facts.client_ip,
      categories: facts.client_ip_categories,
      geo: facts.client_geo === undefined ? undefined : ipRecordOf(facts.client_geo),
    };
    const context = createPolicyContext(
      {
        endpoint,
        connection: {
          clientIp: facts.client_ip,
          clientPort: 0,
          serverIp: '',
          serverPort: facts.server_port,
          ...(facts.tls === null
            ? {}
            : { tls: { version: facts.tls.version, cipherSuite: facts.tls.cipher_suite, sni: facts.tls.sni } }),
          ...(facts.connection_started_at_ms === undefined ? {} : { startedAtMs: facts.connection_started_at_ms }),
        },
        request: {
          method: facts.method,
          scheme: facts.scheme,
          host: facts.host,
          port: facts.port,
          path: facts.path,
          query: facts.query,
          headers: headerMapOf(facts.headers),
          receivedAtMs: request.timeMs,
          ...(facts.http_version === undefined ? {} : { httpVersion: facts.http_version }),
          ...(facts.mcp === null ? {} : { mcp: mcpFactsOf(facts.mcp) }),
        },
      },
      ports,
    );
    let outcome: ReplayOutcome | undefined;
    if (hasConnectRules) {
      const connect = await evaluate(policy, 'on_tcp_connect', context, ports);
      if (connect.outcome.kind === 'respond')
        outcome = responded(connect.outcome.response.status, context.decision ?? null);
      else if (connect.outcome.kind !== 'continue') outcome = closed(context.decision ?? null);
    }
    if (outcome === undefined) {
      const decided = await evaluate(policy, 'on_http_request', context, ports);
      const result = decided.outcome;
      const decision = context.decision ?? null;
      if (result.kind === 'respond') outcome = responded(result.response.status, decision);
      else if (result.kind === 'close') outcome = closed(decision);
      else {
        outcome = forwarded(result.kind === 'forward' ? result.url : 'upstream', decision);
        // The stand-in upstream answered: a circuit breaker sees a success, as it would for a 2xx.
        for (const key of context.directives.circuitBreakerKeys ?? [])
          ports.circuitBreakers.record(key, false, request.timeMs);
      }
    }
    const rateLimitKey = outcome.status === 429 ? (callerOf([context])?.credential_fingerprint ?? null) : null;
    results.push({ outcome, rateLimitKey });
  }
  return results;
}

function headerMapOf(lines: readonly (readonly [string, string])[]): HeaderMap {
  const headers: HeaderMap = new Map();
  for (const [name, value] of lines) {
    const key = name.toLowerCase();
    const values = headers.get(key);
    if (values === undefined) headers.set(key, [value]);
    else values.push(value);
  }
  return headers;
}

type RecordedMcp = NonNullable<RecordedRequest['mcp']>;

function mcpFactsOf(mcp: RecordedMcp | Omit<RecordedMcp, 'messages'>): McpFacts {
  return {
    kind: mcp.kind,
    method: mcp.method,
    tool: mcp.tool,
    ...(mcp.names === undefined ? {} : { names: mcp.names }),
    // Arguments live in the body, which is not recorded.
    arguments: {},
    protocolVersion: mcp.protocol_version,
    sessionId: mcp.session_id,
    ...('messages' in mcp && mcp.messages !== undefined ? { messages: mcp.messages.map(mcpFactsOf) } : {}),
  };
}

interface DecisionLike {
  phase: string;
  rule_index: number;
  rule_name: string | null;
  action: string;
}

function ruleFields(
  decision: DecisionLike | null,
): Pick<ReplayOutcome, 'rule_index' | 'rule_name' | 'phase' | 'action'> {
  return decision === null
    ? { rule_index: null, rule_name: null, phase: null, action: null }
    : {
        rule_index: decision.rule_index,
        rule_name: decision.rule_name,
        phase: decision.phase,
        action: decision.action,
      };
}

function responded(status: number, decision: DecisionLike | null): ReplayOutcome {
  return { kind: 'responded', status, forwarded_to: null, ...ruleFields(decision) };
}

function closed(decision: DecisionLike | null): ReplayOutcome {
  return { kind: 'closed', status: null, forwarded_to: null, ...ruleFields(decision) };
}

function forwarded(target: string, decision: DecisionLike | null): ReplayOutcome {
  // A request that went on without a terminating rule has no deciding rule; forward-internal is one.
  return { kind: 'forwarded', status: null, forwarded_to: target, ...ruleFields(decision) };
}

/**
 * What the request log says happened, as an outcome comparable with a replayed one: a request no request-phase rule
 * answered went on (a response-phase decision or the upstream's own status is not the policy's admission decision).
 */
export function recordedOutcome(row: {
  status: number;
  decision: DecisionLike | null;
  forwarded_to: string | null;
}): ReplayOutcome {
  const decision = row.decision;
  if (decision === null || decision.phase === 'on_http_response' || decision.action === 'forward-internal')
    return forwarded(row.forwarded_to ?? 'upstream', decision?.phase === 'on_http_response' ? null : decision);
  if (row.status === 0) return closed(decision);
  return responded(row.status, decision);
}

/**
 * Groups the requests whose outcome differs between `baseline` and `draft` (same length and order as `ids`), largest
 * group first. Two outcomes are the same when kind, status, target and deciding rule agree.
 */
export function diffReplayResults(
  ids: readonly string[],
  baseline: readonly ReplayResult[],
  draft: readonly ReplayResult[],
): { groups: ReplayGroup[]; changed: number } {
  const groups = new Map<string, ReplayGroup>();
  let changed = 0;
  for (let index = 0; index < ids.length; index++) {
    const before = baseline[index]!;
    const after = draft[index]!;
    if (sameOutcome(before.outcome, after.outcome)) continue;
    changed += 1;
    const kind = groupKind(before.outcome, after.outcome);
    const rateLimitKey =
      kind === 'new_rate_limit' ? after.rateLimitKey : kind === 'rate_limit_lifted' ? before.rateLimitKey : null;
    const key = `${kind}|${outcomeKey(before.outcome)}|${outcomeKey(after.outcome)}|${rateLimitKey ?? ''}`;
    const group = groups.get(key);
    if (group === undefined)
      groups.set(key, {
        kind,
        summary: '',
        count: 1,
        from: before.outcome,
        to: after.outcome,
        rate_limit_key: rateLimitKey,
        example_request_ids: [ids[index]!],
      });
    else {
      group.count += 1;
      if (group.example_request_ids.length < replayExamplesPerGroup) group.example_request_ids.push(ids[index]!);
    }
  }
  const sorted = [...groups.values()].sort((a, b) => b.count - a.count);
  for (const group of sorted) group.summary = summarize(group);
  return { groups: sorted, changed };
}

function sameOutcome(a: ReplayOutcome, b: ReplayOutcome): boolean {
  return outcomeKey(a) === outcomeKey(b);
}

/**
 * Forwarded requests compare by target only: which forward-internal rule sent them (or, in a recording, which rule of
 * the internal endpoint's own policy decided) does not change what the client gets. A rule is compared by its name
 * when it has one, so inserting a rule above it (which shifts every index) changes nothing by itself.
 */
function outcomeKey(outcome: ReplayOutcome): string {
  if (outcome.kind === 'forwarded') return `forwarded|${outcome.forwarded_to ?? ''}`;
  const rule = outcome.rule_name ?? (outcome.rule_index === null ? '' : `#${outcome.rule_index}`);
  return `${outcome.kind}|${outcome.status ?? ''}|${outcome.phase ?? ''}|${rule}|${outcome.action ?? ''}`;
}

/** Let through (forwarded, or answered below 400 — a policy's own 200 or redirect) rather than refused. */
function allows(outcome: ReplayOutcome): boolean {
  return outcome.kind === 'forwarded' || (outcome.kind === 'responded' && (outcome.status ?? 0) < 400);
}

function groupKind(before: ReplayOutcome, after: ReplayOutcome): ReplayGroup['kind'] {
  if (after.status === 429 && before.status !== 429) return 'new_rate_limit';
  if (before.status === 429 && after.status !== 429) return 'rate_limit_lifted';
  if (allows(before) !== allows(after)) return 'flip';
  if (before.kind === 'forwarded' && after.kind === 'forwarded') return 'target_changed';
  return before.status === after.status && before.kind === after.kind ? 'rule_changed' : 'status_changed';
}

function describeOutcome(outcome: ReplayOutcome): string {
  switch (outcome.kind) {
    case 'forwarded':
      // Where it went is what target_changed groups tell; across a flip, "allow" is the fact that matters.
      return 'allow';
    case 'responded':
      return allows(outcome) ? `answer ${outcome.status}` : `deny ${outcome.status}`;
    case 'closed':
      return 'close';
  }
}

function describeRule(outcome: ReplayOutcome): string {
  if (outcome.rule_index === null) return 'no rule';
  const name = outcome.rule_name === null ? '' : ` "${outcome.rule_name}"`;
  return `rule ${outcome.rule_index}${name}, ${outcome.action}`;
}

function summarize(group: ReplayGroup): string {
  const requests = `${group.count} request${group.count === 1 ? '' : 's'}`;
  const deciding = group.to.rule_index === null ? group.from : group.to;
  switch (group.kind) {
    case 'new_rate_limit':
      return `${group.count} new 429${group.count === 1 ? '' : 's'}${group.rate_limit_key === null ? '' : ` for key ${group.rate_limit_key}`} (${describeRule(group.to)})`;
    case 'rate_limit_lifted':
      return `${requests} no longer 429${group.rate_limit_key === null ? '' : ` for key ${group.rate_limit_key}`}, now ${describeOutcome(group.to)} (${describeRule(deciding)})`;
    case 'rule_changed':
      return `${requests} ${describeOutcome(group.to)} by ${describeRule(group.to)} instead of ${describeRule(group.from)}`;
    case 'target_changed':
      return `${requests} forwarded to ${group.to.forwarded_to} instead of ${group.from.forwarded_to} (${describeRule(deciding)})`;
    case 'flip':
    case 'status_changed':
      return `${requests} ${group.count === 1 ? 'flips' : 'flip'} ${describeOutcome(group.from)} → ${describeOutcome(group.to)} (${describeRule(deciding)})`;
  }
}
