import type { RequestShadow } from '@gatehouse/contracts';
import {
  createPolicyContext,
  evaluate,
  MemoryCircuitBreakers,
  MemoryRateLimitStore,
  OfflineIdentityProviderClient,
  ScriptedHttpRequester,
  settleExchange,
  applyResponseDirectives,
  type ConnectionFacts,
  type Decision,
  type PolicyContext,
  type PolicyPorts,
  type RequestFacts,
  type ResponseFacts,
} from '@gatehouse/traffic-policy';
import type { LoadedEndpoint, ShadowPolicy } from '../config/runtime-config.js';
import type { RequestDecision } from './policy-chain.js';

/**
 * Shadow policies (issue 17 item 3): the endpoint's shadow runs the request phase beside the live policy, on its own
 * copy of the request, and its outcome is compared with the live one. It enforces nothing and must change no live
 * state, so its ports are the live ones (clock, IP categories, JWKS keys, the internal-endpoint directory: read-only)
 * except rate-limit counters and circuit breakers, which are in-memory stores of its own: a shadow's rate limit
 * counts the shadow's admissions and never consumes the live budget (nor touches Redis).
 */
export class ShadowEvaluator {
  readonly #rateLimits = new MemoryRateLimitStore();
  readonly #circuitBreakers = new MemoryCircuitBreakers();
  /** One isolated port set per running config (its directory and categories change with it). */
  readonly #portsByConfig = new WeakMap<PolicyPorts, PolicyPorts>();

  #portsFor(live: PolicyPorts): PolicyPorts {
    let ports = this.#portsByConfig.get(live);
    if (ports === undefined) {
      ports = {
        ...live,
        rateLimits: this.#rateLimits,
        circuitBreakers: this.#circuitBreakers,
        // No side effects beyond this process: side calls get the policy tests' stand-in answer, sign-in never
        // reaches the identity provider, and ai-gateway has no provider port (it answers AI_GATEWAY_UNAVAILABLE).
        httpRequests: new ScriptedHttpRequester(),
        identityProviders: new OfflineIdentityProviderClient(),
        aiProviders: undefined,
      };
      this.#portsByConfig.set(live, ports);
    }
    return ports;
  }

  /**
   * What the shadow would have done with `request` (a copy taken before the live policy changed it), and the context
   * it ran in (its response phase continues in it, `judgeResponse`).
   */
  async judge(
    shadow: ShadowPolicy,
    endpoint: LoadedEndpoint,
    request: RequestFacts,
    connection: ConnectionFacts,
    livePorts: PolicyPorts,
    live: RequestDecision,
  ): Promise<{ judged: RequestShadow; context: PolicyContext }> {
    const ports = this.#portsFor(livePorts);
    const context = createPolicyContext({ endpoint: endpoint.facts, connection, request }, ports);
    const result = await evaluate(shadow.policy, 'on_http_request', context, ports);
    // A rate-limit cost is charged when the exchange ends; the shadow's exchange ends here (it sees no response, and
    // its ai-gateway never reaches a provider, so token costs count 0), on its own in-memory counters.
    if (context.atExchangeEnd.length > 0) void settleExchange(context);
    const outcome = result.outcome;
    // Built field by field, never by spreading: on the request path a spread of these objects took V8's generic copy
    // (microseconds each, most of what judging a request cost beside the evaluation itself).
    let kind: RequestShadow['outcome'];
    let status: number | null = null;
    let forwardedTo: string | null = null;
    switch (outcome.kind) {
      case 'respond':
        kind = 'respond';
        status = outcome.response.status;
        break;
      case 'forward':
        kind = 'forward';
        forwardedTo = outcome.url;
        break;
      case 'close':
        kind = 'close';
        break;
      case 'provider-response':
        // Unreachable with no provider port (above); a held answer is dropped rather than leaked.
        outcome.response.discard();
        kind = 'respond';
        status = outcome.response.status;
        break;
      case 'continue':
        // A cloud endpoint's policy that decides nothing is answered 500 POLICY_FELL_THROUGH, as the live one would be.
        if (endpoint.facts.type === 'cloud') {
          kind = 'respond';
          status = 500;
        } else kind = 'continue';
        break;
    }
    const judged: RequestShadow = {
      sha256: shadow.sha256,
      outcome: kind,
      status,
      forwarded_to: forwardedTo,
      decision: requestDecisionOf(result.decision),
      differs: differsFromLive(kind, status, forwardedTo, live),
      response: null,
    };
    return { judged, context };
  }

  /**
   * The shadow's on_http_response on `upstream` — a copy of the upstream's answer as the live policy received it —
   * compared with the status the client actually got (`liveStatus`, after the live response phase). Runs once the
   * response is finished, so it adds nothing to the live response's latency and cannot change it.
   */
  async judgeResponse(
    shadow: ShadowPolicy,
    context: PolicyContext,
    livePorts: PolicyPorts,
    upstream: ResponseFacts,
    liveStatus: number,
  ): Promise<NonNullable<RequestShadow['response']>> {
    const ports = this.#portsFor(livePorts);
    // What the shadow's request phase asked to do to the response (add-headers on responses and the like) first.
    applyResponseDirectives(context, upstream.headers);
    context.response = upstream;
    const result = await evaluate(shadow.policy, 'on_http_response', context, ports);
    // Only a replacement changes what the client gets; a runtime error fails closed (its 500) as it would live.
    const status = result.outcome.kind === 'respond' ? result.outcome.response.status : upstream.status;
    return {
      outcome: result.outcome.kind === 'respond' ? 'respond' : 'continue',
      status,
      decision: result.outcome.kind === 'respond' ? requestDecisionOf(result.decision) : null,
      differs: status !== liveStatus,
    };
  }
}

