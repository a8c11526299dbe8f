import {
  createPolicyContext,
  errorCodeHeader,
  applyResponseDirectives,
  evaluate,
  runtimeErrorCodes,
  type ConnectionFacts,
  type Decision,
  type PolicyContext,
  type RequestFacts,
  type ResponseFacts,
  type RuntimeErrorCode,
  type SyntheticResponse,
} from '@gatehouse/traffic-policy';
import { isUncompilablePolicy, type LoadedEndpoint, type RuntimeConfig } from '../config/runtime-config.js';
import type { HeldProviderResponse } from './ai-providers.js';

/**
 * The request phase across endpoints: the cloud endpoint's policy, then — for each forward-internal — the internal
 * endpoint's own policy with a fresh context over the same (already rewritten) request, until a policy answers,
 * closes, or an internal endpoint lets the request through to its upstream. Shared by HTTP and WebSocket upgrades.
 */

/** Each endpoint a request passed through, with the context its policy ran in. */
export interface Hop {
  readonly endpoint: LoadedEndpoint;
  readonly context: PolicyContext | undefined;
}

export type UpstreamEndpoint = LoadedEndpoint & { upstream: NonNullable<LoadedEndpoint['upstream']> };

export type RequestDecision =
  | {
      kind: 'respond';
      response: SyntheticResponse;
      errorCode: string | undefined;
      decision: Decision | undefined;
      hops: Hop[];
    }
  | { kind: 'close'; decision: Decision | undefined; hops: Hop[] }
  /** ai-gateway chose a provider's answer (held by the data plane, unsent): it is streamed to the client. */
  | { kind: 'provider'; response: HeldProviderResponse; decision: Decision | undefined; hops: Hop[] }
  | { kind: 'upstream'; target: UpstreamEndpoint; decision: Decision | undefined; hops: Hop[] };

/** Buffers what an endpoint's policy reads of the request body before it runs; a response stops the request. */
export interface PolicyBodyReader {
  prepareFor(endpoint: LoadedEndpoint, request: RequestFacts): Promise<SyntheticResponse | undefined> | undefined;
}

/** What the request phase runs on (the admitted request carries it). */
export interface RequestPhaseInput {
  readonly config: RuntimeConfig;
  /** The cloud endpoint the Host matched: the first policy to run. */
  readonly endpoint: LoadedEndpoint;
  readonly request: RequestFacts;
  readonly connection: ConnectionFacts;
  /** Undefined when the request has no body to read (a WebSocket upgrade). */
  readonly body: PolicyBodyReader | undefined;
}

/** A response the gateway generates: status from the code, the code in `gatehouse-error-code`, a short plain body. */
export function gatewayError(code: RuntimeErrorCode, message: string): SyntheticResponse {
  return {
    status: runtimeErrorCodes[code].status,
    headers: new Map([
      [errorCodeHeader, [code]],
      ['content-type', ['text/plain; charset=utf-8']],
    ]),
    body: `Gatehouse: ${message}\n`,
  };
}

function gatewayRespond(
  code: RuntimeErrorCode,
  message: string,
  decision: Decision | undefined,
  hops: Hop[],
): RequestDecision {
  return { kind: 'respond', response: gatewayError(code, message), errorCode: code, decision, hops };
}

