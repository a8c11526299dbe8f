import { errorCodeHeader, type HeaderMap } from '@gatehouse/traffic-policy';

/**
 * Connection-scoped headers (RFC 9110 §7.6.1) that a proxy must not forward, plus `host` (set per hop) and the
 * error-code header (only the gateway may set it).
 */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // Not hop-by-hop in RFC 9110, but the gateway answers `100-continue` itself (undici refuses to send Expect).
  'expect',
]);

/** Request headers as the engine sees them: lower-case names, values in arrival order. */
export function headerMapOf(rawHeaders: readonly string[]): HeaderMap {
  const headers: HeaderMap = new Map();
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!.toLowerCase();
    const value = rawHeaders[index + 1]!;
    const values = headers.get(name);
    if (values === undefined) headers.set(name, [value]);
    else values.push(value);
  }
  return headers;
}

/** Undici's response headers (lower-case keys, string or string[]) as a HeaderMap for the response phase. */
export function headerMapOfResponse(headers: Record<string, string | string[] | undefined>): HeaderMap {
  const map: HeaderMap = new Map();
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    map.set(name, Array.isArray(value) ? value : [value]);
  }
  return map;
}

/** Names listed in a Connection header are hop-by-hop too (`Connection: close, x-internal`). */
function connectionListed(headers: HeaderMap): Set<string> | undefined {
  const connection = headers.get('connection');
  if (connection === undefined) return undefined;
  // The common values name no other header: skip building a set on every keep-alive request.
  if (connection.length === 1) {
    const value = connection[0]!.toLowerCase();
    if (value === 'keep-alive' || value === 'close') return undefined;
  }
  const listed = new Set<string>();
  for (const value of connection) for (const name of value.split(',')) listed.add(name.trim().toLowerCase());
  return listed;
}

/**
 * Flattens headers into undici's `[name, value, name, value…]` form without the hop-by-hop ones. `skip` names headers
 * the caller sets itself (host, x-forwarded-*).
 */
export function forwardableHeaders(headers: HeaderMap, skip: ReadonlySet<string>): string[] {
  const listed = connectionListed(headers);
  const flat: string[] = [];
  for (const [name, values] of headers) {
    if (hopByHop.has(name) || skip.has(name) || name === errorCodeHeader || listed?.has(name) === true) continue;
    for (const value of values) flat.push(name, value);
  }
  return flat;
}

/** Response headers for the client: hop-by-hop and any upstream `gatehouse-error-code` removed. */
export function responseHeaderList(headers: HeaderMap, drop?: ReadonlySet<string>): string[] {
  const listed = connectionListed(headers);
  const flat: string[] = [];
  for (const [name, values] of headers) {
    if (hopByHop.has(name) || name === errorCodeHeader || listed?.has(name) === true || drop?.has(name) === true)
      continue;
    for (const value of values) flat.push(name, value);
  }
  return flat;
}

/** Synthetic responses the policy produced: their headers go out as written (they may carry the error code). */
export function syntheticHeaderList(headers: HeaderMap): string[] {
  const flat: string[] = [];
  for (const [name, values] of headers) {
    if (!isValidHeaderName(name)) continue;
    for (const value of values) if (isValidHeaderValue(value)) flat.push(name, value);
  }
  return flat;
}

/** RFC 9110 `token`: what a header field name may be. */
const headerNamePattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What node:http refuses in a header value (ERR_INVALID_CHAR): CR, LF, NUL, other controls and non-Latin-1. */
const invalidHeaderValueChar = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * Header names and values that come from policies (interpolated from request data, decoded URL parts, JWT claims…)
 * are written onto the wire. A name that is not a token, or a value with CR, LF, NUL or another control character,
 * could split the response or smuggle headers; such a header is left out (the response is still sent).
 */
export function isValidHeaderName(name: string): boolean {
  return headerNamePattern.test(name);
}

export function isValidHeaderValue(value: string): boolean {
  return !invalidHeaderValueChar.test(value);
}

/** `Host` without its port, lower-case: `Example.COM:8080` → `example.com`, `[::1]:80` → `[::1]`. */
export function hostWithoutPort(host: string): { host: string; port: string } {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end !== -1)
      return {
        host: host.slice(0, end + 1).toLowerCase(),
        port: host.charCodeAt(end + 1) === 58 ? host.slice(end + 2) : '',
      };
  }
  const colon = host.lastIndexOf(':');
  if (colon === -1) return { host: host.toLowerCase(), port: '' };
  return { host: host.slice(0, colon).toLowerCase(), port: host.slice(colon + 1) };
}

