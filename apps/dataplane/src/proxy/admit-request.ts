import { alwaysRedactedHeaders } from '@gatehouse/contracts';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  createPolicyContext,
  detectMcp,
  errorCodeHeader,
  evaluate,
  type ConnectionFacts,
  type HeaderMap,
  type RequestFacts,
  type SyntheticResponse,
} from '@gatehouse/traffic-policy';
import { routeByHost, unservedEndpointFor, type LoadedEndpoint, type RuntimeConfig } from '../config/runtime-config.js';
import { normalizeSocketAddress } from './client-ip.js';
import { headerMapOf, requestTargetOf, upstreamHeaders } from './headers.js';
import { cdnLoopHeader, detectLoop } from './loop-detection.js';
import {
  gatewayError,
  runRequestPhase,
  type Hop,
  type RequestPhaseInput,
  type UpstreamEndpoint,
} from './policy-chain.js';
import type { HeldProviderResponse } from './ai-providers.js';
import type { ProxyDependencies } from './proxy-dependencies.js';
import type { RequestBody } from './request-body.js';
import { requestLogCapturerFor } from './request-log-capture.js';
import { recordReplayFacts } from './replay-facts.js';
import { clientCertificateReader } from './client-certificate.js';
import { RequestRecord } from './request-record.js';
import { copyRequestForShadow } from './shadow-evaluation.js';

/**
 * A routed request and everything the request path learned about it, carried as one object from admission to the
 * upstream step (`forwardUpstream` and `UpstreamExchange` on HTTP, the splice on an upgrade) and the synthetic
 * responses. `Body` is the HTTP request body; an upgrade has none (`undefined`).
 */
export interface AdmittedRequest<
  Body extends RequestBody | undefined = RequestBody | undefined,
> extends RequestPhaseInput {
  /** Read once: the request finishes on this snapshot whatever is swapped in meanwhile. */
  readonly config: RuntimeConfig;
  readonly endpoint: LoadedEndpoint;
  /** Method, scheme, host and headers as received; a policy's url-rewrite changes `path` and `query`. */
  readonly request: RequestFacts;
  readonly connection: ConnectionFacts;
  readonly body: Body;
  /** Becomes the request event. */
  readonly record: RequestRecord;
  /** The client's connection. */
  readonly socket: Socket;
  /** The Host header as the client sent it, port included (kept upstream unless the endpoint rewrites it). */
  readonly hostHeader: string;
  /** Each endpoint the request passed, with its policy's context: the routed endpoint first. */
  hops: readonly Hop[];
}

/**
 * What admission decided. Every outcome has the record; the entry point decides when it becomes the event (HTTP: when
 * the response closes; an upgrade: when it is answered or switched).
 */
export type Admission<Body extends RequestBody | undefined> =
  | { readonly kind: 'not-found'; readonly record: RequestRecord; readonly response: SyntheticResponse }
  /** A step threw (a bug, or a client that aborted the upload a policy was reading). */
  | { readonly kind: 'failed'; readonly record: RequestRecord; readonly error: unknown }
  /** on_tcp_connect or on_http_request closes the connection. */
  | { readonly kind: 'closed'; readonly record: RequestRecord; readonly admitted: AdmittedRequest<Body> }
  /** A policy (or the gateway on its behalf) answers; the upstream is never contacted. */
  | {
      readonly kind: 'respond';
      readonly record: RequestRecord;
      readonly admitted: AdmittedRequest<Body>;
      readonly response: SyntheticResponse;
    }
  | {
      readonly kind: 'upstream';
      readonly record: RequestRecord;
      readonly admitted: AdmittedRequest<Body>;
      readonly target: UpstreamEndpoint;
    }
  /** ai-gateway chose a provider's answer; the entry point streams it like an upstream response. */
  | {
      readonly kind: 'provider';
      readonly record: RequestRecord;
      readonly admitted: AdmittedRequest<Body>;
      readonly response: HeldProviderResponse;
    };

/** Until the request phase ran: shared, so admitting a request allocates no array for it. */
const noHops: readonly Hop[] = [];

