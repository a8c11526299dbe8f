import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { SyncAgentEndpoint } from '@gatehouse/contracts';
import type { BodyReplacement } from '@gatehouse/traffic-policy';
import { dispatchOverTunnel } from '../agent/tunnel-dispatch.js';
import type { HeldProviderResponse } from './ai-providers.js';
import { admitRequest, upstreamHeadersFor, type AdmittedRequest } from './admit-request.js';
import { applyReplacements } from './body-transforms.js';
import { gatewayError, type UpstreamEndpoint } from './policy-chain.js';
import type { ProxyDependencies } from './proxy-dependencies.js';
import { RequestBody } from './request-body.js';
import type { RequestRecord } from './request-record.js';
import { respondAfterResponsePhase, sendSynthetic } from './synthetic-response.js';
import { UpstreamExchange } from './upstream-exchange.js';

/** The request handler; `arrivedAt` (`performance.now()`) when the request waited before it started (admission-turns.ts). */
export function createHttpProxy(
  deps: ProxyDependencies,
): (req: IncomingMessage, res: ServerResponse, arrivedAt?: number) => void {
  return (req, res, arrivedAt) => void proxyRequest(deps, req, res, false, arrivedAt);
}

/**
 * node:http's `checkContinue` listener: a request with `Expect: 100-continue` goes through the same path, and
 * `100 Continue` is sent only once the body is wanted (a policy reads it or it goes upstream). A request refused from
 * its headers (deny, 401, an oversized Content-Length → 413) gets its final status without the client ever sending the
 * body. The Expect header itself is not forwarded: undici refuses it, and the upstream gets the body at once.
 */
export function createContinueHandler(
  deps: ProxyDependencies,
): (req: IncomingMessage, res: ServerResponse, arrivedAt?: number) => void {
  return (req, res, arrivedAt) => void proxyRequest(deps, req, res, true, arrivedAt);
}

/** node:http's `checkExpectation` listener: an `Expect` other than 100-continue is answered 417 (RFC 9110 §10.1.1). */
export function answerExpectationFailed(req: IncomingMessage, res: ServerResponse): void {
  // The client may be holding its body back: end the connection rather than reading what comes next as a request.
  res.shouldKeepAlive = false;
  sendSynthetic(
    res,
    gatewayError('EXPECTATION_FAILED', 'only "Expect: 100-continue" is supported.'),
    req.method === 'HEAD',
  );
}

/**
 * An HTTP request: admission (steps 1–4, `admit-request.ts`, where the order and its reasons are written down), then
 * its outcome answered over node:http. Never rejects.
 */
async function proxyRequest(
  deps: ProxyDependencies,
  req: IncomingMessage,
  res: ServerResponse,
  expectsContinue: boolean,
  arrivedAt: number | undefined,
): Promise<void> {
  try {
    const body = new RequestBody(req, deps.maxBodyBytes, expectsContinue ? () => res.writeContinue() : undefined);
    const admission = await admitRequest(deps, req, body, arrivedAt);
    const clientLeft = !finishRecordOnClose(deps, res, admission.record);
    // Answered without 100 Continue: the client never sent its body, so the connection cannot carry another request.
    if (body.awaitingContinue) res.shouldKeepAlive = false;
    if (admission.kind === 'failed') {
      answerUnexpectedError(deps, req, res, admission.error);
      return;
    }
    // The client went away while the policy ran: nobody to answer, and no reason to contact the upstream.
    if (clientLeft) return;
    switch (admission.kind) {
      case 'not-found':
        sendSynthetic(res, admission.response, req.method === 'HEAD');
        return;
      case 'closed':
        req.socket.destroy();
        return;
      case 'respond':
        // The response phase runs even when the request phase answered itself (TRAFFIC-POLICY.md, Evaluation 4).
        await respondAfterResponsePhase(admission.admitted, admission.response, res);
        body.discard();
        return;
      case 'upstream':
        forwardUpstream(deps, admission.admitted, admission.target, res);
        return;
      case 'provider':
        streamProviderResponse(deps, admission.admitted, admission.response, res);
        return;
    }
  } catch (error) {
    answerUnexpectedError(deps, req, res, error);
  }
}

