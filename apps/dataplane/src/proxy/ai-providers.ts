import {
  recordUsage,
  UsageReader,
  type AiGatewayRecord,
  type AiProviderAttempt,
  type AiProviderRequest,
  type AiProviderResponse,
  type AiProviders,
} from '@gatehouse/traffic-policy';
import type { Dispatcher } from 'undici';
import type { AgentTunnels } from '../agent/agent-tunnels.js';
import { dispatchOverTunnel } from '../agent/tunnel-dispatch.js';
import type { LoadedEndpoint } from '../config/runtime-config.js';
import type { LayeredMap } from '../config/layered-map.js';
import { outboundErrorCodes } from '../ports/outbound-guard.js';

/** What sending provider requests needs from the data plane (shared by every config). */
export interface AiProviderDependencies {
  /** The guarded keep-alive pools every upstream request uses: the outbound rules apply to providers too. */
  readonly dispatcher: Dispatcher;
  readonly agentTunnels: AgentTunnels | undefined;
  /** After an attempt committed: the longest wait for the next body chunk. */
  readonly idleTimeoutMs: number;
}

/**
 * The data plane's AiProviders port for one config: a provider URL is dialled through the guarded dispatcher; an
 * internal endpoint URL is resolved in this config like forward-internal's target (its upstream, or a tunnel of its
 * agent). The internal endpoint's own policy does not run: the provider request is the gateway's, not the client's.
 */
export function createAiProviders(
  deps: AiProviderDependencies,
  internalByUrl: LayeredMap<string, LoadedEndpoint>,
): AiProviders {
  return {
    send(request) {
      const url = new URL(request.url);
      const held = new HeldProviderResponse(request.timeoutMs, url.origin);
      const path = `${url.pathname}${url.search}`;
      const headers = flatHeaders(request);
      if (!request.internal) {
        deps.dispatcher.dispatch(
          {
            origin: url.origin,
            path,
            method: request.method,
            headers,
            body: request.body,
            headersTimeout: deps.idleTimeoutMs,
            bodyTimeout: deps.idleTimeoutMs,
          },
          held,
        );
        return held.settled;
      }
      const endpoint = internalByUrl.get(url.origin);
      if (endpoint === undefined)
        return Promise.resolve(failed('target-offline', `no internal endpoint ${url.origin} is registered`));
      if (endpoint.agent !== undefined) {
        const connection = deps.agentTunnels?.pick(endpoint.facts.id, endpoint.agent);
        if (connection === undefined)
          return Promise.resolve(failed('target-offline', `no agent serving ${endpoint.facts.url} is connected`));
        dispatchOverTunnel(
          connection.session,
          {
            method: request.method,
            path,
            headers,
            body: Buffer.from(request.body),
            endpointUrl: endpoint.facts.url,
            idleTimeoutMs: deps.idleTimeoutMs,
          },
          held,
        );
        return held.settled;
      }
      if (endpoint.upstream === undefined)
        return Promise.resolve(failed('target-offline', `the internal endpoint ${endpoint.facts.url} has no upstream`));
      deps.dispatcher.dispatch(
        {
          origin: endpoint.upstream.origin,
          path: `${endpoint.upstream.basePath}${path}`,
          method: request.method,
          headers,
          body: request.body,
          headersTimeout: deps.idleTimeoutMs,
          bodyTimeout: deps.idleTimeoutMs,
        },
        held,
      );
      return held.settled;
    },
  };
}

function failed(reason: Extract<AiProviderAttempt, { kind: 'failed' }>['reason'], message: string): AiProviderAttempt {
  return { kind: 'failed', reason, message };
}

function flatHeaders(request: AiProviderRequest): string[] {
  const list: string[] = [];
  for (const [name, values] of request.headers) for (const value of values) list.push(name, value);
  return list;
}

/** The attempt was given up on purpose: timed out before committing, or discarded for failover. */
class AttemptAbandonedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AttemptAbandonedError';
  }
}

/**
 * One provider attempt, held: the status and head are kept, the first body chunk (or the end) commits the attempt
 * and pauses the provider, and nothing goes anywhere until the engine either discards it (failover) or the request
 * path attaches the client's exchange (`attach`), which then gets the head, the held chunks and the rest as undici
 * handler callbacks — the same ones an upstream request drives, so streaming, backpressure, the response phase and
 * client aborts behave exactly as for a forwarded request.
 */