/** Sockets whose on_tcp_connect phase already ran, per endpoint id (the phase runs once per connection). */
const connectedSockets = new WeakMap<Socket, Set<string>>();

/** When each connection was accepted (`conn.ts.start`); the traffic server records it (dataplane.ts). */
const connectionStarts = new WeakMap<Socket, number>();

/** Called by the traffic server for each accepted connection (HTTPS: once its TLS handshake completed). */
export function recordConnectionStart(socket: Socket, atMs: number = Date.now()): void {
  if (!connectionStarts.has(socket)) connectionStarts.set(socket, atMs);
}

/** A socket the server did not announce (a test's fake) starts at its first request. */
function connectionStartOf(socket: Socket): number {
  let started = connectionStarts.get(socket);
  if (started === undefined) connectionStarts.set(socket, (started = Date.now()));
  return started;
}

/**
 * Steps 1–4 of the request path (DESIGN.md §8), shared by the HTTP and the upgrade entry points, in the order they run
 * and why:
 * 1. read the config once: this request finishes on this snapshot whatever is swapped in meanwhile;
 * 2. route by Host before anything else: an unknown host costs nothing more than a map lookup;
 * 3. resolve the client IP (trusted proxies only) before any policy, because the first rules usually test it;
 * 4. on_tcp_connect once per connection, then on_http_request across forward-internal hops;
 * then the entry point goes on:
 * 5. only then open the upstream request, so denied requests never touch the upstream;
 * 6. on_http_response on the upstream's headers, before a byte of the body is sent (HTTP only: after 101 there is no
 *    response to act on);
 * 7. stream the body (never buffered unless a policy must rewrite it), then emit the request event.
 *
 * `body` is the HTTP request body, read only when a policy needs it; an upgrade passes `undefined`.
 */