/**
 * The record becomes the request event when the response closes. Returns false (and emits it at once) when the
 * response already closed: the client left while admission ran.
 */
function finishRecordOnClose(deps: ProxyDependencies, res: ServerResponse, record: RequestRecord): boolean {
  if (res.closed) {
    record.errorCode ??= 'CLIENT_CLOSED';
    record.finish(499, deps.sink, deps.metrics);
    return false;
  }
  // 'close' comes once per response: `on` spares the per-request wrapper of `once`.
  res.on('close', () => {
    if (!res.writableFinished) record.errorCode ??= 'CLIENT_CLOSED';
    record.finish(res.headersSent ? res.statusCode : 499, deps.sink, deps.metrics);
  });
  return true;
}

/** Steps return outcomes; reaching here is a bug. One place turns it into a 500 with a code and a log line. */
function answerUnexpectedError(
  deps: ProxyDependencies,
  req: IncomingMessage,
  res: ServerResponse,
  error: unknown,
): void {
  deps.logger.error({ err: error, method: req.method, url: req.url }, 'unexpected error on the request path');
  if (res.headersSent || res.closed) {
    res.destroy();
    return;
  }
  sendSynthetic(res, gatewayError('GATEWAY_ERROR', 'unexpected error; see the data plane log.'), req.method === 'HEAD');
}

/** The body and headers an upstream request carries, after the policies' request-body replacements. */
function prepareUpstream(
  deps: ProxyDependencies,
  admitted: AdmittedRequest<RequestBody>,
  target: UpstreamEndpoint,
): { headers: string[]; body: Buffer | Readable | undefined } {
  const { request, body } = admitted;
  let requestReplacements: BodyReplacement[] | undefined;
  for (const hop of admitted.hops) {
    const replacements = hop.context?.directives.requestBodyReplacements;
    if (replacements !== undefined && replacements.length > 0) (requestReplacements ??= []).push(...replacements);
  }
  // mcp-tools filters list results: they must arrive uncompressed to be read.
  if (admitted.hops.some((hop) => (hop.context?.directives.mcpListFilters?.length ?? 0) > 0))
    request.headers.set('accept-encoding', ['identity']);
  let upstreamBody = body.forUpstream();
  if (requestReplacements !== undefined && Buffer.isBuffer(upstreamBody)) {
    upstreamBody = Buffer.from(applyReplacements(upstreamBody.toString('utf8'), requestReplacements));
  }
  // A buffered body gets its length from undici; a streamed one keeps the client's content-length.
  const headers = upstreamHeadersFor(deps, admitted, target, Buffer.isBuffer(upstreamBody));
  return { headers, body: upstreamBody };
}

/** 5–7: the upstream request, the response phase on its headers, and the streamed body. */
function forwardUpstream(
  deps: ProxyDependencies,
  admitted: AdmittedRequest<RequestBody>,
  target: UpstreamEndpoint,
  res: ServerResponse,
): void {
  if (target.agent !== undefined) {
    const failed = (error: unknown): void => {
      deps.logger.error({ err: error, endpoint: target.facts.id }, 'unexpected error forwarding to an agent');
      if (res.headersSent || res.closed) res.destroy();
      else sendSynthetic(res, gatewayError('GATEWAY_ERROR', 'unexpected error; see the data plane log.'), false);
    };
    try {
      forwardToAgent(deps, admitted, target, target.agent, res)?.catch(failed);
    } catch (error) {
      failed(error);
    }
    return;
  }
  const { request } = admitted;
  const upstream = target.upstream;
  const { headers, body: upstreamBody } = prepareUpstream(deps, admitted, target);

  admitted.record.markUpstreamStart();
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
    new UpstreamExchange(deps, admitted, target, res),
  );
}

/**
 * ai-gateway chose a provider's answer, held unsent by the AiProviders port: it goes to the client through the same
 * UpstreamExchange as any upstream response (response phase, SSE flushed per event, backpressure, client aborts), and
 * the token usage read on the way lands in the request log.
 */
