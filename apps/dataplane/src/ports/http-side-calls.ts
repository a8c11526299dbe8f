import {
  errorCodeHeader,
  internalTargetOf,
  type HeaderMap,
  type HttpRequester,
  type RequestFacts,
  type SideCallErrorCode,
  type SideCallRequest,
  type SideCallResponse,
  type SideCallResult,
} from '@gatehouse/traffic-policy';
import { isInternalHost } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import type { RuntimeConfig, SideCallPorts } from '../config/runtime-config.js';
import { headerMapOfResponse, upstreamHeaders } from '../proxy/headers.js';
import { cdnLoopHeader } from '../proxy/loop-detection.js';
import { runRequestPhase } from '../proxy/policy-chain.js';
import { OutboundGuard, OutboundRefusedError, outboundErrorCodes } from './outbound-guard.js';

/** ngrok's limit on an http-request response body. */
export const defaultSideCallMaxResponseBytes = 256 * 1024;

export interface HttpSideCallsOptions {
  /** The data plane's dispatcher, whose connector applies the outbound rules to the address actually dialed. */
  dispatcher?: Dispatcher;
  /** The outbound rules, checked on the URL before dialing (IP literals, `localhost`, the gateway's ports). */
  outbound?: OutboundGuard;
  /** This installation's CDN-Loop id: a side call that comes back into a data plane of it is refused there. */
  loopId: string;
  /** forward-internal hops the internal endpoint's policy may take (the data plane's hop limit). */
  hopLimit?: number;
  maxResponseBytes?: number;
  /** Where failures are told in full (the policy only sees the error code and a short message). */
  logger?: Logger;
}

/**
 * The data plane's http-request port. A `.internal` URL is an internal endpoint: its own request policy runs (as for
 * forward-internal; a policy that answers is the response), then the request goes to its upstream. Any other URL is
 * dialed if the outbound rules admit it. Every connection goes through the outbound guard's connector, every request
 * carries this installation's CDN-Loop id, and the response body is capped.
 */
export class HttpSideCalls implements SideCallPorts {
  readonly #dispatcher: Dispatcher;
  readonly #outbound: OutboundGuard;
  readonly #maxResponseBytes: number;
  readonly #hopLimit: number;

  constructor(private readonly options: HttpSideCallsOptions) {
    this.#outbound = options.outbound ?? new OutboundGuard();
    this.#dispatcher = options.dispatcher ?? new Agent({ connect: this.#outbound.connector() });
    this.#maxResponseBytes = options.maxResponseBytes ?? defaultSideCallMaxResponseBytes;
    this.#hopLimit = options.hopLimit ?? 5;
  }

  forConfig(config: () => RuntimeConfig): HttpRequester {
    return { send: (request) => this.#send(config, request) };
  }

  async #send(config: () => RuntimeConfig, request: SideCallRequest): Promise<SideCallResult> {
    const started = performance.now();
    const signal = AbortSignal.timeout(Math.max(1, request.timeoutMs));
    let current = { url: request.url, method: request.method as string, body: request.body };
    for (let redirects = 0; ; redirects++) {
      let result: SideCallResult;
      try {
        result = await this.#attempt(config(), request, current, signal);
      } catch (error) {
        result = this.#failure(error, signal, current.url);
      }
      if (!result.ok) return result;
      const response = result.response;
      const location = response.headers.location?.[0];
      if (!isRedirect(response.statusCode) || location === undefined || request.maxRedirects === 0)
        return { ok: true, response: { ...response, timeMs: performance.now() - started } };
      if (redirects >= request.maxRedirects)
        return failure('HTTP_REQUEST_TOO_MANY_REDIRECTS', `more than ${request.maxRedirects} redirects`);
      if (!URL.canParse(location, current.url))
        return failure('HTTP_REQUEST_INVALID_URL', 'a redirect Location is not a URL');
      // As browsers and Go's client do: 303, and 301/302 after a POST, continue as a GET without the body.
      const becomesGet =
        response.statusCode === 303 ||
        ((response.statusCode === 301 || response.statusCode === 302) && current.method === 'POST');
      current = {
        url: new URL(location, current.url).toString(),
        method: becomesGet ? 'GET' : current.method,
        body: becomesGet ? undefined : current.body,
      };
    }
  }