export async function admitRequest<Body extends RequestBody | undefined>(
  deps: ProxyDependencies,
  req: IncomingMessage,
  body: Body,
  /** When the request arrived (`performance.now()`), if it waited to start (admission-turns.ts). */
  arrivedAt?: number,
): Promise<Admission<Body>> {
  // 1. One read of the running config.
  const config = deps.store.current;

  // 2–3. The request target (routing happens by its Host: exact, then wildcard) and the client IP: the socket peer,
  // or X-Forwarded-For when the peer is a trusted proxy.
  const socket = req.socket;
  const scheme = (socket as TLSSocket).encrypted === true ? 'https' : 'http';
  const { hostHeader, host, port, path, query, absoluteForm } = requestTargetOf(req.url ?? '/', req.headers.host);
  const headers = headerMapOf(req.rawHeaders);
  // RFC 9112 §3.2.2: with an absolute-form target the Host header is replaced by the target's authority. Routing used
  // the authority, so the policy (`req.headers['host']`) and the upstream must see it too, never the client's Host
  // (`GET http://public.example.com/` with `Host: admin.internal` would otherwise reach the upstream as admin.internal).
  if (absoluteForm) headers.set('host', [hostHeader]);
  const clientIp = deps.clientIps.clientIpOf(socket.remoteAddress, headers.get('x-forwarded-for'));
  // The URL as the client sent it: no port in Host means the scheme's default port from the client's point of view.
  const method = req.method ?? 'GET';
  const request: RequestFacts = {
    method,
    scheme,
    host,
    port,
    path,
    query,
    headers,
    httpVersion: req.httpVersion,
    // `req.ts.header_received`: now, before any body is read or any policy runs.
    receivedAtMs: Date.now(),
  };
  const record = new RequestRecord(request, clientIp, arrivedAt);

  const endpoint = routeByHost(config, host, scheme);
  if (endpoint === undefined) {
    const unserved = unservedEndpointFor(config, host);
    if (unserved !== undefined) {
      record.errorCode = 'ENDPOINT_CONFIG_INVALID';
      const response = gatewayError(
        'ENDPOINT_CONFIG_INVALID',
        `the endpoint for host "${host}" has no valid config loaded (its policy was rejected; see the data plane's /status).`,
      );
      return { kind: 'not-found', record, response };
    }
    record.errorCode = 'ENDPOINT_NOT_FOUND';
    const response = gatewayError('ENDPOINT_NOT_FOUND', `no endpoint is registered for host "${host}".`);
    return { kind: 'not-found', record, response };
  }
  record.endpoint = endpoint;
  record.secrets = collectSecrets(headers);
  // An upgrade has no body and its frames are not logged: only its request headers can be captured.
  record.capture = requestLogCapturerFor(endpoint.synced.request_log_capture, headers);
  if (body !== undefined) body.capture = record.capture?.requestBody;
  if (body === undefined) request.mcp = detectMcp(headers);
  const connection: ConnectionFacts = {
    clientIp,
    clientPort: socket.remotePort ?? 0,
    serverIp: socket.localAddress ?? '',
    serverPort: socket.localPort ?? 0,
    ...(scheme === 'https' ? { tls: tlsFacts(socket as TLSSocket) } : {}),
    startedAtMs: connectionStartOf(socket),
    ...(deps.serverRegion === undefined ? {} : { serverRegion: deps.serverRegion }),
  };
  // Before any policy runs: a replay starts from what the client sent (policies change headers in place).
  record.replay = recordReplayFacts(request, connection);
  const admitted: AdmittedRequest<Body> = {
    config,
    endpoint,
    request,
    connection,
    body,
    record,
    socket,
    hostHeader,
    hops: noHops,
  };

  // A request that already passed this installation (its CDN-Loop id) is a forwarding loop: answered here, before
  // any policy runs or the upstream is dialed again, so the loop ends at this hop with this one request-log row.
  const loop = detectLoop(headers, deps.loopId, deps.maxProxyHops);
  if (loop.loop) {
    record.errorCode = 'LOOP_DETECTED';
    deps.logger.warn(
      { endpoint: endpoint.facts.url, reason: loop.reason, cdnLoopEntries: loop.hops },
      'forwarding loop refused (CDN-Loop)',
    );
    const message =
      loop.reason === 'own-id'
        ? 'this request already passed this gateway (CDN-Loop): a forwarding loop. Check the upstream URLs.'
        : `this request passed ${loop.hops} proxies (CDN-Loop), more than the limit of ${deps.maxProxyHops}.`;
    return { kind: 'respond', record, admitted, response: gatewayError('LOOP_DETECTED', message) };
  }

  try {
    // The MCP message in the body, whatever the policy: rules, mcp-tools and the request log all read these facts, and
    // a body that cannot be judged does not pass.
    if (body !== undefined) {
      const refused = body.refuseDeclaredOversize(endpoint) ?? (await body.inspectMcp(request, deps.mcpMaxBodyBytes));
      record.mcp = request.mcp;
      if (refused !== undefined) {
        record.errorCode = refused.headers.get(errorCodeHeader)?.[0];
        return { kind: 'respond', record, admitted, response: refused };
      }
    }

    // 4a. on_tcp_connect: once per connection and endpoint; anything but continue closes the connection, except a
    // policy that failed at runtime (POLICY_RUNTIME_ERROR): that is answered, so the client sees why.
    if (
      endpoint.policy !== undefined &&
      endpoint.policy.phases.on_tcp_connect.length > 0 &&
      !connectedOnce(socket, endpoint.facts.id)
    ) {
      const context = createPolicyContext({ endpoint: endpoint.facts, connection, request }, config.ports);
      const result = await evaluate(endpoint.policy, 'on_tcp_connect', context, config.ports);
      if (result.outcome.kind !== 'continue') {
        record.decision = result.decision;
        record.hops = admitted.hops = [{ endpoint, context }];
        if (result.outcome.kind === 'respond') {
          record.errorCode = result.outcome.errorCode;
          return { kind: 'respond', record, admitted, response: result.outcome.response };
        }
        return { kind: 'closed', record, admitted };
      }
    }

    // 4b. on_http_request: the cloud policy, then each internal endpoint's own policy it forwards to. A shadow policy
    // gets its own copy of the request first: the live policy's actions change the request in place.
    const shadow = endpoint.shadow;
    const shadowRequest = shadow === undefined ? undefined : copyRequestForShadow(request);
    const decided = await runRequestPhase(admitted, deps.hopLimit);
    if (shadow !== undefined) {
      try {
        // Only a body the live policy already buffered: reading one for the shadow alone would change how the live
        // request is handled (buffered instead of streamed, a 413 for a large body).
        if (shadow.policy.needsRequestBody && endpoint.policy?.needsRequestBody === true && body !== undefined)
          await body.prepareFor(endpoint, shadowRequest!);
        const { judged, context } = await deps.shadows.judge(
          shadow,
          endpoint,
          shadowRequest!,
          connection,
          config.ports,
          decided,
        );
        record.shadow = judged;
        // The response phase needs the upstream's answer the live request gets: only when both went the same way to
        // the upstream (a request phase that already differs has no answer the shadow's request would have got).
        if (!judged.differs && decided.kind === 'upstream' && shadow.policy.phases.on_http_response.length > 0)
          record.shadowResponse = (upstream, liveStatus) =>
            deps.shadows.judgeResponse(shadow, context, config.ports, upstream, liveStatus);
      } catch (error) {
        // The shadow enforces nothing; its failure must not fail the live request.
        deps.logger.warn({ err: error, endpoint: endpoint.facts.id }, 'shadow policy evaluation failed');
      }
    }
    record.hops = admitted.hops = decided.hops;
    record.decision = decided.decision;
    record.forwardedTo = decided.hops.length > 1 ? decided.hops.at(-1)!.endpoint.facts.url : undefined;
    record.mcp = request.mcp;
    switch (decided.kind) {
      case 'close':
        return { kind: 'closed', record, admitted };
      case 'respond':
        record.errorCode = decided.errorCode;
        return { kind: 'respond', record, admitted, response: decided.response };
      case 'upstream':
        return { kind: 'upstream', record, admitted, target: decided.target };
      case 'provider':
        return { kind: 'provider', record, admitted, response: decided.response };
    }
  } catch (error) {
    return { kind: 'failed', record, error };
  }
}