function streamProviderResponse(
  deps: ProxyDependencies,
  admitted: AdmittedRequest<RequestBody>,
  response: HeldProviderResponse,
  res: ServerResponse,
): void {
  const endpoint = admitted.hops.at(-1)?.endpoint ?? admitted.endpoint;
  const target: UpstreamEndpoint = { ...endpoint, upstream: { origin: response.origin, host: '', basePath: '' } };
  const record = admitted.hops.findLast((hop) => hop.context?.aiGateway !== undefined)?.context?.aiGateway;
  admitted.record.markUpstreamStart();
  response.attach(new UpstreamExchange(deps, admitted, target, res), record);
}

/**
 * An agent endpoint: the request goes as one HTTP/2 stream over a tunnel of a pool member this data plane holds
 * (the MCP session's member when the request carries a known Mcp-Session-Id), through the same UpstreamExchange as
 * any upstream. No member connected here → 502 ENDPOINT_OFFLINE.
 */
function forwardToAgent(
  deps: ProxyDependencies,
  admitted: AdmittedRequest<RequestBody>,
  target: UpstreamEndpoint,
  agent: SyncAgentEndpoint,
  res: ServerResponse,
): Promise<void> | undefined {
  const mcpSession = admitted.request.headers.get('mcp-session-id')?.[0];
  // Only an MCP session on a pool of several members asks the affinity store (asynchronous); every other request
  // goes over the tunnel synchronously, with no promise or microtask of its own.
  if (mcpSession === undefined || agent.members.length < 2)
    return forwardOverTunnel(deps, admitted, target, agent, res, mcpSession, undefined);
  return deps.mcpAffinity
    .get(target.facts.id, mcpSession)
    .then((preferred) => forwardOverTunnel(deps, admitted, target, agent, res, mcpSession, preferred));
}

/** forwardToAgent once the preferred pool member (if any) is known; a promise only for the offline answer. */
function forwardOverTunnel(
  deps: ProxyDependencies,
  admitted: AdmittedRequest<RequestBody>,
  target: UpstreamEndpoint,
  agent: SyncAgentEndpoint,
  res: ServerResponse,
  mcpSession: string | undefined,
  preferred: string | undefined,
): Promise<void> | undefined {
  const { request, record } = admitted;
  const endpointId = target.facts.id;
  const connection = deps.agentTunnels?.pick(endpointId, agent, preferred);
  if (connection === undefined) {
    record.errorCode = 'ENDPOINT_OFFLINE';
    admitted.body.discard();
    return respondAfterResponsePhase(
      admitted,
      gatewayError('ENDPOINT_OFFLINE', `no agent serving ${target.facts.url} is connected.`),
      res,
    );
  }
  if (res.closed) return undefined;
  const { headers, body } = prepareUpstream(deps, admitted, target);
  record.markUpstreamStart();
  const exchange = new UpstreamExchange(deps, admitted, target, res);
  const remember = agent.pooling_enabled;
  // The connection that carries the request: another one of the same session (else another pool member) when the
  // first refused it unprocessed, as happens while the agent swaps connections.
  let chosen = connection;
  dispatchOverTunnel(
    connection.session,
    {
      method: request.method,
      path: `${request.path}${request.query === '' ? '' : `?${request.query}`}`,
      headers,
      body: body ?? null,
      endpointUrl: target.facts.url,
      idleTimeoutMs: deps.idleTimeoutMs,
      retryOn: () => {
        const next = deps.agentTunnels?.pick(endpointId, agent, chosen.sessionId);
        if (next !== undefined) chosen = next;
        return next?.session;
      },
    },
    {
      onRequestStart: (controller) => exchange.onRequestStart(controller),
      onResponseStart: (controller, status, responseHeaders) => {
        const issued = responseHeaders['mcp-session-id'];
        if (remember && typeof issued === 'string' && issued !== mcpSession)
          deps.mcpAffinity.set(endpointId, issued, chosen.sessionId);
        exchange.onResponseStart(controller, status, responseHeaders);
      },
      onResponseData: (controller, chunk) => exchange.onResponseData(controller, chunk),
      onResponseEnd: () => exchange.onResponseEnd(),
      onResponseError: (controller, error) => exchange.onResponseError(controller, error),
    },
  );
  return undefined;
}
