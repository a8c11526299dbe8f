import { alwaysRedactedHeaders, type RequestLogCapture } from '@gatehouse/contracts';
import type { HeaderMap } from '@gatehouse/traffic-policy';

/** How much of each body an opted-in endpoint's request log keeps: enough to debug a JSON-RPC call, not a download. */
export const capturedBodyMaxBytes = 8 * 1024;

type HeaderValues = Record<string, string | string[]>;

const secretHeaders = new Set(alwaysRedactedHeaders);

/**
 * Header values for the request log, without Authorization, Proxy-Authorization, Cookie and Set-Cookie: those values
 * must never leave the data plane, whatever the endpoint opted into (the API strips them again, but that is a second
 * line, not the first).
 */
export function capturedHeaders(headers: HeaderMap): HeaderValues {
  const kept: HeaderValues = {};
  for (const [name, values] of headers) {
    if (secretHeaders.has(name.toLowerCase()) || values.length === 0) continue;
    kept[name] = values.length === 1 ? values[0]! : [...values];
  }
  return kept;
}

const textualSubtypes = new Set([
  'json',
  'xml',
  'javascript',
  'ecmascript',
  'x-www-form-urlencoded',
  'graphql',
  'yaml',
  'x-yaml',
  'x-ndjson',
  'ndjson',
  'jsonl',
  'csv',
]);

/** A media type whose body is text: `text/*`, JSON/XML and their `+json`/`+xml` suffixes, forms, GraphQL, YAML. */
function isTextualMediaType(mediaType: string): boolean {
  if (mediaType.startsWith('text/')) return true;
  const slash = mediaType.indexOf('/');
  if (slash < 0) return false;
  const subtype = mediaType.slice(slash + 1);
  const plus = subtype.lastIndexOf('+');
  return textualSubtypes.has(plus < 0 ? subtype : subtype.slice(plus + 1)) || textualSubtypes.has(subtype);
}

/**
 * The first `capturedBodyMaxBytes` bytes of a body as it flows past: each chunk is copied (never held, never delayed),
 * so the stream itself is untouched and SSE events still reach the client as they arrive.
 */
export class BodyPrefix {
  #buffer: Buffer | undefined;
  #size = 0;
  #total = 0;
  /** Set instead of capturing bytes when the body is binary or encoded: a summary is all the log gets. */
  readonly #skipped: string | undefined;

  constructor(
    headers: HeaderMap,
    private readonly limit = capturedBodyMaxBytes,
  ) {
    const encoding = headers.get('content-encoding')?.[0]?.trim().toLowerCase();
    const mediaType = (headers.get('content-type')?.[0] ?? '').split(';')[0]!.trim().toLowerCase();
    if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
      this.#skipped = `[${encoding}-encoded body not captured]`;
    } else if (mediaType !== '' && !isTextualMediaType(mediaType)) {
      this.#skipped = `[${mediaType} body not captured]`;
    }
  }

  add(chunk: Buffer): void {
    this.#total += chunk.length;
    if (this.#skipped !== undefined || this.#size >= this.limit) return;
    this.#buffer ??= Buffer.allocUnsafe(this.limit);
    this.#size += chunk.copy(this.#buffer, this.#size, 0, Math.min(chunk.length, this.limit - this.#size));
  }

  addText(text: string): void {
    this.add(Buffer.from(text, 'utf8'));
  }

  /** The captured text (a cut multi-byte character at the end is dropped), a summary, or null when there was none. */
  toText(): string | null {
    if (this.#total === 0) return null;
    if (this.#skipped !== undefined) return `${this.#skipped} (${this.#total} bytes)`;
    let text: string;
    try {
      // stream: true leaves a trailing incomplete UTF-8 sequence out instead of failing on the cut.
      text = new TextDecoder('utf-8', { fatal: true }).decode(this.#buffer!.subarray(0, this.#size), { stream: true });
    } catch {
      return `[binary body not captured] (${this.#total} bytes)`;
    }
    if (text.includes('\u0000')) return `[binary body not captured] (${this.#total} bytes)`;
    return this.#total > this.#size ? `${text}\n[truncated: first ${this.#size} of ${this.#total} bytes]` : text;
  }
}

/**
 * What an opted-in endpoint's request log gets besides the usual fields. Created only for such endpoints, so a request
 * to any other endpoint pays one property check and allocates nothing.
 */
export class RequestLogCapturer {
  readonly requestHeaders: HeaderValues | undefined;
  responseHeaders: HeaderValues | undefined;
  readonly requestBody: BodyPrefix | undefined;
  responseBody: BodyPrefix | undefined;

  constructor(
    readonly options: RequestLogCapture,
    requestHeaders: HeaderMap,
  ) {
    // Copied now: policies may add or remove request headers later, and the log shows what the client sent.
    this.requestHeaders = options.headers ? capturedHeaders(requestHeaders) : undefined;
    this.requestBody = options.bodies ? new BodyPrefix(requestHeaders) : undefined;
  }

  /**
   * The upstream's response is about to stream. The body is captured as the upstream sends it (before a policy's
   * find-replace or compression), so `upstreamHeaders` decide whether it is text; the headers are logged as they go to
   * the client (`sentHeaders`, after the response phase).
   */
  startUpstreamResponse(upstreamHeaders: HeaderMap): void {
    if (this.options.bodies) this.responseBody = new BodyPrefix(upstreamHeaders);
  }

  responseHeadersSent(sentHeaders: HeaderMap): void {
    if (this.options.headers) this.responseHeaders = capturedHeaders(sentHeaders);
  }

  /** A response the gateway or a policy wrote itself: head and body at once. */
  syntheticResponse(headers: HeaderMap, body: string): void {
    this.responseHeadersSent(headers);
    if (!this.options.bodies) return;
    this.responseBody = new BodyPrefix(headers);
    if (body !== '') this.responseBody.addText(body);
  }
}

/** The capturer for a request to `capture`'s endpoint, or undefined when it opted into nothing. */
export function requestLogCapturerFor(
  capture: RequestLogCapture,
  requestHeaders: HeaderMap,
): RequestLogCapturer | undefined {
  return capture.headers || capture.bodies ? new RequestLogCapturer(capture, requestHeaders) : undefined;
}
