import { AsyncResource } from 'node:async_hooks';
import {
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { pipeline, type Readable } from 'node:stream';
import { AGENT_ENDPOINT_HEADER } from '@gatehouse/contracts';
import type { Dispatcher } from 'undici';

/**
 * A request over an agent tunnel, driven through the same undici handler callbacks an upstream request uses
 * (`UpstreamExchange`): the response phase, transforms, back-pressure, SSE flushing, request events and abort
 * propagation stay one implementation whether the upstream is dialled by the data plane or sits behind an agent. The
 * controller maps pause/resume onto the HTTP/2 stream (flow control then holds the agent back) and abort onto
 * RST_STREAM(CANCEL), which the agent turns into aborting its upstream request.
 */

/** Connection-specific headers (RFC 9113 §8.2.2) that node:http2 refuses; the agent sets its own for its hop. */
const notForHttp2 = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

/**
 * node:http2's `session.request()` (Node 20) wraps its internal connect callback in `AsyncResource#bind`, which also
 * defines the deprecated `asyncResource` accessor (DEP0172) on the bound function, built from two fresh `deprecate()`
 * wrappers: about 5% of the data plane's CPU per tunnelled request (perf, issue 13), more with the garbage. That bound
 * function never leaves request() and wraps a function already bound to its stream, so neither the accessor nor the
 * receiver matters: while request() runs, bind is this equivalent (same async scope, same arguments). Swapped back
 * before returning, so no other code ever sees it.
 */
const asyncResourcePrototype = AsyncResource.prototype as { bind: unknown };
const nodeBind = asyncResourcePrototype.bind;
function plainBind(this: AsyncResource, fn: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
  return this.runInAsyncScope.bind(this, fn, undefined);
}
/**
 * request()'s options with node's own priority defaults filled in: request() copies them and then adds each missing
 * default to its copy, a property at a time (shape transitions and store misses on every request).
 */
const withBody = { endStream: false, waitForTrailers: false, weight: 16, parent: 0, exclusive: false, silent: false };
const bodilessOptions = { ...withBody, endStream: true };
function openRequest(session: ClientHttp2Session, headers: OutgoingHttpHeaders, bodiless: boolean): ClientHttp2Stream {
  asyncResourcePrototype.bind = plainBind;
  try {
    return session.request(headers, bodiless ? bodilessOptions : withBody);
  } finally {
    asyncResourcePrototype.bind = nodeBind;
  }
}

export interface TunnelRequest {
  method: string;
  /** Path and query. */
  path: string;
  /** `name, value, name, value, …` as `upstreamHeadersFor` builds them. */
  headers: readonly string[];
  body: Buffer | Readable | null;
  /** The endpoint URL, sent as AGENT_ENDPOINT_HEADER so the agent picks the upstream. */
  endpointUrl: string;
  idleTimeoutMs: number;
  /**
   * Another connection to the same endpoint, for a request the agent provably never processed: the stream could not
   * be opened (the connection was closing) or the agent refused it (REFUSED_STREAM, RFC 9113 §8.7), as happens while
   * an agent swaps connections. Asked once; undefined (or the same session) → the request fails as before.
   */
  retryOn?: (() => ClientHttp2Session | undefined) | undefined;
}

/** Error whose `code` the upstream error mapping reads (UPSTREAM_UNAVAILABLE / UPSTREAM_TIMEOUT). */
export class TunnelRequestError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'TunnelRequestError';
  }
}

export function tunnelHeaders(request: Pick<TunnelRequest, 'headers' | 'endpointUrl'>): {
  headers: OutgoingHttpHeaders;
  authority: string | undefined;
} {
  const headers: OutgoingHttpHeaders = {};
  return { headers, authority: copyTunnelHeaders(request, headers) };
}

