import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { HeaderMap } from '@gatehouse/traffic-policy';
import type { ClientIpResolver } from './client-ip.js';
import { headerMapOf, requestTargetOf } from './headers.js';
import { RequestRecord, traceIdOf } from './request-record.js';

/** What the HTTP and the WebSocket-upgrade paths read off an incoming request before routing it. */
export interface IncomingRequest {
  scheme: 'http' | 'https';
  hostHeader: string;
  host: string;
  port: string;
  path: string;
  query: string;
  method: string;
  headers: HeaderMap;
  clientIp: string;
  record: RequestRecord;
}

/**
 * Steps 2–3 of the request path, shared by both entry points: the request target (Host without port, lower-case),
 * the headers as the engine sees them, and the client IP (the socket peer, or X-Forwarded-For when the peer is a
 * trusted proxy) — and the record that becomes the request event.
 */
export function readIncomingRequest(req: IncomingMessage, clientIps: ClientIpResolver): IncomingRequest {
  const socket = req.socket;
  const scheme = (socket as TLSSocket).encrypted === true ? 'https' : 'http';
  const { hostHeader, host, port, path, query } = requestTargetOf(req.url ?? '/', req.headers.host);
  const method = req.method ?? 'GET';
  const headers = headerMapOf(req.rawHeaders);
  const clientIp = clientIps.clientIpOf(socket.remoteAddress, headers.get('x-forwarded-for'));
  const record = new RequestRecord(
    method,
    host,
    path,
    query,
    clientIp,
    headers.get('user-agent')?.[0] ?? '',
    traceIdOf(headers.get('traceparent')?.[0]),
  );
  return { scheme, hostHeader, host, port, path, query, method, headers, clientIp, record };
}
