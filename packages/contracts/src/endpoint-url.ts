// Endpoint and upstream URL rules (DESIGN.md §4), the one copy. The API enforces them, the CLI spells declarative
// files the way the API stores them, the dashboard checks a form as the user types, and the engine checks
// forward-internal targets; all four call these functions, so a URL one of them accepts the others accept too.
// Pure: WHATWG URL and tldts (the Public Suffix List) only, so it runs in Node and in the browser.
import { parse as parseDomain } from 'tldts';

/** The types an operator creates through the API, CLI and dashboard. */
export const endpointTypes = ['cloud', 'internal'] as const;
export type EndpointType = (typeof endpointTypes)[number];
/**
 * Every type an endpoint can have: `agent` endpoints are created by agent sessions only (agent-tunnel.ts) and are
 * read-only through the API. A `.internal` agent endpoint is reachable only by forward-internal; any other agent
 * endpoint is public, routed by Host like a cloud endpoint, and its policy may fall through to the agent's upstream.
 */
export const allEndpointTypes = ['cloud', 'internal', 'agent'] as const;
export type AnyEndpointType = (typeof allEndpointTypes)[number];

/** The outcome of checking a URL: the normalized value, or one sentence saying what is wrong. */
export type UrlCheck<T> = { ok: true; value: T } | { ok: false; problem: string };

export interface EndpointAddress {
  /** Normalized: lower-case scheme and host, default port omitted, no path. */
  url: string;
  proto: 'http' | 'https';
  /** Lower-case, without port or trailing dot; data planes route on it. */
  host: string;
  port: number;
  /** What the host says the endpoint is: `.internal` hosts are internal, every other host is cloud. */
  type: EndpointType;
}

const hostLabel = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const hostPattern = new RegExp(`^(?:\\*\\.)?(?:${hostLabel}\\.)*${hostLabel}$`);
const maxHostLength = 253;
const ipv4Pattern = /^\d{1,3}(?:\.\d{1,3}){3}$/;
/** Long enough to recognize the text, short enough that an error message stays one line. */
const quotedTextLength = 200;

const invalid = (problem: string): { ok: false; problem: string } => ({ ok: false, problem });

export function isInternalHost(host: string): boolean {
  return host.toLowerCase().endsWith('.internal');
}

interface HttpUrlWording {
  /** An example of a good URL, shown when the text is not a URL at all. */
  example: string;
  wrongScheme: (scheme: string) => string;
  credentials: string;
}