  async #attempt(
    config: RuntimeConfig,
    request: SideCallRequest,
    current: { url: string; method: string; body: string | undefined },
    signal: AbortSignal,
  ): Promise<SideCallResult> {
    if (!URL.canParse(current.url)) return failure('HTTP_REQUEST_INVALID_URL', 'the URL is not a URL');
    const url = new URL(current.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return failure('HTTP_REQUEST_INVALID_URL', 'the URL is not http(s)');
    if (isInternalHost(url.hostname)) return this.#internal(config, request, current, url, signal);
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    const verdict = this.#outbound.checkHost(url.hostname.replace(/^\[|\]$/g, ''), port);
    if (!verdict.allowed) return refused(verdict.code);
    const headers: string[] = [];
    for (const [name, value] of request.headers) headers.push(name, value);
    if (!request.headers.some(([name]) => name === 'user-agent')) headers.push('user-agent', sideCallUserAgent);
    headers.push('x-forwarded-for', request.clientIp, cdnLoopHeader, this.options.loopId);
    return this.#dial(url.toString(), current.method, headers, current.body, signal);
  }

  /** A `.internal` URL: the internal endpoint's request policy, then its upstream (never an agent tunnel). */
  async #internal(
    config: RuntimeConfig,
    request: SideCallRequest,
    current: { url: string; method: string; body: string | undefined },
    url: URL,
    signal: AbortSignal,
  ): Promise<SideCallResult> {
    const target = internalTargetOf(url.origin);
    const endpoint = 'url' in target ? config.internalByUrl.get(target.url) : undefined;
    if (endpoint === undefined)
      return failure('HTTP_REQUEST_TARGET_UNKNOWN', `no internal endpoint ${url.origin} is registered`);
    if (endpoint.agent !== undefined)
      return failure(
        'HTTP_REQUEST_TARGET_UNKNOWN',
        `${url.origin} is an agent endpoint, which side calls cannot reach`,
      );
    const headers: HeaderMap = new Map();
    for (const [name, value] of request.headers) headers.set(name, [...(headers.get(name) ?? []), value]);
    if (!headers.has('user-agent')) headers.set('user-agent', [sideCallUserAgent]);
    const scheme = url.protocol === 'https:' ? 'https' : 'http';
    const facts: RequestFacts = {
      method: current.method,
      scheme,
      host: url.hostname,
      port: url.port === '' ? (scheme === 'https' ? '443' : '80') : url.port,
      path: url.pathname,
      query: url.search.slice(1),
      headers,
      ...(current.body === undefined ? {} : { body: new TextEncoder().encode(current.body) }),
      // The client request's budget: side calls made by this endpoint's policy count against it too.
      sideCalls: request.budget,
    };
    const decision = await runRequestPhase(
      {
        config,
        endpoint,
        request: facts,
        connection: { clientIp: request.clientIp, clientPort: 0, serverIp: '', serverPort: 0 },
        body: undefined,
      },
      this.#hopLimit,
    );
    switch (decision.kind) {
      case 'close':
        return failure('HTTP_REQUEST_UNAVAILABLE', `the policy of ${url.origin} closed the connection`);
      case 'respond': {
        const code = decision.response.headers.get(errorCodeHeader)?.[0];
        if (code === 'FORWARD_HOP_LIMIT')
          return failure('HTTP_REQUEST_LOOP', 'the forward-internal hop limit was reached');
        if (Buffer.byteLength(decision.response.body) > this.#maxResponseBytes)
          return failure(
            'HTTP_REQUEST_RESPONSE_TOO_LARGE',
            `the response body is larger than ${this.#maxResponseBytes} bytes`,
          );
        return {
          ok: true,
          response: {
            statusCode: decision.response.status,
            headers: Object.fromEntries(decision.response.headers),
            body: decision.response.body,
            resolvedIp: '',
            timeMs: 0,
          },
        };
      }
      case 'provider':
        // The internal endpoint's policy ran ai-gateway: a side call is not a model request, so its answer is dropped.
        decision.response.discard();
        return failure(
          'HTTP_REQUEST_UNAVAILABLE',
          `${url.origin} answers through ai-gateway, which side calls cannot use`,
        );
      case 'upstream': {
        const upstream = decision.target;
        const flat = upstreamHeaders({
          headers: facts.headers,
          hostHeader: url.host,
          rewriteHost: upstream.synced.upstream_host_header === 'rewrite' ? upstream.upstream.host : undefined,
          clientIp: request.clientIp,
          peer: request.clientIp,
          trustedPeer: false,
          scheme,
          bufferedBody: true,
        });
        flat.push(cdnLoopHeader, this.options.loopId);
        const query = facts.query === '' ? '' : `?${facts.query}`;
        const body = facts.body === undefined ? undefined : Buffer.from(facts.body);
        return this.#dial(
          `${upstream.upstream.origin}${upstream.upstream.basePath}${facts.path}${query}`,
          facts.method,
          flat,
          body,
          signal,
        );
      }
    }
  }

  async #dial(
    url: string,
    method: string,
    headers: string[],
    body: string | Buffer | undefined,
    signal: AbortSignal,
  ): Promise<SideCallResult> {
    const response = await undiciRequest(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal,
      dispatcher: this.#dispatcher,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.#maxResponseBytes) {
        response.body.destroy();
        return failure(
          'HTTP_REQUEST_RESPONSE_TOO_LARGE',
          `the response body is larger than ${this.#maxResponseBytes} bytes`,
        );
      }
      chunks.push(chunk);
    }
    const responseHeaders = Object.fromEntries(headerMapOfResponse(response.headers));
    // Another data plane of this installation recognized our CDN-Loop id: the call came back into the gateway.
    if (response.statusCode === 508 && responseHeaders[errorCodeHeader]?.[0] === 'LOOP_DETECTED')
      return failure('HTTP_REQUEST_LOOP', 'the side call came back into the gateway');
    const answer: SideCallResponse = {
      statusCode: response.statusCode,
      headers: responseHeaders,
      body: Buffer.concat(chunks).toString('utf8'),
      resolvedIp: '',
      timeMs: 0,
    };
    return { ok: true, response: answer };
  }

  #failure(error: unknown, signal: AbortSignal, url: string): SideCallResult {
    const refusal = findRefusal(error);
    if (refusal !== undefined) {
      this.options.logger?.info({ sideCallUrl: redactQuery(url), reason: refusal.message }, 'side call refused');
      return refused(
        refusal.code === outboundErrorCodes.UPSTREAM_IS_GATEWAY ? 'UPSTREAM_IS_GATEWAY' : 'UPSTREAM_FORBIDDEN',
      );
    }
    if (signal.aborted) return failure('HTTP_REQUEST_TIMEOUT', 'no response within the timeout');
    this.options.logger?.info({ err: error, sideCallUrl: redactQuery(url) }, 'side call failed');
    return failure('HTTP_REQUEST_UNAVAILABLE', 'the target refused the connection or failed mid-response');
  }
}

/** What a side call says it is when the policy does not set a User-Agent (ngrok sends `ngrok/cloud`). */
export const sideCallUserAgent = 'gatehouse/http-request';

function failure(code: SideCallErrorCode, message: string): SideCallResult {
  return { ok: false, code, message };
}

/** The same message for every refusal kind but the loop, so a policy cannot map the network through error texts. */
function refused(code: 'UPSTREAM_IS_GATEWAY' | 'UPSTREAM_FORBIDDEN'): SideCallResult {
  return code === 'UPSTREAM_IS_GATEWAY'
    ? failure('HTTP_REQUEST_LOOP', "the target is one of the gateway's own listeners")
    : failure('HTTP_REQUEST_FORBIDDEN', 'the target is outside the outbound allow list');
}

function findRefusal(error: unknown): OutboundRefusedError | undefined {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof OutboundRefusedError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function redactQuery(url: string): string {
  return url.split('?', 1)[0]!;
}