/**
 * The request headers for the upstream, whichever way the entry point talks to it: `Host` kept unless the internal
 * endpoint rewrites it, `X-Forwarded-*` set (a trusted proxy's chain extended), hop-by-hop headers dropped, this
 * installation's id appended to `CDN-Loop`.
 */
export function upstreamHeadersFor(
  deps: ProxyDependencies,
  admitted: AdmittedRequest,
  target: UpstreamEndpoint,
  bufferedBody: boolean,
): string[] {
  const peer = normalizeSocketAddress(admitted.socket.remoteAddress);
  const headers = upstreamHeaders({
    headers: admitted.request.headers,
    hostHeader: admitted.hostHeader,
    rewriteHost: target.synced.upstream_host_header === 'rewrite' ? target.upstream.host : undefined,
    clientIp: admitted.connection.clientIp,
    peer,
    trustedPeer: deps.clientIps.trusts(peer),
    scheme: admitted.request.scheme,
    bufferedBody,
  });
  // RFC 8586: appended after whatever the client sent (kept), so the request is recognized if it comes back.
  headers.push(cdnLoopHeader, deps.loopId);
  return headers;
}

function collectSecrets(headers: HeaderMap): string[] {
  const secrets: string[] = [];
  for (const name of alwaysRedactedHeaders) {
    const values = headers.get(name);
    if (values !== undefined) secrets.push(...values);
  }
  return secrets;
}

function connectedOnce(socket: Socket, endpointId: string): boolean {
  let seen = connectedSockets.get(socket);
  if (seen === undefined) connectedSockets.set(socket, (seen = new Set()));
  if (seen.has(endpointId)) return true;
  seen.add(endpointId);
  return false;
}

function tlsFacts(socket: TLSSocket): NonNullable<ConnectionFacts['tls']> {
  const cipher = socket.getCipher?.();
  const sni = (socket as TLSSocket & { servername?: string | false }).servername;
  return {
    version: socket.getProtocol?.() ?? '',
    cipherSuite: cipher?.standardName ?? cipher?.name ?? '',
    sni: typeof sni === 'string' ? sni : '',
    // Parsed only when a policy reads conn.tls.client.*.
    clientCertificate: clientCertificateReader(socket),
  };
}
