import { STATUS_CODES, request as httpRequest, type IncomingMessage } from 'node:http';
import { constants, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import type { SyncAgentEndpoint } from '@gatehouse/contracts';
import type { SyntheticResponse } from '@gatehouse/traffic-policy';
import { tunnelHeaders } from '../agent/tunnel-dispatch.js';
import { admitRequest, upstreamHeadersFor, type AdmittedRequest } from './admit-request.js';
import { isValidHeaderName, isValidHeaderValue, syntheticHeaderList } from './headers.js';
import { gatewayError, type UpstreamEndpoint } from './policy-chain.js';
import { OutboundRefusedError } from '../ports/outbound-guard.js';
import type { ProxyDependencies } from './proxy-dependencies.js';
import { upstreamErrorCode, upstreamErrorMessage } from './upstream-exchange.js';
import { goingAwayFrame, WebSocketFrameRelay } from './long-lived-streams.js';

/**
 * WebSocket (and any HTTP/1.1 Upgrade) pass-through. The upgrade request goes through the same admission as any
 * request (`admit-request.ts`: routing, on_tcp_connect, on_http_request) — a deny answers before the upstream is
 * contacted — then the two sockets are spliced together. on_http_response does not run: after 101 there is no HTTP
 * response to act on, only frames.
 */
export function createUpgradeProxy(
  deps: ProxyDependencies,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => void proxyUpgrade(deps, req, socket, head);
}

/** Admission, then its outcome written onto the raw socket (node:http no longer writes to it). Never rejects. */
async function proxyUpgrade(
  deps: ProxyDependencies,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  try {
    // node:http no longer tracks this socket: the drain must be able to find it (long-lived-streams.ts).
    deps.streams.track(socket);
    socket.on('error', () => socket.destroy());
    const admission = await admitRequest(deps, req, undefined);
    const record = admission.record;
    switch (admission.kind) {
      case 'failed':
        dropUnexpectedError(deps, req, socket, admission.error);
        return;
      case 'not-found':
      case 'respond':
        writeRawResponse(socket, admission.response);
        record.finish(admission.response.status, deps.sink, deps.metrics);
        return;
      case 'closed':
        socket.destroy();
        record.finish(499, deps.sink, deps.metrics);
        return;
      case 'upstream':
        spliceUpstream(deps, admission.admitted, admission.target, head);
        return;
      case 'provider': {
        // ai-gateway needs a JSON body, which an upgrade never has; a provider answer here is dropped, not spliced.
        admission.response.discard();
        const response = gatewayError('AI_GATEWAY_BAD_REQUEST', 'ai-gateway does not take upgrade requests.');
        writeRawResponse(socket, response);
        record.finish(response.status, deps.sink, deps.metrics);
        return;
      }
    }
  } catch (error) {
    dropUnexpectedError(deps, req, socket, error);
  }
}

function dropUnexpectedError(deps: ProxyDependencies, req: IncomingMessage, socket: Duplex, error: unknown): void {
  deps.logger.error({ err: error, url: req.url }, 'unexpected error on the upgrade path');
  socket.destroy();
}

/** 5: the upgrade request to the upstream; on its 101 the client and upstream sockets are piped into each other. */
function spliceUpstream(
  deps: ProxyDependencies,
  admitted: AdmittedRequest<undefined>,
  target: UpstreamEndpoint,
  head: Buffer,
): void {
  const { request, record } = admitted;
  // The same connection node:http handed to the 'upgrade' event.
  const socket = admitted.socket;
  const upstreamUrl = new URL(target.upstream.origin);
  const outgoing = upstreamHeadersFor(deps, admitted, target, false);
  // node:http wants an object; repeated headers become arrays. Upgrade and Connection are hop-by-hop, so they were
  // dropped above and are set again for this hop.
  const outgoingHeaders: Record<string, string | string[]> = {};
  for (let index = 0; index < outgoing.length; index += 2) {
    const name = outgoing[index]!;
    const existing = outgoingHeaders[name];
    outgoingHeaders[name] =
      existing === undefined
        ? outgoing[index + 1]!
        : [...(Array.isArray(existing) ? existing : [existing]), outgoing[index + 1]!];
  }
  outgoingHeaders.connection = 'Upgrade';
  const protocol = request.headers.get('upgrade')?.[0] ?? 'websocket';
  outgoingHeaders.upgrade = protocol;
  if (target.agent !== undefined) {
    spliceThroughAgent(deps, admitted, target, target.agent, head, outgoing, protocol);
    return;
  }

  // The outbound rules (outbound-guard.ts): an IP literal or localhost is judged now, a name by `lookup`, the peer
  // actually connected once the socket is up.
  const upstreamPort = Number(upstreamUrl.port || (upstreamUrl.protocol === 'https:' ? 443 : 80));
  const before = deps.outbound.checkHost(upstreamUrl.hostname, upstreamPort);
  if (!before.allowed) {
    refuseUpgrade(deps, admitted, new OutboundRefusedError(before));
    return;
  }
  record.markUpstreamStart();
  const send = upstreamUrl.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstreamRequest = send({
    host: upstreamUrl.hostname,
    port: upstreamUrl.port,
    lookup: deps.outbound.lookup,
    method: request.method,
    path: `${target.upstream.basePath}${request.path}${request.query === '' ? '' : `?${request.query}`}`,
    headers: outgoingHeaders,
    timeout: deps.idleTimeoutMs,
  });
  socket.once('close', () => upstreamRequest.destroy());
  upstreamRequest.once('socket', (upstreamSocket) =>
    upstreamSocket.once('connect', () => {
      const refused = deps.outbound.checkSocket(upstreamSocket, upstreamUrl.hostname);
      if (refused !== undefined) upstreamRequest.destroy(refused);
    }),
  );
  upstreamRequest.on('upgrade', (response, upstreamSocket, upstreamHead) => {
    record.markUpstreamHeaders();
    const lines = [statusLine(response.statusCode ?? 101, response.statusMessage, 'Switching Protocols')];
    pushRawHeaders(lines, response.rawHeaders, noSkippedHeaders);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (upstreamHead.length > 0) socket.write(upstreamHead);
    if (head.length > 0) upstreamSocket.write(head);
    upstreamSocket.on('error', () => socket.destroy());
    socket.on('error', () => upstreamSocket.destroy());
    upstreamSocket.once('close', () => socket.destroy());
    socket.once('close', () => upstreamSocket.destroy());
    deps.streams.track(upstreamSocket);
    if (protocol.toLowerCase() === 'websocket') spliceWebSocket(deps, socket, upstreamSocket);
    else {
      // Another protocol: its framing is unknown, so a drain can only cut it after the grace.
      upstreamSocket.pipe(socket);
      socket.pipe(upstreamSocket);
      const unregister = deps.streams.add(() => socket.destroy());
      socket.once('close', unregister);
    }
    record.finish(response.statusCode ?? 101, deps.sink, deps.metrics);
  });
  upstreamRequest.on('response', (response) => {
    // The upstream declined the upgrade: relay its answer as a normal response and close.
    record.markUpstreamHeaders();
    const lines = [statusLine(response.statusCode ?? 502, response.statusMessage, '')];
    pushRawHeaders(lines, response.rawHeaders, declinedUpgradeSkippedHeaders);
    lines.push('connection: close');
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    response.pipe(socket);
    record.finish(response.statusCode ?? 502, deps.sink, deps.metrics);
  });
  upstreamRequest.on('timeout', () =>
    upstreamRequest.destroy(Object.assign(new Error('upstream timeout'), { code: 'UND_ERR_HEADERS_TIMEOUT' })),
  );
  upstreamRequest.on('error', (error: NodeJS.ErrnoException) => refuseUpgrade(deps, admitted, error));
  upstreamRequest.end();
}

/**
 * An agent endpoint: the upgrade goes over the tunnel as an RFC 8441 extended CONNECT stream (`:protocol: websocket`,
 * the client's Sec-WebSocket-* headers carried along so the agent's HTTP/1.1 upgrade to its upstream answers this
 * client's key); the agent's 200 becomes the client's 101, then frames are relayed between the socket and the stream.
 */
function spliceThroughAgent(
  deps: ProxyDependencies,
  admitted: AdmittedRequest<undefined>,
  target: UpstreamEndpoint,
  agent: SyncAgentEndpoint,
  head: Buffer,
  outgoing: readonly string[],
  protocol: string,
): void {
  const { request, record, socket } = admitted;
  const connection = deps.agentTunnels?.pick(target.facts.id, agent);
  const refuse = (code: 'ENDPOINT_OFFLINE' | 'UPSTREAM_UNAVAILABLE', message: string) => {
    record.errorCode = code;
    const response = gatewayError(code, message);
    writeRawResponse(socket, response);
    record.finish(response.status, deps.sink, deps.metrics);
  };
  if (connection === undefined) {
    refuse('ENDPOINT_OFFLINE', `no agent serving ${target.facts.url} is connected.`);
    return;
  }
  if (protocol.toLowerCase() !== 'websocket') {
    refuse('UPSTREAM_UNAVAILABLE', 'only WebSocket upgrades pass through an agent tunnel.');
    return;
  }
  const { headers, authority } = tunnelHeaders({ headers: outgoing, endpointUrl: target.facts.url });
  record.markUpstreamStart();
  let stream: ClientHttp2Stream;
  try {
    stream = connection.session.request({
      ...headers,
      ':method': 'CONNECT',
      ':protocol': 'websocket',
      ':scheme': 'http',
      ':path': `${request.path}${request.query === '' ? '' : `?${request.query}`}`,
      ':authority': authority ?? target.upstream.host,
    });
  } catch (error) {
    deps.logger.warn({ err: error, endpoint: target.facts.id }, 'the agent tunnel refused a WebSocket stream');
    refuse('UPSTREAM_UNAVAILABLE', upstreamErrorMessage('UPSTREAM_UNAVAILABLE'));
    return;
  }
  let answered = false;
  stream.on('error', () => undefined);
  socket.once('close', () => stream.close(constants.NGHTTP2_CANCEL));
  stream.once('close', () => {
    if (!answered) refuse('UPSTREAM_UNAVAILABLE', upstreamErrorMessage('UPSTREAM_UNAVAILABLE'));
    else socket.destroy();
  });
  stream.once('response', (responseHeaders: IncomingHttpHeaders) => {
    answered = true;
    record.markUpstreamHeaders();
    const status = Number(responseHeaders[':status'] ?? 502);
    const rawHeaders: string[] = [];
    for (const [name, value] of Object.entries(responseHeaders)) {
      if (name.startsWith(':') || value === undefined) continue;
      for (const item of [value].flat()) rawHeaders.push(name, String(item));
    }
    if (status !== 200) {
      // The upstream declined the upgrade: its answer is relayed as a normal response, then the connection closes.
      const lines = [statusLine(status, undefined, STATUS_CODES[status] ?? '')];
      pushRawHeaders(lines, rawHeaders, declinedUpgradeSkippedHeaders);
      lines.push('connection: close');
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      stream.pipe(socket);
      record.finish(status, deps.sink, deps.metrics);
      return;
    }
    const lines = ['HTTP/1.1 101 Switching Protocols', 'connection: Upgrade', 'upgrade: websocket'];
    pushRawHeaders(lines, rawHeaders, declinedUpgradeSkippedHeaders);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) stream.write(head);
    socket.on('error', () => stream.close(constants.NGHTTP2_CANCEL));
    deps.streams.track(stream);
    spliceWebSocket(deps, socket, stream);
    record.finish(101, deps.sink, deps.metrics);
  });
}