/** Fills `headers` with what goes over the tunnel (see tunnelHeaders) and answers the client's Host. */
function copyTunnelHeaders(
  request: Pick<TunnelRequest, 'headers' | 'endpointUrl'>,
  headers: OutgoingHttpHeaders,
): string | undefined {
  let authority: string | undefined;
  for (let index = 0; index + 1 < request.headers.length; index += 2) {
    const name = request.headers[index]!.toLowerCase();
    const value = request.headers[index + 1]!;
    if (name === 'host') authority = value;
    if (notForHttp2.has(name) || name.startsWith(':')) continue;
    if (name === 'te' && value.trim().toLowerCase() !== 'trailers') continue;
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else headers[name] = Array.isArray(existing) ? [...existing, value] : [String(existing), value];
  }
  headers[AGENT_ENDPOINT_HEADER] = request.endpointUrl;
  return authority;
}

export function dispatchOverTunnel(
  session: ClientHttp2Session,
  request: TunnelRequest,
  handler: Dispatcher.DispatchHandler,
): void {
  // One object, pseudo-headers included: node:http2 copies and validates whatever it is given once more, so the
  // spread copies this used to make were pure cost on every request.
  const headers: OutgoingHttpHeaders = { ':method': request.method, ':path': request.path };
  const authority = copyTunnelHeaders(request, headers);
  if (authority !== undefined) headers[':authority'] = authority;
  const body = request.body;
  // A buffered body (the data plane read it whole: MCP JSON, replaced text) is sent with its length, as undici does
  // for the direct path. The agent then hands its upstream one write with content-length instead of a chunked body
  // (the chunked terminator was a second write to the upstream per request), and nghttp2 checks the length.
  // An empty one ends the stream with the headers, as no body does.
  const bodiless = body === null || (Buffer.isBuffer(body) && body.length === 0);
  if (!bodiless && Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
  const exchange = new TunnelExchange(request, handler, headers, bodiless);
  handler.onRequestStart?.(exchange, {});
  if (exchange.aborted) return;
  exchange.open(session);
}

/** The exchange a tunnel stream belongs to, so its listeners can be shared functions instead of closures. */
const kExchange = Symbol('tunnelExchange');
type TunnelStream = ClientHttp2Stream & { [kExchange]?: TunnelExchange };

/**
 * One request over the tunnel; also its DispatchController. The stream's listeners are the module functions below
 * (one set for every stream, reaching the exchange through the stream), so a request allocates this object and its
 * stream, not a closure per listener: per-request allocations were a visible share of the data plane's scavenges.
 */
class TunnelExchange implements Dispatcher.DispatchController {
  #aborted = false;
  #paused = false;
  #reason: Error | null = null;
  #finished = false;
  /** Only a body the data plane holds whole can be sent again; a streamed one may be partly consumed. */
  #retryOn: (() => ClientHttp2Session | undefined) | undefined;
  // The stream in flight and what happened to it (a retry starts these over on the other connection's stream).
  #stream: TunnelStream | undefined;
  #session: ClientHttp2Session | undefined;
  #responded = false;
  #timedOut = false;
  #streamError: Error | undefined;

  constructor(
    private readonly request: TunnelRequest,
    private readonly handler: Dispatcher.DispatchHandler,
    private readonly headers: OutgoingHttpHeaders,
    private readonly bodiless: boolean,
  ) {
    this.#retryOn = bodiless || Buffer.isBuffer(request.body) ? request.retryOn : undefined;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  abort(error: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = error;
    const stream = this.#stream;
    if (stream !== undefined && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
    this.#fail(error);
  }

  pause(): void {
    this.#paused = true;
    this.#stream?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#stream?.resume();
  }

  open(on: ClientHttp2Session): void {
    let stream: TunnelStream;
    try {
      stream = openRequest(on, this.headers, this.bodiless);
    } catch (error) {
      const next = this.#nextSession(on);
      if (next !== undefined) return this.open(next);
      this.#fail(new TunnelRequestError(`the agent tunnel refused a new stream: ${String(error)}`, 'UND_ERR_SOCKET'));
      return;
    }
    this.#stream = stream;
    this.#session = on;
    this.#responded = false;
    this.#timedOut = false;
    this.#streamError = undefined;
    stream[kExchange] = this;
    stream.setTimeout(this.request.idleTimeoutMs, onStreamTimeout);
    const body = this.request.body;
    if (!this.bodiless && body !== null) {
      if (Buffer.isBuffer(body)) stream.end(body);
      else pipeline(body, stream, ignore);
    }
    stream.on('response', onStreamResponse);
    stream.on('data', onStreamData);
    stream.on('end', onStreamEnd);
    // A reset arrives as 'error' then 'close': the close decides, with the reset code at hand.
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
  }

  timedOut(stream: TunnelStream): void {
    this.#timedOut = true;
    stream.close(constants.NGHTTP2_CANCEL);
  }

  response(responseHeaders: IncomingHttpHeaders): void {
    this.#responded = true;
    if (this.#aborted) return;
    const status = Number(responseHeaders[':status'] ?? 502);
    // node:http2 builds this object for this stream alone (a dictionary already: no shape to lose by a delete), and
    // a response carries no pseudo-header but :status, so it is passed on without it rather than copied.
    delete responseHeaders[':status'];
    this.handler.onResponseStart?.(this, status, responseHeaders, '');
  }

  data(chunk: Buffer): void {
    if (this.#aborted) return;
    this.handler.onResponseData?.(this, chunk);
  }

  end(): void {
    // A stream closed before any response head also ends its readable side: the peer reset it with NO_ERROR, or
    // it was cut by the session's GOAWAY/teardown (a revoked session, a draining agent). That is no answer: the
    // close below fails it. Taken for the end of a response, it left the client's request waiting for its idle
    // timeout, with nothing to write.
    if (this.#aborted || this.#finished || !this.#responded) return;
    this.#finished = true;
    this.handler.onResponseEnd?.(this, {});
  }

  error(error: Error): void {
    this.#streamError = error;
  }

  closed(stream: TunnelStream): void {
    if (this.#finished || this.#aborted) return;
    if (!this.#responded && stream.rstCode === constants.NGHTTP2_REFUSED_STREAM) {
      const next = this.#nextSession(this.#session!);
      if (next !== undefined) return this.open(next);
    }
    const streamError = this.#streamError;
    this.#fail(
      this.#timedOut
        ? new TunnelRequestError('the agent did not answer in time', 'UND_ERR_HEADERS_TIMEOUT')
        : stream.rstCode === constants.NGHTTP2_CONNECT_ERROR
          ? new TunnelRequestError("the agent could not reach the endpoint's local upstream", 'ECONNREFUSED')
          : new TunnelRequestError(
              `the agent tunnel closed the stream (code ${stream.rstCode ?? 'none'}${streamError === undefined ? '' : `: ${streamError.message}`})`,
              'UND_ERR_SOCKET',
            ),
    );
  }

  #fail(error: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.handler.onResponseError?.(this, error);
  }

  /** The other connection for an unprocessed request, once. */
  #nextSession(current: ClientHttp2Session): ClientHttp2Session | undefined {
    const next = this.#retryOn?.();
    this.#retryOn = undefined;
    return next === undefined || next === current || next.closed || next.destroyed ? undefined : next;
  }
}

// The listeners of every tunnel stream (`this` is the stream); each event goes to the exchange that opened it.
function onStreamTimeout(this: TunnelStream): void {
  this[kExchange]?.timedOut(this);
}
function onStreamResponse(this: TunnelStream, headers: IncomingHttpHeaders): void {
  this[kExchange]?.response(headers);
}
function onStreamData(this: TunnelStream, chunk: Buffer): void {
  this[kExchange]?.data(chunk);
}
function onStreamEnd(this: TunnelStream): void {
  this[kExchange]?.end();
}
function onStreamError(this: TunnelStream, error: Error): void {
  this[kExchange]?.error(error);
}
function onStreamClose(this: TunnelStream): void {
  const exchange = this[kExchange];
  // 'close' is a stream's last event: the link goes now. A closed stream can stay reachable for a while (node:http2's
  // own stream tables did: replaceStreamTables in @gatehouse/runtime), and through this link the whole request
  // behind it stayed alive too, into the old generation (before the tables were replaced: data plane CPU per
  // tunnelled request 76 → 56 µs with this alone).
  this[kExchange] = undefined;
  exchange?.closed(this);
}
function ignore(): void {}
