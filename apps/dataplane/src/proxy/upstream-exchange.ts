import type { ServerResponse } from 'node:http';
import type { Transform } from 'node:stream';
import {
  evaluateStreamEvent,
  type CompiledPolicy,
  type Directives,
  type HeaderMap,
  type McpListFilter,
  type PolicyContext,
  type ResponseFacts,
  type RuntimeErrorCode,
} from '@gatehouse/traffic-policy';
import type { Dispatcher } from 'undici';
import type { RuntimeConfig } from '../config/runtime-config.js';
import type { AdmittedRequest } from './admit-request.js';
import {
  BufferedReplaceTransform,
  createCompressor,
  McpJsonListFilterTransform,
  McpSseListFilterTransform,
  SsePolicyTransform,
  SseReplaceTransform,
  type SseEventJudge,
} from './body-transforms.js';
import { headerMapOf, headerMapOfResponse, responseHeaderList } from './headers.js';
import { gatewayError, runResponsePhase, type Hop, type UpstreamEndpoint } from './policy-chain.js';
import { outboundErrorCodes } from '../ports/outbound-guard.js';
import type { ProxyDependencies } from './proxy-dependencies.js';
import type { RequestBody } from './request-body.js';
import type { BodyPrefix } from './request-log-capture.js';
import type { RequestRecord } from './request-record.js';
import { copyResponseForShadow } from './shadow-evaluation.js';
import { respondAfterResponsePhase, sendSynthetic } from './synthetic-response.js';

const dropContentLength = new Set(['content-length']);

/**
 * One upstream request/response, driven by undici's handler callbacks: headers → response phase (the body waits,
 * paused, while it runs) → head → body chunks with backpressure → end. A client that goes away aborts the upstream
 * request, before or after its headers.
 */