export interface RequestTarget {
  /** The authority the request names (Host header, or the authority of an absolute-form target). */
  hostHeader: string;
  /** Lower-case host without port: what routing matches. */
  host: string;
  port: string;
  /** Raw path as received (not decoded). */
  path: string;
  /** Raw query without `?`. */
  query: string;
  /** True for an absolute-form target (`GET http://host/path`): its authority replaces the Host header. */
  absoluteForm: boolean;
}

/**
 * Splits the request target. Origin-form (`/path?q`) takes the authority from Host; absolute-form
 * (`http://host/path`, sent to proxies) carries its own authority, which wins over Host (RFC 9112 §3.2.2).
 */
export function requestTargetOf(target: string, hostHeader: string | undefined): RequestTarget {
  let authority = hostHeader ?? '';
  let pathAndQuery = target;
  let absoluteForm = false;
  if (target.charCodeAt(0) !== 47 /* / */ && /^https?:\/\//i.test(target)) {
    absoluteForm = true;
    const afterScheme = target.indexOf('//') + 2;
    const slash = target.indexOf('/', afterScheme);
    const queryMark = target.indexOf('?', afterScheme);
    const end =
      slash === -1
        ? queryMark === -1
          ? target.length
          : queryMark
        : queryMark === -1
          ? slash
          : Math.min(slash, queryMark);
    authority = target.slice(afterScheme, end);
    pathAndQuery = target.slice(end);
    if (!pathAndQuery.startsWith('/')) pathAndQuery = `/${pathAndQuery}`;
  }
  const queryStart = pathAndQuery.indexOf('?');
  const { host, port } = hostWithoutPort(authority);
  return {
    hostHeader: authority,
    host,
    port,
    path: queryStart === -1 ? pathAndQuery : pathAndQuery.slice(0, queryStart),
    query: queryStart === -1 ? '' : pathAndQuery.slice(queryStart + 1),
    absoluteForm,
  };
}

/** Headers the proxy sets itself on the upstream request, so the client's copies are not forwarded. */
const proxySetHeaders = new Set(['host', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']);
const proxySetHeadersWithLength = new Set([...proxySetHeaders, 'content-length']);

export interface UpstreamHeaderFacts {
  /** The (possibly policy-edited) request headers. */
  headers: HeaderMap;
  /** The Host the client sent, sent upstream unless the internal endpoint says `rewrite`. */
  hostHeader: string;
  /** host[:port] of the upstream, for `rewrite`. */
  rewriteHost: string | undefined;
  clientIp: string;
  /** The socket peer (normalized) and whether it is a trusted proxy. */
  peer: string;
  trustedPeer: boolean;
  scheme: 'http' | 'https';
  /** True when the body is re-sent from a buffer: undici sets content-length then. */
  bufferedBody: boolean;
}

/**
 * The upstream request's headers, flat for undici: the client's end-to-end headers, then Host and X-Forwarded-*.
 * Untrusted peers cannot inject hops: their X-Forwarded-For is replaced by the client IP; a trusted proxy's chain is
 * extended with the peer, and its X-Forwarded-Host/-Proto are kept.
 */
export function upstreamHeaders(facts: UpstreamHeaderFacts): string[] {
  const { headers, trustedPeer } = facts;
  const flat = forwardableHeaders(headers, facts.bufferedBody ? proxySetHeadersWithLength : proxySetHeaders);
  const priorForwardedFor = trustedPeer ? headers.get('x-forwarded-for') : undefined;
  flat.push(
    'host',
    facts.rewriteHost ?? headers.get('host')?.[0] ?? facts.hostHeader,
    'x-forwarded-for',
    priorForwardedFor === undefined ? facts.clientIp : `${priorForwardedFor.join(', ')}, ${facts.peer}`,
    'x-forwarded-host',
    (trustedPeer ? headers.get('x-forwarded-host')?.[0] : undefined) ?? facts.hostHeader,
    'x-forwarded-proto',
    (trustedPeer ? headers.get('x-forwarded-proto')?.[0] : undefined) ?? facts.scheme,
  );
  return flat;
}
