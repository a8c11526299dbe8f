// The API's spelling of endpoint and upstream URLs (apps/api/src/endpoints/endpoint-url.ts), reproduced so that a
// declarative file names endpoints the way the server stores them: `https://MCP.example.com:443/` in a file must match
// the stored `https://mcp.example.com`, or every apply would plan a create, and an upstream written `http://h:1/` must
// compare equal to the stored `http://h:1`, or every apply would plan an update.
import { parseCidr } from '@gatehouse/traffic-policy';
import type { EndpointType } from './api-schemas.js';

const HOST_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_PATTERN = new RegExp(`^(?:\\*\\.)?(?:${HOST_LABEL}\\.)*${HOST_LABEL}$`);

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

export interface EndpointAddress {
  /** Lower-case scheme and host, default port omitted, no path. */
  url: string;
  host: string;
  type: EndpointType;
}

/** Parses an endpoint URL; the type follows the host (`.internal` suffix), as the API requires. */
export function parseEndpointAddress(text: string): Parsed<EndpointAddress> {
  let parsed: URL;
  try {
    parsed = new URL(text.trim());
  } catch {
    return { ok: false, problem: 'not a URL (expected http(s)://host[:port])' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { ok: false, problem: `the scheme must be http or https, not ${parsed.protocol.replace(/:$/, '')}` };
  }
  if (parsed.username !== '' || parsed.password !== '') return { ok: false, problem: 'must not contain credentials' };
  if ((parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search !== '' || parsed.hash !== '') {
    return { ok: false, problem: 'an endpoint URL is scheme://host[:port] only: no path, query or fragment' };
  }
  const host = parsed.hostname.toLowerCase().replace(/\.$/, '');
  if (!HOST_PATTERN.test(host) || host.length > 253)
    return { ok: false, problem: `"${host}" is not a valid host name` };
  const type: EndpointType = host.endsWith('.internal') ? 'internal' : 'cloud';
  if (type === 'internal' && host.startsWith('*.')) {
    return { ok: false, problem: 'internal endpoints cannot use wildcard hosts' };
  }
  const proto = parsed.protocol === 'https:' ? 'https' : 'http';
  const defaultPort = proto === 'https' ? '443' : '80';
  const port = parsed.port === '' || parsed.port === defaultPort ? '' : `:${parsed.port}`;
  return { ok: true, value: { url: `${proto}://${host}${port}`, host, type } };
}

/** An internal endpoint's upstream as the API stores it: WHATWG-serialized, without the lone trailing slash. */
export function normalizeUpstreamUrl(text: string): Parsed<string> {
  let parsed: URL;
  try {
    parsed = new URL(text.trim());
  } catch {
    return { ok: false, problem: 'not a URL (expected e.g. http://127.0.0.1:3333)' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { ok: false, problem: 'must be an http or https URL' };
  }
  if (parsed.username !== '' || parsed.password !== '') return { ok: false, problem: 'must not contain credentials' };
  if (parsed.hash !== '') return { ok: false, problem: 'must not contain a fragment' };
  const serialized = parsed.toString();
  return {
    ok: true,
    value: parsed.pathname === '/' && parsed.search === '' ? serialized.replace(/\/$/, '') : serialized,
  };
}

/** An IPv4/IPv6 CIDR or bare address, parsed by the engine exactly as the API and the data plane parse it. */
export function isCidrOrAddress(value: string): boolean {
  return parseCidr(value) !== undefined;
}