/**
 * The live policy's way out of the same endpoint (its first hop): forwarded when the chain went on to an internal
 * endpoint, else how the request phase ended. Only the result counts, not which rule produced it: a candidate that
 * inserts a rule shifts every index after it, and would otherwise "differ" on every request.
 */
function differsFromLive(
  outcome: RequestShadow['outcome'],
  status: number | null,
  forwardedTo: string | null,
  live: RequestDecision,
): boolean {
  if (live.hops.length > 1) return outcome !== 'forward' || forwardedTo !== live.hops[1]!.endpoint.facts.url;
  switch (live.kind) {
    case 'respond':
      return outcome !== 'respond' || status !== live.response.status;
    case 'close':
      return outcome !== 'close';
    case 'upstream':
      return outcome !== 'continue';
    case 'provider':
      return outcome !== 'respond' || status !== live.response.status;
  }
}

/** The decision as the request log keeps it: a shadow's request and response phases never name the stream phase. */
function requestDecisionOf(decision: Decision | undefined): RequestShadow['decision'] {
  if (decision === undefined || decision.phase === 'on_event_stream_message') return null;
  return {
    phase: decision.phase,
    rule_index: decision.rule_index,
    rule_name: decision.rule_name,
    action: decision.action,
  };
}

/**
 * A copy the shadow's actions may change without touching the live request (headers are copied one level deep).
 * Written out field by field rather than spread: a spread copy's hidden class differs from the requests the data
 * plane builds, and the engine's property reads on it (the context's constructor first) then took the slow path,
 * which made a shadow's request phase cost twice what the live one did. The mapped type names every field of
 * RequestFacts, so one added there must be decided on here. The copy gets its own side-call budget (counting what
 * on_tcp_connect already made): the shadow's attempts must not use up the live request's.
 */
export function copyRequestForShadow(request: RequestFacts): RequestFacts {
  const copy: { [Field in keyof Required<RequestFacts>]: RequestFacts[Field] } = {
    method: request.method,
    scheme: request.scheme,
    host: request.host,
    port: request.port,
    path: request.path,
    rawPath: request.rawPath ?? request.path,
    query: request.query,
    headers: copyHeaders(request.headers),
    receivedAtMs: request.receivedAtMs,
    bodyReceivedAtMs: request.bodyReceivedAtMs,
    httpVersion: request.httpVersion,
    body: request.body,
    mcp: request.mcp,
    sideCalls: { made: request.sideCalls?.made ?? 0 },
  };
  return copy;
}

/** The upstream's answer for the shadow's response phase: its actions change headers in place. */
export function copyResponseForShadow(response: ResponseFacts): ResponseFacts {
  return { status: response.status, headers: copyHeaders(response.headers) };
}

function copyHeaders(headers: RequestFacts['headers']): RequestFacts['headers'] {
  const copy: RequestFacts['headers'] = new Map();
  for (const [name, values] of headers) copy.set(name, [...values]);
  return copy;
}
