import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { connect as http2Connect, constants, type ClientHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { AGENT_ENDPOINT_HEADER, type AgentEndpointDeclaration } from '@gatehouse/contracts';
import { Agent as UndiciAgent, type Dispatcher } from 'undici';

/**
 * One proxied stream from the data plane → the endpoint's local upstream, both bodies streamed with back-pressure
 * (`pipeline`), so SSE events pass one by one and a 5 MB upload never sits in memory. A stream the data plane resets
 * (its client went away) destroys the upstream request at once.
 */

/** Connection-specific headers (RFC 9113 §8.2.2): never carried between HTTP/1.1 and HTTP/2. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'http2-settings',
  'host',
]);

export interface UpstreamStats {
  requests: number;
  inFlight: number;
  upstreamErrors: number;
}

export type Log = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export class UpstreamForwarder {
  /**
   * Keep-alive pool to the local upstreams (http and https), up to 256 connections per origin. No timeouts of its
   * own: the data plane's idle timeout governs, and an SSE stream may idle for long.
   */
  readonly #http = new UndiciAgent({ connections: 256, headersTimeout: 0, bodyTimeout: 0 });
  readonly #upstreamUrls = new Map<string, URL>();
  readonly #http2Sessions = new Map<string, ClientHttp2Session>();

  constructor(
    private readonly endpoints: ReadonlyMap<string, AgentEndpointDeclaration>,
    private readonly stats: UpstreamStats,
    private readonly log: Log,
  ) {}

  handle(stream: ServerHttp2Stream, headers: Record<string, string | string[] | undefined>): void {
    const endpointUrl = String(headers[AGENT_ENDPOINT_HEADER] ?? '');
    const endpoint = this.endpoints.get(endpointUrl);
    if (endpoint === undefined) {
      respondError(stream, 404, 'ENDPOINT_NOT_FOUND', `this agent does not serve ${endpointUrl || '(no endpoint)'}`);
      return;
    }
    this.stats.requests++;
    this.stats.inFlight++;
    let counted = true;
    const done = (): void => {
      if (!counted) return;
      counted = false;
      this.stats.inFlight--;
    };
    stream.once('close', done);
    const method = String(headers[':method']);
    if (method === 'CONNECT' && headers[':protocol'] === 'websocket') {
      this.#websocket(endpoint, stream, headers);
      return;
    }
    if (endpoint.upstream_protocol === 'http2') this.#viaHttp2(endpoint, stream, headers);
    else this.#viaHttp1(endpoint, stream, headers);
  }

  close(): void {
    void this.#http.destroy().catch(() => undefined);
    for (const session of this.#http2Sessions.values()) session.destroy();
    this.#http2Sessions.clear();
  }

  /**
   * HTTP/1.1 upstreams through undici's dispatch API: the answer goes from its callbacks straight into the HTTP/2
   * stream, with no ClientRequest, IncomingMessage or pipeline per request (node:http's client and pipeline's
   * AbortController/DOMException were most of the agent's CPU per request under load). Back-pressure: a full stream
   * pauses undici's socket until 'drain'; undici pulls the request body from the HTTP/2 stream as it sends, and HTTP/2
   * flow control holds the data plane back meanwhile. Every way this exchange ends closes the stream: an answer ends
   * it, an upstream failure resets it (#upstreamFailed), and a stream the data plane resets aborts the exchange.
   */
  #viaHttp1(
    endpoint: AgentEndpointDeclaration,
    stream: ServerHttp2Stream,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    const upstream = this.#upstreamUrl(endpoint);
    // undici refuses `expect` (NotSupportedError); HTTP/2 has no 100-continue to carry anyway (RFC 9113 §8.1.1).
    const outgoing = requestHeadersOf(headers, 'expect');
    outgoing.host = String(headers[':authority'] ?? upstream.host);
    // END_STREAM on the headers (a GET): no body. The readable side is left unread on purpose: node:http2 ends it
    // when the stream closes, and destroys the stream once the last write of the answer has completed. Resumed here,
    // the stream was destroyed as soon as it closed, with that write still pending, and node built an
    // ERR_STREAM_DESTROYED error (with a full stack trace, unused) for every answer. (A body's END_STREAM ends the
    // readable side as it arrives: a body taken whole below is held back for that reason.)
    if (stream.endAfterHeaders) {
      this.#dispatchHttp1(endpoint, stream, headers, upstream, outgoing, null);
      return;
    }
    // A body with a declared length waits for its first chunk: when that chunk is the whole body (the usual case: the
    // data plane sends a buffered body in one DATA frame, right behind the headers) it goes to undici as a Buffer,
    // which writes head and body at once with content-length and no async iteration. Otherwise the first chunk leads
    // the rest of the stream; nothing is held beyond the chunk that already arrived, so bodies still stream.
    // (undici writes no byte of a request before its body's first chunk anyway.)
    const declared = Number(headers['content-length']);
    if (Number.isSafeInteger(declared) && declared > 0) {
      const onFirst = (first: Buffer): void => {
        // Paused before anything else is emitted: without a 'data' listener a flowing stream would drop chunks.
        stream.pause();
        if (first.length >= declared) {
          // nghttp2 holds the peer to content-length: nothing follows but the end. The chunk also goes back into the
          // readable side until the answer is written: with the readable side drained, the END_STREAM behind it ends
          // the stream's readable half at once and the stream was destroyed before the answer's last write completed
          // (the same unused ERR_STREAM_DESTROYED as above). Once the answer is finished it is let go, and node:http2
          // destroys the stream. A reset destroys it whatever is buffered.
          stream.unshift(first);
          stream.once('finish', () => stream.resume());
          this.#dispatchHttp1(endpoint, stream, headers, upstream, outgoing, first);
        } else {
          const rest = stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
          this.#dispatchHttp1(endpoint, stream, headers, upstream, outgoing, prefixed(first, rest));
        }
      };
      stream.once('data', onFirst);
      return;
    }
    // Otherwise the body goes as an async iterator, not the stream: undici destroys a stream body once it has sent
    // it, which would reset the HTTP/2 stream before the answer is written (destroyOnReturn: false keeps it open).
    this.#dispatchHttp1(
      endpoint,
      stream,
      headers,
      upstream,
      outgoing,
      stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>,
    );
  }

  #dispatchHttp1(
    endpoint: AgentEndpointDeclaration,
    stream: ServerHttp2Stream,
    headers: Record<string, string | string[] | undefined>,
    upstream: URL,
    outgoing: OutgoingHttpHeaders,
    // (undici documents and accepts AsyncIterable bodies; its dispatch typings list only Readable.)
    body: Buffer | AsyncIterable<Buffer> | null,
  ): void {
    let controller: Dispatcher.DispatchController | undefined;
    let delivered = false;
    /** The answer has no body: its HEADERS frame ended the stream. */
    let empty = false;
    // A reset stream (the client left, or the data plane dropped the tunnel) ends the upstream exchange too.
    stream.once('close', () => {
      if (!delivered) controller?.abort(new Error('the tunnel stream closed'));
    });
    // Listened for only while undici is paused on a full stream (most answers never fill it).
    const onDrain = (): void => controller?.resume();
    try {
      this.#http.dispatch(
        {
          origin: upstream.origin,
          path: String(headers[':path'] ?? '/'),
          method: String(headers[':method']),
          headers: outgoing as Record<string, string | string[]>,
          body: body as Dispatcher.DispatchOptions['body'],
        },
        {
          onRequestStart: (started) => {
            controller = started;
            if (stream.destroyed) started.abort(new Error('the tunnel stream closed'));
          },
          onResponseStart: (_controller, status, responseHeaders) => {
            if (stream.destroyed) return;
            const forwarded = responseHeadersOf(responseHeaders);
            forwarded[':status'] = status;
            // An answer without a body ends the stream with its HEADERS frame (END_STREAM): no DATA frame or shutdown
            // after it. (node:http2 does so itself for HEAD, 204 and 304; content-length 0 it leaves to us.)
            if (responseHeaders['content-length'] === '0') {
              empty = true;
              stream.respond(forwarded, { endStream: true });
            } else stream.respond(forwarded);
          },
          onResponseData: (active, chunk) => {
            if (!empty && !stream.destroyed && !stream.write(chunk) && !active.paused) {
              active.pause();
              stream.once('drain', onDrain);
            }
          },
          onResponseEnd: () => {
            delivered = true;
            if (!empty && !stream.destroyed) stream.end();
          },
          onResponseError: (_controller, error) => this.#upstreamFailed(endpoint, stream, error),
        },
      );
    } catch (error) {
      // A dispatcher that refuses synchronously (closed, bad header) must still end the stream, or the data plane's
      // request would wait for its idle timeout.
      this.#upstreamFailed(endpoint, stream, error instanceof Error ? error : new Error(String(error)));
    }
  }

  #upstreamUrl(endpoint: AgentEndpointDeclaration): URL {
    let url = this.#upstreamUrls.get(endpoint.upstream);
    if (url === undefined) this.#upstreamUrls.set(endpoint.upstream, (url = new URL(endpoint.upstream)));
    return url;
  }

  #viaHttp2(
    endpoint: AgentEndpointDeclaration,
    stream: ServerHttp2Stream,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    let session = this.#http2Sessions.get(endpoint.upstream);
    if (session === undefined || session.closed || session.destroyed) {
      session = http2Connect(endpoint.upstream);
      const created = session;
      created.on('error', () => undefined);
      created.once('close', () => {
        if (this.#http2Sessions.get(endpoint.upstream) === created) this.#http2Sessions.delete(endpoint.upstream);
      });
      this.#http2Sessions.set(endpoint.upstream, created);
    }
    const outgoing: OutgoingHttpHeaders = requestHeadersOf(headers);
    const request = session.request({
      ...outgoing,
      ':method': String(headers[':method']),
      ':path': String(headers[':path'] ?? '/'),
      ':authority': String(headers[':authority'] ?? new URL(endpoint.upstream).host),
    });
    let delivered = false;
    stream.once('close', () => {
      if (!delivered && !request.destroyed) request.close(constants.NGHTTP2_CANCEL);
    });
    request.once('response', (responseHeaders) => {
      if (stream.destroyed) return;
      const status = Number(responseHeaders[':status'] ?? 502);
      const forwarded: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(responseHeaders))
        if (!name.startsWith(':') && !hopByHop.has(name)) forwarded[name] = value;
      stream.respond({ ':status': status, ...forwarded });
      pipeline(request, stream, (error) => (delivered = error === undefined || error === null));
    });
    request.once('error', (error: Error) => this.#upstreamFailed(endpoint, stream, error));
    pipeline(stream, request, () => undefined);
  }

  /** RFC 8441 extended CONNECT from the data plane → an HTTP/1.1 WebSocket upgrade to the upstream, then spliced. */
  #websocket(
    endpoint: AgentEndpointDeclaration,
    stream: ServerHttp2Stream,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    const upstream = new URL(endpoint.upstream);
    const secure = upstream.protocol === 'https:';
    const outgoing = requestHeadersOf(headers);
    outgoing.host = String(headers[':authority'] ?? upstream.host);
    outgoing.connection = 'Upgrade';
    outgoing.upgrade = 'websocket';
    const request = (secure ? httpsRequest : httpRequest)({
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port,
      method: 'GET',
      path: String(headers[':path'] ?? '/'),
      headers: outgoing,
      servername: secure ? upstream.hostname : undefined,
    });
    request.once('upgrade', (response: IncomingMessage, socket: Socket, head: Buffer) => {
      if (stream.destroyed) {
        socket.destroy();
        return;
      }
      // The handshake answer (sec-websocket-accept for the client's key, the chosen subprotocol) goes back as headers.
      stream.respond({ ':status': 200, ...responseHeadersOf(response.headers) });
      if (head.length > 0) socket.unshift(head);
      socket.setNoDelay(true);
      pipeline(socket, stream, () => socket.destroy());
      pipeline(stream, socket, () => socket.destroy());
    });
    request.once('response', (response: IncomingMessage) => {
      if (stream.destroyed) return;
      stream.respond({ ':status': response.statusCode ?? 502, ...responseHeadersOf(response.headers) });
      pipeline(response, stream, () => undefined);
    });
    request.once('error', (error) => this.#upstreamFailed(endpoint, stream, error));
    stream.once('close', () => request.destroy());
    request.end();
  }

  #upstreamFailed(endpoint: AgentEndpointDeclaration, stream: ServerHttp2Stream, error: Error): void {
    if (stream.destroyed || stream.closed) return;
    this.stats.upstreamErrors++;
    this.log('warn', 'upstream request failed', {
      endpoint: endpoint.name,
      upstream: endpoint.upstream,
      error: error.message,
    });
    // Not a 502 of ours: the data plane does not trust error codes in responses (an upstream could forge them). A
    // reset with CONNECT_ERROR before any headers is what it reads as "the agent's upstream is unreachable", and
    // it answers 502 UPSTREAM_UNAVAILABLE itself; after the headers the reset cuts the client's stream.
    stream.close(stream.headersSent ? constants.NGHTTP2_INTERNAL_ERROR : constants.NGHTTP2_CONNECT_ERROR);
  }
}

export function respondError(stream: ServerHttp2Stream, status: number, code: string, message: string): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({
    ':status': status,
    'content-type': 'text/plain; charset=utf-8',
    'gatehouse-error-code': code,
  });
  stream.end(`Gatehouse agent: ${message}.\n`);
}

async function* prefixed(first: Buffer, rest: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  yield first;
  yield* rest;
}

/** `also`: one more header to leave out. (for-in, not Object.entries: no array per header on every request.) */
function requestHeadersOf(headers: Record<string, string | string[] | undefined>, also?: string): OutgoingHttpHeaders {
  const outgoing: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name.charCodeAt(0) === 0x3a /* ':' */ || hopByHop.has(name)) continue;
    if (name === AGENT_ENDPOINT_HEADER || name === also) continue;
    outgoing[name] = value;
  }
  return outgoing;
}

function responseHeadersOf(headers: IncomingMessage['headers']): OutgoingHttpHeaders {
  const outgoing: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || hopByHop.has(name)) continue;
    outgoing[name] = value;
  }
  return outgoing;
}
