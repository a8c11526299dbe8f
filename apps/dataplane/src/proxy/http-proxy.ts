import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  createPolicyContext,
  detectMcp,
  evaluate,
  type BodyReplacement,
  type ConnectionFacts,
  type HeaderMap,
  type RequestFacts,
} from '@gatehouse/traffic-policy';
import { routeByHost, type RuntimeConfig } from '../config/runtime-config.js';
import { applyReplacements } from './body-transforms.js';
import { normalizeSocketAddress } from './client-ip.js';
import { upstreamHeaders } from './headers.js';
import { gatewayError, runRequestPhase, type Hop, type UpstreamEndpoint } from './policy-chain.js';
import { readIncomingRequest } from './incoming-request.js';
import type { ProxyDependencies } from './proxy-dependencies.js';
import { RequestBody } from './request-body.js';
import { requestLogCapturerFor } from './request-log-capture.js';
import type { RequestRecord } from './request-record.js';
import { respondAfterResponsePhase, sendSynthetic } from './synthetic-response.js';
import { UpstreamExchange } from './upstream-exchange.js';

const secretHeaders = ['authorization', 'proxy-authorization', 'cookie'] as const;

/** Sockets whose on_tcp_connect phase already ran, per endpoint id (the phase runs once per connection). */
const connectedSockets = new WeakMap<Socket, Set<string>>();

export function createHttpProxy(deps: ProxyDependencies): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    proxyRequest(deps, req, res).catch((error: unknown) => {
      // Steps return outcomes; reaching here is a bug. One place turns it into a 500 with a code and a log line.
      deps.logger.error({ err: error, method: req.method, url: req.url }, 'unexpected error on the request path');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const response = gatewayError('GATEWAY_ERROR', 'unexpected error; see the data plane log.');
      sendSynthetic(res, response, req.method === 'HEAD');
    });
  };
}

/**
 * The request path (DESIGN.md §8), in the order it runs and why:
 * 1. read the config once: this request finishes on this snapshot whatever is swapped in meanwhile;
 * 2. route by Host before anything else: an unknown host costs nothing more than a map lookup;
 * 3. resolve the client IP (trusted proxies only) before any policy, because the first rules usually test it;
 * 4. on_tcp_connect once per connection, then on_http_request across forward-internal hops;
 * 5. only then open the upstream request, so denied requests never touch the upstream;
 * 6. on_http_response on the upstream's headers, before a byte of the body is sent;
 * 7. stream the body (never buffered unless a policy must rewrite it), then emit the request event.
 */
