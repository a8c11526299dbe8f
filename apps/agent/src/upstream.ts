import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { connect as http2Connect, constants, type ClientHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { AGENT_ENDPOINT_HEADER, type AgentEndpointDeclaration } from '@gatehouse/contracts';

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
  readonly #http = new HttpAgent({ keepAlive: true, maxSockets: 256 });
  readonly #https = new HttpsAgent({ keepAlive: true, maxSockets: 256 });
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
    this.#http.destroy();
    this.#https.destroy();
    for (const session of this.#http2Sessions.values()) session.destroy();
    this.#http2Sessions.clear();
  }

  #viaHttp1(
    endpoint: AgentEndpointDeclaration,
    stream: ServerHttp2Stream,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    const upstream = new URL(endpoint.upstream);
    const secure = upstream.protocol === 'https:';
    const outgoing = requestHeadersOf(headers);
    outgoing.host = String(headers[':authority'] ?? upstream.host);
    const request = (secure ? httpsRequest : httpRequest)({
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port,
      method: String(headers[':method']),
      path: String(headers[':path'] ?? '/'),
      headers: outgoing,
      agent: secure ? this.#https : this.#http,
      servername: secure ? upstream.hostname : undefined,
    });
    // A reset stream (the client left, or the data plane dropped the tunnel) ends the upstream exchange too.
    let delivered = false;
    stream.once('close', () => {
      if (!delivered) request.destroy();
    });
    request.once('response', (response: IncomingMessage) => {
      if (stream.destroyed) {
        response.destroy();
        return;
      }
      stream.respond({ ':status': response.statusCode ?? 502, ...responseHeadersOf(response.headers) });
      pipeline(response, stream, (error) => (delivered = error === undefined || error === null));
    });
    request.once('error', (error) => this.#upstreamFailed(endpoint, stream, error));
    request.setNoDelay(true);
    pipeline(stream, request, () => undefined);
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

function requestHeadersOf(headers: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const outgoing: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || hopByHop.has(name) || name === AGENT_ENDPOINT_HEADER) continue;
    outgoing[name] = value;
  }
  return outgoing;
}

function responseHeadersOf(headers: IncomingMessage['headers']): OutgoingHttpHeaders {
  const outgoing: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || hopByHop.has(name)) continue;
    outgoing[name] = value;
  }
  return outgoing;
}