/**
 * Relays frames both ways; on a drain each direction stops at a frame boundary and its receiver gets a close frame
 * 1001 Going Away (the client reconnects elsewhere, the upstream sees an orderly close), then the sockets are ended.
 * A peer that never finishes its frame or never closes is cut a second later.
 */
function spliceWebSocket(deps: ProxyDependencies, socket: Duplex, upstreamSocket: Duplex): void {
  const toClient = new WebSocketFrameRelay(upstreamSocket, socket);
  const toUpstream = new WebSocketFrameRelay(socket, upstreamSocket);
  const unregister = deps.streams.add(() => {
    toClient.stop(() => socket.end(goingAwayFrame(false)));
    toUpstream.stop(() => upstreamSocket.end(goingAwayFrame(true)));
    setTimeout(() => {
      socket.destroy();
      upstreamSocket.destroy();
    }, 1_000).unref();
  });
  socket.once('close', unregister);
}

/** The upstream could not be used: the client gets the gateway's error response (the details go to the log). */
function refuseUpgrade(deps: ProxyDependencies, admitted: AdmittedRequest<undefined>, error: unknown): void {
  const { socket, record } = admitted;
  if (socket.destroyed) return;
  const code = upstreamErrorCode(error);
  if (error instanceof OutboundRefusedError)
    deps.logger.warn({ endpoint: record.endpoint?.facts.url, problem: error.message }, 'upstream refused');
  record.errorCode = code;
  const response = gatewayError(code, upstreamErrorMessage(code));
  writeRawResponse(socket, response);
  record.finish(response.status, deps.sink, deps.metrics);
}