export async function runRequestPhase(input: RequestPhaseInput, hopLimit: number): Promise<RequestDecision> {
  const { config, request, connection, body } = input;
  const hops: Hop[] = [];
  let decision: Decision | undefined;
  let endpoint = input.endpoint;
  for (let hop = 0; ; hop++) {
    const policy = endpoint.policy;
    if (isUncompilablePolicy(policy)) {
      hops.push({ endpoint, context: undefined });
      return gatewayRespond(
        'ENDPOINT_CONFIG_INVALID',
        `the stored policy of ${endpoint.facts.url} does not compile on this data plane (see its /status).`,
        decision,
        hops,
      );
    }
    if (policy === undefined) {
      hops.push({ endpoint, context: undefined });
      // A cloud endpoint without a policy has nowhere to send traffic; an internal one passes it to its upstream.
      if (endpoint.facts.type === 'cloud')
        return gatewayRespond('POLICY_FELL_THROUGH', 'the endpoint has no traffic policy.', decision, hops);
    } else {
      // Most policies read no body: then there is nothing to wait for.
      const preparing = body?.prepareFor(endpoint, request);
      const stop = preparing === undefined ? undefined : await preparing;
      if (stop !== undefined) {
        hops.push({ endpoint, context: undefined });
        return { kind: 'respond', response: stop, errorCode: stop.headers.get(errorCodeHeader)?.[0], decision, hops };
      }
      const context = createPolicyContext({ endpoint: endpoint.facts, connection, request }, config.ports);
      hops.push({ endpoint, context });
      const result = await evaluate(policy, 'on_http_request', context, config.ports);
      decision = result.decision ?? decision;
      const outcome = result.outcome;
      switch (outcome.kind) {
        case 'respond':
          return { kind: 'respond', response: outcome.response, errorCode: outcome.errorCode, decision, hops };
        case 'close':
          return { kind: 'close', decision, hops };
        case 'provider-response':
          // Only this data plane's AiProviders port makes provider responses, and it makes HeldProviderResponses.
          return { kind: 'provider', response: outcome.response as HeldProviderResponse, decision, hops };
        case 'forward': {
          // The engine checked the target against this config's directory; the lookup cannot miss within one config.
          const target = config.internalByUrl.get(outcome.url);
          if (target === undefined)
            return gatewayRespond(
              'FORWARD_TARGET_OFFLINE',
              `no internal endpoint ${outcome.url} is registered.`,
              decision,
              hops,
            );
          if (hop + 1 > hopLimit)
            return gatewayRespond(
              'FORWARD_HOP_LIMIT',
              `forward-internal chained through more than ${hopLimit} internal endpoints.`,
              decision,
              hops,
            );
          endpoint = target;
          continue;
        }
        case 'continue':
          if (endpoint.facts.type === 'cloud')
            return gatewayRespond(
              'POLICY_FELL_THROUGH',
              'the endpoint policy did not decide what to do with this request.',
              decision,
              hops,
            );
          break;
      }
    }
    // An internal endpoint let the request through: it goes to that endpoint's upstream.
    if (!hasUpstream(endpoint))
      return gatewayRespond(
        'FORWARD_TARGET_OFFLINE',
        `the internal endpoint ${endpoint.facts.url} has no upstream.`,
        decision,
        hops,
      );
    return { kind: 'upstream', target: endpoint, decision, hops };
  }
}

function hasUpstream(endpoint: LoadedEndpoint): endpoint is UpstreamEndpoint {
  return endpoint.upstream !== undefined;
}

/**
 * The response phase, innermost endpoint first (the internal endpoint sees its upstream's answer before the cloud
 * endpoint does, as a chain of proxies would). Returns a synthetic response when a policy replaced the response.
 */
export async function runResponsePhase(
  config: RuntimeConfig,
  hops: readonly Hop[],
  response: ResponseFacts,
): Promise<{ replaced: SyntheticResponse | undefined; errorCode: string | undefined; decision: Decision | undefined }> {
  let replaced: SyntheticResponse | undefined;
  let errorCode: string | undefined;
  let decision: Decision | undefined;
  for (let index = hops.length - 1; index >= 0; index--) {
    const { endpoint, context } = hops[index]!;
    if (context !== undefined) applyResponseDirectives(context, response.headers);
    if (context === undefined || endpoint.policy === undefined || endpoint.policy.phases.on_http_response.length === 0)
      continue;
    context.response = response;
    const result = await evaluate(endpoint.policy, 'on_http_response', context, config.ports);
    if (result.outcome.kind === 'respond') {
      replaced = result.outcome.response;
      errorCode = result.outcome.errorCode;
      decision = result.decision;
      // Outer policies see the replacement, not the upstream answer.
      response.status = replaced.status;
      response.headers = replaced.headers;
    }
  }
  return { replaced, errorCode, decision };
}
