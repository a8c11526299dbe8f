import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { isCidrOrAddress } from '../traffic-policy/policy-engine';

/**
 * Refreshing built-in IP categories from the lists their owners publish (OpenAI's chatgpt-connectors.json, a file an
 * admin maintains, …), configured with GATEHOUSE_IP_CATEGORY_SOURCES. A list replaces its category only when it
 * downloads completely and every entry is a valid CIDR; anything else is reported and the last good list stays, so a
 * publisher's outage or a captive portal's HTML page can never empty an allow-list.
 */

/** One configured source: the category it feeds and where its list is (https, http when allowed, or a file). */
export interface IpCategorySource {
  name: string;
  location: string;
}

/** Larger lists are refused: every published connector list is a few hundred entries. */
export const maxRangeListEntries = 10_000;
export const maxRangeListBytes = 1024 * 1024;

export class RangeListError extends Error {}

/**
 * The CIDRs of a published list. Accepted shapes: the JSON of OpenAI's and Google's range files
 * (`{"prefixes": [{"ipv4Prefix": …} | {"ipv6Prefix": …}]}`), a JSON array of CIDRs, `{"cidrs": […]}`, or text with one
 * CIDR per line (`#` starts a comment). Throws RangeListError on anything else, on an invalid entry, and on an empty
 * list (an empty allow-list would deny everyone).
 */
export function parseRangeList(text: string): string[] {
  const trimmed = text.trim();
  let entries: unknown[];
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let document: unknown;
    try {
      document = JSON.parse(trimmed);
    } catch {
      throw new RangeListError('not valid JSON');
    }
    entries = entriesOf(document);
  } else {
    if (/<html|<!doctype/i.test(trimmed.slice(0, 512))) throw new RangeListError('an HTML page, not a range list');
    entries = trimmed
      .split(/\r?\n/)
      .map((line) => line.replace(/#.*$/, '').trim())
      .filter((line) => line !== '');
  }
  if (entries.length === 0) throw new RangeListError('the list is empty');
  if (entries.length > maxRangeListEntries) {
    throw new RangeListError(`more than ${maxRangeListEntries} entries`);
  }
  const cidrs: string[] = [];
  for (const [index, entry] of entries.entries()) {
    if (typeof entry !== 'string' || !isCidrOrAddress(entry.trim())) {
      throw new RangeListError(`entry ${index + 1} is not a CIDR: ${JSON.stringify(entry)?.slice(0, 80)}`);
    }
    cidrs.push(entry.trim());
  }
  return [...new Set(cidrs)];
}

function entriesOf(document: unknown): unknown[] {
  if (Array.isArray(document)) return document as unknown[];
  if (document !== null && typeof document === 'object') {
    const { prefixes, cidrs } = document as { prefixes?: unknown; cidrs?: unknown };
    if (Array.isArray(cidrs)) return cidrs as unknown[];
    if (Array.isArray(prefixes)) {
      return (prefixes as unknown[]).map((prefix): unknown => {
        if (prefix === null || typeof prefix !== 'object') return prefix;
        const { ipv4Prefix, ipv6Prefix } = prefix as { ipv4Prefix?: unknown; ipv6Prefix?: unknown };
        return ipv4Prefix ?? ipv6Prefix ?? prefix;
      });
    }
  }
  throw new RangeListError('JSON without "prefixes" or "cidrs"');
}

/**
 * GATEHOUSE_IP_CATEGORY_SOURCES: comma-separated `category=location`. A location is an https URL, an http URL only
 * with `allowHttp`, or a file (absolute path or file: URL). Returns the problems instead of throwing, for the
 * environment parser to list.
 */
export function parseIpCategorySources(
  text: string,
  allowHttp: boolean,
): { sources: IpCategorySource[]; problems: string[] } {
  const sources: IpCategorySource[] = [];
  const problems: string[] = [];
  for (const item of text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)) {
    const separator = item.indexOf('=');
    const name = separator < 0 ? '' : item.slice(0, separator).trim();
    const location = separator < 0 ? '' : item.slice(separator + 1).trim();
    if (!/^[a-z0-9](?:[a-z0-9._-]{0,126}[a-z0-9])?$/.test(name) || location === '') {
      problems.push(`"${item}" is not category=location`);
      continue;
    }
    if (location.startsWith('/') || location.startsWith('file:')) {
      sources.push({ name, location });
      continue;
    }
    let url: URL;
    try {
      url = new URL(location);
    } catch {
      problems.push(`${name}: "${location}" is not a URL or an absolute path`);
      continue;
    }
    if (url.protocol === 'https:' || (url.protocol === 'http:' && allowHttp)) sources.push({ name, location });
    else if (url.protocol === 'http:') {
      problems.push(
        `${name}: ${location} is plain http; use https or set GATEHOUSE_IP_CATEGORY_SOURCES_ALLOW_HTTP=true`,
      );
    } else problems.push(`${name}: unsupported scheme ${url.protocol}`);
  }
  if (new Set(sources.map((source) => source.name)).size !== sources.length) {
    problems.push('a category is named twice');
  }
  return { sources, problems };
}

/** Reads a source: a file, or a GET that must answer 200 directly (no redirects: one could leave https). */
export async function fetchRangeList(location: string, timeoutMs: number): Promise<string> {
  if (location.startsWith('/') || location.startsWith('file:')) {
    const path = location.startsWith('file:') ? fileURLToPath(location) : location;
    const content = await readFile(path);
    if (content.length > maxRangeListBytes) throw new RangeListError(`larger than ${maxRangeListBytes} bytes`);
    return content.toString('utf8');
  }
  const response = await fetch(location, {
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/json, text/plain;q=0.9' },
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new RangeListError(`answered HTTP ${response.status}`);
  }
  const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const chunk = reader === undefined ? { done: true as const, value: undefined } : await reader.read();
    if (chunk.done) break;
    size += chunk.value.length;
    if (size > maxRangeListBytes) {
      await reader?.cancel();
      throw new RangeListError(`larger than ${maxRangeListBytes} bytes`);
    }
    chunks.push(chunk.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Where a refreshed list is stored: replaces the built-in category, writing (and publishing) only a real change. */
export interface RefreshedCategoryWriter {
  replaceRefreshedIpCategory(name: string, cidrs: string[], description: string): Promise<boolean>;
}

export interface RefreshOutcome {
  name: string;
  /** `updated`: a new list was stored and published; `unchanged`: the same list; `failed`: the last good list stays. */
  result: 'updated' | 'unchanged' | 'failed';
  error?: string;
}

/** One refresh of every source; each source fails on its own. Never throws. */
export async function refreshIpCategories(
  sources: readonly IpCategorySource[],
  writer: RefreshedCategoryWriter,
  logger: Pick<Logger, 'info' | 'warn'>,
  timeoutMs = 10_000,
): Promise<RefreshOutcome[]> {
  const outcomes: RefreshOutcome[] = [];
  for (const source of sources) {
    try {
      const cidrs = parseRangeList(await fetchRangeList(source.location, timeoutMs));
      const description = `Refreshed from ${source.location}`.slice(0, 255);
      const updated = await writer.replaceRefreshedIpCategory(source.name, cidrs, description);
      outcomes.push({ name: source.name, result: updated ? 'updated' : 'unchanged' });
      if (updated) logger.info({ category: source.name, entries: cidrs.length }, 'IP category refreshed');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      outcomes.push({ name: source.name, result: 'failed', error: message });
      logger.warn(
        { category: source.name, source: source.location, err: message },
        'IP category refresh failed; the last good list stays',
      );
    }
  }
  return outcomes;
}