export class UpstreamExchange implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  /** The first writable the body goes into: `res`, or the head of the transform chain. */
  #sink: NodeJS.WritableStream | undefined;
  /** Chunks that arrived while the response phase was still deciding. */
  #pending: Buffer[] | undefined;
  #ended = false;
  #discard = false;
  #done = false;
  /** The opted-in endpoint's response body prefix; undefined (nothing to do per chunk) otherwise. */
  #capturedBody: BodyPrefix | undefined;
  /** Read on every chunk: kept at hand rather than through `admitted`. */
  private readonly record: RequestRecord;

  constructor(
    private readonly deps: ProxyDependencies,
    private readonly admitted: AdmittedRequest<RequestBody>,
    private readonly target: UpstreamEndpoint,
    private readonly res: ServerResponse,
  ) {
    this.record = admitted.record;
    res.on('close', this.#onClientClose);
  }

  readonly #onClientClose = (): void => {
    if (this.#done || this.res.writableFinished) return;
    this.#done = true;
    this.#controller?.abort(new ClientClosedError());
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#done) controller.abort(new ClientClosedError());
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return;
    this.record.markUpstreamHeaders();
    const { config, hops } = this.admitted;
    this.record.bytesIn = this.admitted.body.bytesRead;
    recordBreakers(config, hops, statusCode >= 500);
    const facts = { status: statusCode, headers: headerMapOfResponse(headers) };
    // The shadow's response phase judges the answer as the live policy received it, before the live phase changes it.
    if (this.record.shadowResponse !== undefined) this.record.upstreamResponse = copyResponseForShadow(facts);
    if (!hops.some(hasResponseRules)) {
      this.#startBody(facts);
      return;
    }
    // 6. on_http_response sees the upstream's status and headers (minus its gatehouse-error-code) before the body.
    controller.pause();
    this.#pending = [];
    const isHead = this.admitted.request.method === 'HEAD';
    runResponsePhase(config, hops, facts).then(
      (phase) => {
        if (this.#done) return;
        if (phase.replaced !== undefined) {
          this.#discard = true;
          this.record.errorCode = phase.errorCode;
          this.record.decision = phase.decision ?? this.record.decision;
          this.record.capture?.syntheticResponse(phase.replaced.headers, isHead ? '' : phase.replaced.body);
          this.record.bytesOut = sendSynthetic(this.res, phase.replaced, isHead);
          this.#done = true;
          controller.abort(new ResponseReplacedError());
          return;
        }
        this.#startBody(facts);
        if (this.#discard) return;
        const pending = this.#pending ?? [];
        this.#pending = undefined;
        for (const chunk of pending) this.#write(chunk);
        if (this.#ended) this.#finish();
        else controller.resume();
      },
      (error: unknown) => {
        this.deps.logger.error({ err: error }, 'response phase failed');
        this.#done = true;
        controller.abort(error instanceof Error ? error : new Error(String(error)));
        if (!this.res.headersSent)
          sendSynthetic(this.res, gatewayError('GATEWAY_ERROR', 'unexpected error; see the data plane log.'), isHead);
        else this.res.destroy();
      },
    );
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#discard) return;
    if (this.#pending !== undefined) {
      this.#pending.push(chunk);
      return;
    }
    if (!this.#write(chunk)) {
      controller.pause();
      this.#sink!.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.#ended = true;
    if (this.#discard || this.#pending !== undefined) return;
    this.#finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (
      error instanceof ClientClosedError ||
      error instanceof ResponseReplacedError ||
      error instanceof StreamDrainedError
    )
      return;
    this.#done = true;
    const code = upstreamErrorCode(error);
    this.deps.metrics.upstreamErrors.inc({ code });
    this.record.errorCode ??= code;
    if (this.res.headersSent) {
      // The upstream failed mid-body: the status is already sent, so the client sees a cut stream.
      this.res.destroy();
      return;
    }
    recordBreakers(this.admitted.config, this.admitted.hops, true);
    // A refused dial names the address and the rule; that is for the operator's log, not for the client.
    this.deps.logger.warn(
      { err: error, upstream: this.target.upstream.origin, endpoint: this.target.facts.id },
      'upstream request failed',
    );
    const message = upstreamErrorMessage(code);
    respondAfterResponsePhase(this.admitted, gatewayError(code, message), this.res).catch(() => this.res.destroy());
  }

  /** 7. Write the head, then stream. Transforms exist only when a policy asked for them; SSE stays live through each. */
  #startBody(facts: { status: number; headers: HeaderMap }): void {
    const res = this.res;
    const responseHeaders = facts.headers;
    const isEventStream = (responseHeaders.get('content-type')?.[0] ?? '').startsWith('text/event-stream');
    const capture = this.record.capture;
    if (capture !== undefined) {
      // Before compression below changes content-encoding: the captured body is the upstream's.
      capture.startUpstreamResponse(responseHeaders);
      this.#capturedBody = capture.responseBody;
    }
    let transforms: Transform[] | undefined;
    let compression: Directives['compressResponse'];
    /** A JSON list being filtered is held whole anyway, so its head waits for it (an oversize one can still get 502). */
    let headWaitsForBody = false;
    const listFilters = mcpListFiltersOf(this.admitted.hops);
    if (listFilters !== undefined) {
      const contentType = (responseHeaders.get('content-type')?.[0] ?? '').toLowerCase();
      const isJson = /^application\/(?:[\w.+-]*\+)?json\b/.test(contentType);
      if (isEventStream || isJson) {
        const encoding = (responseHeaders.get('content-encoding') ?? []).join(',').trim().toLowerCase();
        if (encoding !== '' && encoding !== 'identity') {
          // The upstream was asked for identity; a list it compressed anyway cannot be filtered, so it does not pass.
          this.#refuseUnfilterable('the upstream compressed a response mcp-tools must filter.');
          return;
        }
        const limit = this.deps.mcpMaxBodyBytes;
        if (!isEventStream && Number(responseHeaders.get('content-length')?.[0] ?? 0) > limit) {
          this.#refuseUnfilterable(tooLargeToFilter(limit));
          return;
        }
        headWaitsForBody = !isEventStream;
        transforms = [
          isEventStream
            ? new McpSseListFilterTransform(listFilters)
            : new McpJsonListFilterTransform(listFilters, limit, () => sendHead()),
        ];
      }
    }
    for (const hop of this.admitted.hops) {
      const directives = hop.context?.directives;
      if (directives === undefined) continue;
      if (directives.sseReplacements !== undefined && directives.sseReplacements.length > 0 && isEventStream)
        (transforms ??= []).push(new SseReplaceTransform(directives.sseReplacements));
      const policy = hop.endpoint.policy;
      if (isEventStream && policy !== undefined && policy.phases.on_event_stream_message.length > 0)
        (transforms ??= []).push(new SsePolicyTransform(this.#streamEventJudge(policy, hop.context!, facts)));
      if (
        directives.responseBodyReplacements !== undefined &&
        directives.responseBodyReplacements.length > 0 &&
        !isEventStream
      ) {
        (transforms ??= []).push(
          new BufferedReplaceTransform(directives.responseBodyReplacements, this.deps.maxBodyBytes),
        );
      }
      if (directives.compressResponse !== undefined) compression = directives.compressResponse;
    }
    if (compression !== undefined) {
      (transforms ??= []).push(createCompressor(compression, isEventStream));
      responseHeaders.set('content-encoding', [compression]);
      responseHeaders.set('vary', [...(responseHeaders.get('vary') ?? []), 'accept-encoding']);
    }
    const headerList = responseHeaderList(responseHeaders, transforms === undefined ? undefined : dropContentLength);
    const sendHead = (): void => {
      res.writeHead(facts.status, headerList);
      capture?.responseHeadersSent(headerMapOf(headerList));
      if (isEventStream) {
        res.flushHeaders();
        // On a drain the stream ends cleanly after its grace (the terminating chunk, not a cut connection): the client
        // reconnects, to another worker or data plane, with Last-Event-ID.
        const unregister = this.deps.streams.add(this.#endStream);
        res.once('close', unregister);
      }
    };
    if (!headWaitsForBody) sendHead();
    if (transforms === undefined) {
      this.#sink = res;
      return;
    }
    for (let index = 0; index < transforms.length - 1; index++) transforms[index]!.pipe(transforms[index + 1]!);
    const last = transforms.at(-1)!;
    last.on('data', (chunk: Buffer) => (this.record.bytesOut += chunk.length));
    last.pipe(res);
    for (const transform of transforms)
      transform.on('error', () => {
        // Only the JSON list filter fails before the head is out: its body outgrew the limit. After it (an event
        // stream whose on_event_stream_message run failed), the stream is cut: fail closed.
        if (res.headersSent) res.destroy();
        else this.#refuseUnfilterable(tooLargeToFilter(this.deps.mcpMaxBodyBytes));
      });
    this.#sink = transforms[0];
  }

  /** on_event_stream_message of one hop, per event; a failed run ends the stream and is recorded on the log row. */
  #streamEventJudge(policy: CompiledPolicy, context: PolicyContext, response: ResponseFacts): SseEventJudge {
    const ports = this.admitted.config.ports;
    return async (event) => {
      const result = await evaluateStreamEvent(policy, context, response, event, ports);
      if (result.outcome.kind === 'continue') return result.replacements;
      const code = result.outcome.kind === 'respond' ? result.outcome.errorCode : undefined;
      this.record.errorCode ??= code ?? 'POLICY_RUNTIME_ERROR';
      return new Error(`on_event_stream_message ended the stream (${code ?? result.outcome.kind})`);
    };
  }

  /** mcp-tools cannot read the answer: a 502 instead, and the upstream's body is dropped. */
  #refuseUnfilterable(message: string): void {
    this.#discard = true;
    this.#done = true;
    this.record.errorCode = 'MCP_RESPONSE_UNFILTERABLE';
    const isHead = this.admitted.request.method === 'HEAD';
    this.record.bytesOut = sendSynthetic(this.res, gatewayError('MCP_RESPONSE_UNFILTERABLE', message), isHead);
    this.#controller?.abort(new ResponseReplacedError());
  }

  #write(chunk: Buffer): boolean {
    if (this.#sink === this.res) this.record.bytesOut += chunk.length;
    // A copy of the first bytes only: the chunk itself goes on at once (SSE stays event by event).
    this.#capturedBody?.add(chunk);
    return this.#sink!.write(chunk);
  }

  readonly #endStream = (): void => {
    if (this.#done) return;
    this.#controller?.abort(new StreamDrainedError());
    this.#finish();
  };

  #finish(): void {
    this.#done = true;
    this.res.off('close', this.#onClientClose);
    this.#sink?.end();
  }
}

/** Every mcp-tools filter on the request's path, or undefined when there is none (the common case). */
function mcpListFiltersOf(hops: readonly Hop[]): McpListFilter[] | undefined {
  let filters: McpListFilter[] | undefined;
  for (const hop of hops) {
    const own = hop.context?.directives.mcpListFilters;
    if (own !== undefined && own.length > 0) (filters ??= []).push(...own);
  }
  return filters;
}

/** Whether the response phase has anything to do for this hop: rules to run, or cookies a sign-in action renewed. */
function hasResponseRules(hop: Hop): boolean {
  if (hop.context === undefined) return false;
  if ((hop.context.directives.setCookies?.length ?? 0) > 0) return true;
  return hop.endpoint.policy !== undefined && hop.endpoint.policy.phases.on_http_response.length > 0;
}

/** What the client is told: the code says which case; the address and the rule that refused it stay in the log. */
export function upstreamErrorMessage(code: RuntimeErrorCode): string {
  if (code === 'UPSTREAM_TIMEOUT') return 'the upstream did not answer in time.';
  if (code === 'UPSTREAM_IS_GATEWAY')
    return "the upstream is this gateway's own listener (a forwarding loop); it was not contacted.";
  if (code === 'UPSTREAM_FORBIDDEN')
    return "the upstream address is outside the operator's allow list; it was not contacted.";
  return 'the upstream could not be reached.';
}

/** The client went away: the upstream request is aborted on purpose. */
class ClientClosedError extends Error {
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientClosedError';
  }
}

/** A response-phase policy answered instead of the upstream: its body is not needed. */
class ResponseReplacedError extends Error {
  constructor() {
    super('the response was replaced by the policy');
    this.name = 'ResponseReplacedError';
  }
}

/** The data plane is draining: a long-lived stream was ended on purpose after its grace. */
class StreamDrainedError extends Error {
  constructor() {
    super('the data plane is draining');
    this.name = 'StreamDrainedError';
  }
}

/** Feeds every circuit breaker the request passed with the upstream's result. */
function recordBreakers(config: RuntimeConfig, hops: readonly Hop[], failed: boolean): void {
  for (const hop of hops) {
    const keys = hop.context?.directives.circuitBreakerKeys;
    if (keys === undefined) continue;
    const now = config.ports.clock.now();
    for (const key of keys) config.ports.circuitBreakers.record(key, failed, now);
  }
}

/** The runtime code for a failed upstream request; also used by the upgrade path. */
export function upstreamErrorCode(error: unknown): RuntimeErrorCode {
  const code = (error as { code?: string } | undefined)?.code;
  if (code === outboundErrorCodes.UPSTREAM_IS_GATEWAY) return 'UPSTREAM_IS_GATEWAY';
  if (code === outboundErrorCodes.UPSTREAM_FORBIDDEN) return 'UPSTREAM_FORBIDDEN';
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT'
    ? 'UPSTREAM_TIMEOUT'
    : 'UPSTREAM_UNAVAILABLE';
}

function tooLargeToFilter(limit: number): string {
  return `the upstream's list response is larger than DATAPLANE_MCP_MAX_BODY_BYTES (${limit} bytes), so mcp-tools cannot filter it.`;
}
