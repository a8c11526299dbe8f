import type { EndpointType } from '../api/endpoints.api';

// The same rules the API applies (apps/api/src/endpoints/endpoint-url.ts), checked as the user types so the form
// can say what is wrong before a round trip. The API stays the authority: its 400 is shown on the same field.

const hostLabel = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const hostPattern = new RegExp(`^(?:\\*\\.)?(?:${hostLabel}\\.)*${hostLabel}$`);

/** Why `text` is not a valid URL for an endpoint of this type, or null when it is. */
export function describeEndpointUrlProblem(text: string, type: EndpointType): string | null {
  const trimmed = text.trim();
  if (!trimmed) return 'Enter the URL clients will call, e.g. https://mcp.example.com';
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    return 'Enter a full URL that starts with http:// or https://';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `The scheme must be http or https, not ${parsed.protocol.replace(/:$/, '')}`;
  }
  if (parsed.username || parsed.password) return 'The URL must not contain credentials';
  if ((parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search || parsed.hash) {
    return 'An endpoint URL is scheme://host[:port] only: no path, query or fragment';
  }
  // URL turns "*.example.com" into "%2A.example.com"; undo that so wildcard hosts are judged like the API does.
  const host = parsed.hostname
    .toLowerCase()
    .replace(/^%2a\./, '*.')
    .replace(/\.$/, '');
  if (!hostPattern.test(host) || host.length > 253) return `"${host}" is not a valid host name`;
  const isInternalHost = host.endsWith('.internal');
  if (type === 'cloud' && isInternalHost) return 'Cloud endpoint hosts must not end in .internal';
  if (type === 'internal' && !isInternalHost) return 'Internal endpoint hosts must end in .internal';
  if (type === 'internal' && host.startsWith('*.')) return 'Internal endpoints cannot use wildcard hosts';
  return null;
}

/** Why `text` is not a valid upstream for an internal endpoint, or null when it is. */
export function describeUpstreamUrlProblem(text: string): string | null {
  const trimmed = text.trim();
  if (!trimmed) return 'Internal endpoints forward to an upstream: enter its URL, e.g. http://127.0.0.1:3333';
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    return 'Enter a full URL that starts with http:// or https://';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'The upstream must be an http or https URL';
  if (parsed.username || parsed.password) return 'The upstream URL must not contain credentials';
  if (parsed.hash) return 'The upstream URL must not contain a fragment';
  return null;
}