const noSkippedHeaders: ReadonlySet<string> = new Set();
const declinedUpgradeSkippedHeaders: ReadonlySet<string> = new Set([
  'gatehouse-error-code',
  'connection',
  'transfer-encoding',
]);
/** The raw writer below sets the framing itself; a policy's own framing headers would contradict it. */
const framingHeaders: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'connection']);

/**
 * Everything written here goes straight onto the client socket, with no node:http validation in between: every
 * header must be a token name and a value without CR, LF, NUL or other control characters (response splitting).
 */
function statusLine(status: number, message: string | undefined, fallback: string): string {
  const code = Number.isInteger(status) && status >= 100 && status <= 999 ? status : 502;
  const reason = message !== undefined && isValidHeaderValue(message) ? message : fallback;
  return `HTTP/1.1 ${code} ${reason}`;
}

function pushRawHeaders(lines: string[], rawHeaders: readonly string[], skipped: ReadonlySet<string>): void {
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!;
    const value = rawHeaders[index + 1]!;
    if (skipped.has(name.toLowerCase()) || !isValidHeaderName(name) || !isValidHeaderValue(value)) continue;
    lines.push(`${name}: ${value}`);
  }
}

function writeRawResponse(socket: Duplex, response: SyntheticResponse): void {
  socket.end(serializeRawResponse(response));
}

/** A gateway/policy response as HTTP/1.1 bytes for a socket that node:http no longer writes to (exported for tests). */
export function serializeRawResponse(response: SyntheticResponse): Buffer {
  const body = Buffer.from(response.body, 'utf8');
  const status =
    Number.isInteger(response.status) && response.status >= 100 && response.status <= 999 ? response.status : 500;
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`];
  // syntheticHeaderList leaves out invalid names and values (CR, LF, NUL…); framing is ours.
  const headers = syntheticHeaderList(response.headers);
  for (let index = 0; index < headers.length; index += 2) {
    if (framingHeaders.has(headers[index]!.toLowerCase())) continue;
    lines.push(`${headers[index]}: ${headers[index + 1]}`);
  }
  lines.push(`content-length: ${body.length}`, 'connection: close');
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), body]);
}
