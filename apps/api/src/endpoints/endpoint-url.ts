import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';

export interface ParsedEndpointUrl {
  /** Normalized: lower-case scheme and host, default port omitted, no path. */
  url: string;
  proto: 'http' | 'https';
  host: string;
  port: number;
}

const HOST_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_PATTERN = new RegExp(`^(?:\\*\\.)?(?:${HOST_LABEL}\\.)*${HOST_LABEL}$`);

function invalid(message: string): AppError {
  return new AppError(ErrorCode.ENDPOINT_URL_INVALID, message, [{ path: 'url', message }]);
}

/**
 * Endpoint URL rules (DESIGN.md §4): http or https, a DNS host or IPv4 literal (a leading `*.` for wildcard cloud hosts), no
 * credentials, path, query or fragment. Internal hosts end in `.internal`; cloud hosts never do.
 */
export function parseEndpointUrl(text: string, type: 'cloud' | 'internal'): ParsedEndpointUrl {
  let parsed: URL;
  try {
    parsed = new URL(text.trim());
  } catch {
    throw invalid(`"${text.slice(0, 200)}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalid(`The scheme must be http or https, not ${parsed.protocol.replace(/:$/, '')}`);
  }
  if (parsed.username || parsed.password) throw invalid('The URL must not contain credentials');
  if ((parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search || parsed.hash) {
    throw invalid('An endpoint URL is scheme://host[:port] only: no path, query or fragment');
  }
  const host = parsed.hostname.toLowerCase().replace(/\.$/, '');
  if (!HOST_PATTERN.test(host) || host.length > 253) throw invalid(`"${host}" is not a valid host name`);
  const isInternalHost = host.endsWith('.internal');
  if (type === 'cloud' && isInternalHost) throw invalid('Cloud endpoint hosts must not end in .internal');
  if (type === 'internal' && !isInternalHost) throw invalid('Internal endpoint hosts must end in .internal');
  if (type === 'internal' && host.startsWith('*.')) throw invalid('Internal endpoints cannot use wildcard hosts');
  const proto = parsed.protocol === 'https:' ? 'https' : 'http';
  const defaultPort = proto === 'https' ? 443 : 80;
  const port = parsed.port ? Number(parsed.port) : defaultPort;
  return { url: `${proto}://${host}${port === defaultPort ? '' : `:${port}`}`, proto, host, port };
}

/** An internal endpoint's upstream: an absolute http(s) URL without credentials. */
export function parseUpstreamUrl(text: string): string {
  const fail = (message: string): AppError =>
    new AppError(ErrorCode.ENDPOINT_UPSTREAM_INVALID, message, [{ path: 'upstream_url', message }]);
  let parsed: URL;
  try {
    parsed = new URL(text.trim());
  } catch {
    throw fail(`"${text.slice(0, 200)}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw fail('upstream_url must be an http or https URL');
  }
  if (parsed.username || parsed.password) throw fail('upstream_url must not contain credentials');
  if (parsed.hash) throw fail('upstream_url must not contain a fragment');
  const normalized = parsed.toString();
  return parsed.pathname === '/' && !parsed.search ? normalized.replace(/\/$/, '') : normalized;
}
