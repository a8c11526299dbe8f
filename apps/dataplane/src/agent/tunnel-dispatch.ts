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
  let stream: ClientHttp2Stream | undefined;
  let aborted = false;
  let paused = false;
  let reason: Error | null = null;
  let finished = false;
  const fail = (error: Error): void => {
    if (finished) return;
    finished = true;
    handler.onResponseError?.(controller, error);
  };
  const controller: Dispatcher.DispatchController = {
    get aborted() {
      return aborted;
    },
    get paused() {
      return paused;
    },
    get reason() {
      return reason;
    },
    abort(error: Error) {
      if (aborted) return;
      aborted = true;
      reason = error;
      if (stream !== undefined && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
      fail(error);
    },
    pause() {
      paused = true;
      stream?.pause();
    },
    resume() {
      paused = false;
      stream?.resume();
    },
  };
  handler.onRequestStart?.(controller, {});
  if (aborted) return;
  // Only a body the data plane holds whole can be sent again; a streamed one may be partly consumed.
  let retryOn = bodiless || Buffer.isBuffer(body) ? request.retryOn : undefined;
  /** The other connection for an unprocessed request, once. */
  const nextSession = (current: ClientHttp2Session): ClientHttp2Session | undefined => {
    const next = retryOn?.();
    retryOn = undefined;
    return next === undefined || next === current || next.closed || next.destroyed ? undefined : next;
  };
  openStream(session);

  function openStream(on: ClientHttp2Session): void {
    try {
      stream = on.request(headers, { endStream: bodiless });
    } catch (error) {
      const next = nextSession(on);
      if (next !== undefined) return openStream(next);
      fail(new TunnelRequestError(`the agent tunnel refused a new stream: ${String(error)}`, 'UND_ERR_SOCKET'));
      return;
    }
    watchStream(on, stream);
  }

  function watchStream(on: ClientHttp2Session, opened: ClientHttp2Stream): void {
    let timedOut = false;
    opened.setTimeout(request.idleTimeoutMs, () => {
      timedOut = true;
      opened.close(constants.NGHTTP2_CANCEL);
    });
    if (!bodiless) {
      if (Buffer.isBuffer(body)) opened.end(body);
      else pipeline(body, opened, () => undefined);
    }
    let responded = false;
    opened.on('response', (responseHeaders: IncomingHttpHeaders) => {
      responded = true;
      if (aborted) return;
      const status = Number(responseHeaders[':status'] ?? 502);
      const plain: Record<string, string | string[] | undefined> = {};
      for (const name in responseHeaders)
        if (name.charCodeAt(0) !== 0x3a /* ':' */) plain[name] = responseHeaders[name];
      handler.onResponseStart?.(controller, status, plain, '');
    });
    opened.on('data', (chunk: Buffer) => {
      if (aborted) return;
      handler.onResponseData?.(controller, chunk);
    });
    opened.on('end', () => {
      // A stream closed before any response head also ends its readable side: the peer reset it with NO_ERROR, or
      // it was cut by the session's GOAWAY/teardown (a revoked session, a draining agent). That is no answer: the
      // close below fails it. Taken for the end of a response, it left the client's request waiting for its idle
      // timeout, with nothing to write.
      if (aborted || finished || !responded) return;
      finished = true;
      handler.onResponseEnd?.(controller, {});
    });
    // A reset arrives as 'error' then 'close': the close decides, with the reset code at hand.
    let streamError: Error | undefined;
    opened.on('error', (error: Error) => (streamError = error));
    opened.on('close', () => {
      if (finished || aborted) return;
      if (!responded && opened.rstCode === constants.NGHTTP2_REFUSED_STREAM) {
        const next = nextSession(on);
        if (next !== undefined) return openStream(next);
      }
      fail(
        timedOut
          ? new TunnelRequestError('the agent did not answer in time', 'UND_ERR_HEADERS_TIMEOUT')
          : opened.rstCode === constants.NGHTTP2_CONNECT_ERROR
            ? new TunnelRequestError("the agent could not reach the endpoint's local upstream", 'ECONNREFUSED')
            : new TunnelRequestError(
                `the agent tunnel closed the stream (code ${opened.rstCode ?? 'none'}${streamError === undefined ? '' : `: ${streamError.message}`})`,
                'UND_ERR_SOCKET',
              ),
      );
    });
  }
}