async function proxyRequest(deps: ProxyDependencies, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // 1. One read of the running config.
  const config = deps.store.current;

  // 2–3. The request target (routing happens by its Host: exact, then wildcard) and the client IP: the socket peer,
  // or X-Forwarded-For when the peer is a trusted proxy.
  const socket = req.socket;
  const { scheme, hostHeader, host, port, path, query, method, headers, clientIp, record } = readIncomingRequest(
    req,
    deps.clientIps,
  );
  res.once('close', () => {
    if (!res.writableFinished) record.errorCode ??= 'CLIENT_CLOSED';
    record.finish(res.headersSent ? res.statusCode : 499, deps.sink, deps.metrics);
  });

  const endpoint = routeByHost(config, host, scheme);
  if (endpoint === undefined) {
    record.errorCode = 'ENDPOINT_NOT_FOUND';
    sendSynthetic(
      res,
      gatewayError('ENDPOINT_NOT_FOUND', `no endpoint is registered for host "${host}".`),
      method === 'HEAD',
    );
    return;
  }
  record.endpoint = endpoint;
  record.secrets = collectSecrets(headers);
  record.capture = requestLogCapturerFor(endpoint.synced.request_log_capture, headers);
  const connection: ConnectionFacts = {
    clientIp,
    clientPort: socket.remotePort ?? 0,
    serverIp: socket.localAddress ?? '',
    serverPort: socket.localPort ?? 0,
    ...(scheme === 'https' ? { tls: tlsFacts(socket as TLSSocket) } : {}),
  };
  // The URL as the client sent it: no port in Host means the scheme's default port from the client's point of view.
  const request: RequestFacts = { method, scheme, host, port, path, query, headers, httpVersion: req.httpVersion };
  request.mcp = detectMcp(headers);
  const body = new RequestBody(req, deps.maxBodyBytes, record.capture?.requestBody);

  // 4a. on_tcp_connect: once per connection and endpoint; anything but continue closes the connection.
  if (
    endpoint.policy !== undefined &&
    endpoint.policy.phases.on_tcp_connect.length > 0 &&
    !connectedOnce(socket, endpoint.facts.id)
  ) {
    const context = createPolicyContext({ endpoint: endpoint.facts, connection, request }, config.ports);
    const result = await evaluate(endpoint.policy, 'on_tcp_connect', context, config.ports);
    if (result.outcome.kind !== 'continue') {
      record.decision = result.decision;
      record.hops = [{ endpoint, context }];
      socket.destroy();
      return;
    }
  }

  // 4b. on_http_request: the cloud policy, then each internal endpoint's own policy it forwards to.
  const decided = await runRequestPhase(config, endpoint, request, connection, deps.hopLimit, (next) =>
    body.prepareFor(next, request),
  );
  record.hops = decided.hops;
  record.decision = decided.decision;
  record.forwardedTo = decided.hops.length > 1 ? decided.hops.at(-1)!.endpoint.facts.url : undefined;
  record.mcp = request.mcp;
  switch (decided.kind) {
    case 'close':
      socket.destroy();
      return;
    case 'respond':
      record.errorCode = decided.errorCode;
      // The response phase runs even when the request phase answered itself (TRAFFIC-POLICY.md, Evaluation 4).
      await respondAfterResponsePhase(config, decided.hops, decided.response, res, method, record);
      body.discard();
      return;
    case 'upstream':
      forwardUpstream(
        deps,
        config,
        decided.target,
        decided.hops,
        request,
        body,
        req,
        res,
        record,
        hostHeader,
        clientIp,
        scheme,
      );
      return;
  }
}

/** 5–7: the upstream request, the response phase on its headers, and the streamed body. */
function forwardUpstream(
  deps: ProxyDependencies,
  config: RuntimeConfig,
  target: UpstreamEndpoint,
  hops: readonly Hop[],
  request: RequestFacts,
  body: RequestBody,
  req: IncomingMessage,
  res: ServerResponse,
  record: RequestRecord,
  hostHeader: string,
  clientIp: string,
  scheme: 'http' | 'https',
): void {
  const upstream = target.upstream;
  let requestReplacements: BodyReplacement[] | undefined;
  for (const hop of hops) {
    const replacements = hop.context?.directives.requestBodyReplacements;
    if (replacements !== undefined && replacements.length > 0) (requestReplacements ??= []).push(...replacements);
  }
  let upstreamBody = body.forUpstream();
  if (requestReplacements !== undefined && Buffer.isBuffer(upstreamBody)) {
    upstreamBody = Buffer.from(applyReplacements(upstreamBody.toString('utf8'), requestReplacements));
  }
  const peer = normalizeSocketAddress(req.socket.remoteAddress);
  const headers = upstreamHeaders({
    headers: request.headers,
    hostHeader,
    rewriteHost: target.synced.upstream_host_header === 'rewrite' ? upstream.host : undefined,
    clientIp,
    peer,
    trustedPeer: deps.clientIps.trusts(peer),
    scheme,
    // A buffered body gets its length from undici; a streamed one keeps the client's content-length.
    bufferedBody: Buffer.isBuffer(upstreamBody),
  });

  record.markUpstreamStart();
  // undici's dispatch API: the response is written straight into `res` from the handler callbacks, with no
  // intermediate body stream, pipeline or AbortController per request (together a large share of the proxy's CPU).
  deps.dispatcher.dispatch(
    {
      origin: upstream.origin,
      path: `${upstream.basePath}${request.path}${request.query === '' ? '' : `?${request.query}`}`,
      method: request.method,
      headers,
      body: upstreamBody ?? null,
      headersTimeout: deps.idleTimeoutMs,
      bodyTimeout: deps.idleTimeoutMs,
    },
    new UpstreamExchange(deps, config, target, hops, request.method, res, record, body),
  );
}

function collectSecrets(headers: HeaderMap): string[] {
  const secrets: string[] = [];
  for (const name of secretHeaders) {
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
  };
}