function parseHttpUrl(text: string, wording: HttpUrlWording): UrlCheck<URL> {
  let parsed: URL;
  try {
    parsed = new URL(text.trim());
  } catch {
    return invalid(`"${text.slice(0, quotedTextLength)}" is not a URL (expected e.g. ${wording.example})`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return invalid(wording.wrongScheme(parsed.protocol.replace(/:$/, '')));
  }
  if (parsed.username !== '' || parsed.password !== '') return invalid(wording.credentials);
  return { ok: true, value: parsed };
}

const endpointWording: HttpUrlWording = {
  example: 'https://mcp.example.com',
  wrongScheme: (scheme) => `The scheme must be http or https, not ${scheme}`,
  credentials: 'The URL must not contain credentials',
};

const upstreamWording: HttpUrlWording = {
  example: 'http://127.0.0.1:3333',
  wrongScheme: (scheme) => `The upstream must be an http or https URL, not ${scheme}`,
  credentials: 'The upstream URL must not contain credentials',
};

/**
 * An endpoint URL: http or https, a DNS host (a leading `*.` for wildcard cloud hosts, never directly on a public
 * suffix; no IP literals), no credentials, path, query or fragment. With `expectedType`, the host must agree with it: internal hosts end in
 * `.internal`, cloud hosts never do, and internal endpoints cannot be wildcards.
 */
export function parseEndpointUrl(text: string, expectedType?: EndpointType): UrlCheck<EndpointAddress> {
  const checked = parseHttpUrl(text, endpointWording);
  if (!checked.ok) return checked;
  const parsed = checked.value;
  if ((parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search !== '' || parsed.hash !== '') {
    return invalid('An endpoint URL is scheme://host[:port] only: no path, query or fragment');
  }
  // Browsers serialize "*.example.com" as "%2A.example.com"; undo that so a wildcard host is judged alike everywhere.
  const host = parsed.hostname
    .toLowerCase()
    .replace(/^%2a\./, '*.')
    .replace(/\.$/, '');
  if (!hostPattern.test(host) || host.length > maxHostLength) return invalid(`"${host}" is not a valid host name`);
  const type: EndpointType = isInternalHost(host) ? 'internal' : 'cloud';
  if (expectedType === 'cloud' && type === 'internal') return invalid('Cloud endpoint hosts must not end in .internal');
  if (expectedType === 'internal' && type === 'cloud') return invalid('Internal endpoint hosts must end in .internal');
  if (type === 'internal' && host.startsWith('*.')) return invalid('Internal endpoints cannot use wildcard hosts');
  // Data planes route on the Host header: an IP literal is whatever address a client happened to dial, not a name
  // the endpoint owns, and it would capture every request sent to the gateway's address.
  if (ipv4Pattern.test(host))
    return invalid(`"${host}" is an IP address; an endpoint host must be a DNS name such as mcp.example.com`);
  if (host.startsWith('*.')) {
    const suffix = host.slice(2);
    // A wildcard directly on a public suffix (`*.com`, `*.co.uk`, `*.github.io`) would claim every site under it.
    const domain = parseDomain(suffix, { allowPrivateDomains: true });
    if (domain.publicSuffix === suffix || domain.domain === null)
      return invalid(
        `"${host}" is a wildcard on the public suffix "${suffix}"; put the wildcard under a domain you own, e.g. *.example.${suffix}`,
      );
  }
  const proto = parsed.protocol === 'https:' ? 'https' : 'http';
  const defaultPort = proto === 'https' ? 443 : 80;
  const port = parsed.port === '' ? defaultPort : Number(parsed.port);
  const url = `${proto}://${host}${port === defaultPort ? '' : `:${port}`}`;
  return { ok: true, value: { url, proto, host, port, type } };
}

/**
 * An internal endpoint's upstream: an absolute http(s) URL without credentials or fragment, WHATWG-serialized and
 * without the lone trailing slash (`http://h:1/` and `http://h:1` are one upstream). A path or query is kept: it
 * prefixes every forwarded request.
 */
export function parseUpstreamUrl(text: string): UrlCheck<string> {
  const checked = parseHttpUrl(text, upstreamWording);
  if (!checked.ok) return checked;
  const parsed = checked.value;
  if (parsed.hash !== '') return invalid('The upstream URL must not contain a fragment');
  const serialized = parsed.toString();
  return {
    ok: true,
    value: parsed.pathname === '/' && parsed.search === '' ? serialized.replace(/\/$/, '') : serialized,
  };
}

/**
 * The policy rules an endpoint's type follows. An agent endpoint's policy may fall through to the agent's upstream,
 * like an internal endpoint's, so it is validated and compiled as one (cloud policies must end in a response).
 */
export function policyEndpointType(type: AnyEndpointType): EndpointType {
  return type === 'agent' ? 'internal' : type;
}

/**
 * How an endpoint's policy is validated and compiled: its rules (`policyEndpointType`) and whether clients connect to
 * the endpoint itself, so on_tcp_connect runs there. That is true for cloud endpoints and for agent endpoints on a
 * public URL (ngrok allows on_tcp_connect on agent endpoints); an internal endpoint and an agent endpoint on a
 * `.internal` URL are reached only through forward-internal, without a connection of their own.
 */
export function policyOptionsFor(
  type: AnyEndpointType,
  url: string,
): { endpointType: EndpointType; acceptsConnections: boolean } {
  const endpointType = policyEndpointType(type);
  if (type !== 'agent') return { endpointType, acceptsConnections: type === 'cloud' };
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    // An unparseable URL is refused elsewhere; here it gets the stricter rules.
    return { endpointType, acceptsConnections: false };
  }
  return { endpointType, acceptsConnections: !isInternalHost(host) };
}