export class HeldProviderResponse implements AiProviderResponse, Dispatcher.DispatchHandler {
  readonly settled: Promise<AiProviderAttempt>;
  status = 0;
  #headers: Record<string, string | string[] | undefined> = {};
  #controller: Dispatcher.DispatchController | undefined;
  #resolve!: (attempt: AiProviderAttempt) => void;
  #committed = false;
  #abandoned: Error | undefined;
  #held: Buffer[] = [];
  #ended = false;
  #error: Error | undefined;
  #downstream: Dispatcher.DispatchHandler | undefined;
  #usage: UsageReader | undefined;
  #record: AiGatewayRecord | undefined;
  readonly #timer: ReturnType<typeof setTimeout>;

  constructor(
    timeoutMs: number,
    /** The provider's (or internal endpoint's) origin, for the operator's log. */
    readonly origin: string,
  ) {
    this.settled = new Promise((resolve) => (this.#resolve = resolve));
    this.#timer = setTimeout(() => this.#abandon('timeout', `no answer within ${timeoutMs} ms`), timeoutMs);
  }

  #abandon(reason: 'timeout', message: string): void {
    if (this.#committed) return;
    this.#committed = true;
    this.#abandoned = new AttemptAbandonedError(message);
    this.#controller?.abort(this.#abandoned);
    this.#resolve(failed(reason, message));
  }

  #commit(): void {
    if (this.#committed) return;
    this.#committed = true;
    clearTimeout(this.#timer);
    this.#resolve({ kind: 'response', response: this });
  }

  discard(): void {
    this.#held = [];
    this.#abandoned ??= new AttemptAbandonedError('discarded for failover');
    this.#controller?.abort(this.#abandoned);
  }

  /** Hands the held answer to the client's exchange; `record` receives the token usage once the body has ended. */
  attach(downstream: Dispatcher.DispatchHandler, record: AiGatewayRecord | undefined): void {
    const controller = this.#controller!;
    this.#downstream = downstream;
    this.#record = record;
    if (record !== undefined) {
      const contentType = String(this.#headers['content-type'] ?? '');
      this.#usage = new UsageReader(record.format, contentType.startsWith('text/event-stream'));
    }
    downstream.onRequestStart?.(controller, {});
    downstream.onResponseStart?.(controller, this.status, this.#headers, '');
    const held = this.#held;
    this.#held = [];
    for (const chunk of held) {
      this.#usage?.push(chunk);
      downstream.onResponseData?.(controller, chunk);
    }
    if (this.#ended) this.#end(controller);
    else if (this.#error !== undefined) downstream.onResponseError?.(controller, this.#error);
    else if (!controller.aborted) controller.resume();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abandoned !== undefined) controller.abort(this.#abandoned);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return;
    this.status = statusCode;
    this.#headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#downstream !== undefined) {
      this.#usage?.push(chunk);
      this.#downstream.onResponseData?.(controller, chunk);
      return;
    }
    if (this.#abandoned !== undefined) return;
    this.#held.push(chunk);
    // Nobody reads yet: stop the provider until the engine decides (and the client's exchange takes over).
    controller.pause();
    this.#commit();
  }

  onResponseEnd(controller: Dispatcher.DispatchController): void {
    if (this.#downstream !== undefined) {
      this.#end(controller);
      return;
    }
    this.#ended = true;
    this.#commit();
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#downstream !== undefined) {
      this.#downstream.onResponseError?.(controller, error);
      return;
    }
    if (error === this.#abandoned) return;
    if (this.#committed) {
      // Committed, not attached yet: the exchange learns of it on attach.
      this.#error = error;
      return;
    }
    this.#committed = true;
    clearTimeout(this.#timer);
    this.#resolve(attemptFailure(error));
  }

  #end(controller: Dispatcher.DispatchController): void {
    if (this.#record !== undefined && this.#usage !== undefined) recordUsage(this.#record, this.#usage.finish());
    this.#downstream?.onResponseEnd?.(controller, {});
  }
}

/** Secret-free: the error's code, never its message (which can name addresses the operator's rules refused). */
function attemptFailure(error: Error): AiProviderAttempt {
  const code = (error as { code?: string }).code;
  if (code === outboundErrorCodes.UPSTREAM_FORBIDDEN || code === outboundErrorCodes.UPSTREAM_IS_GATEWAY)
    return failed('forbidden', 'refused by the outbound rules');
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
    return failed('timeout', `timed out (${code})`);
  return failed('connection', `connection failed${code === undefined ? '' : ` (${code})`}`);
}
