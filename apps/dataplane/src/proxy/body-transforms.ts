import { Transform, type TransformCallback } from 'node:stream';
import { constants, createBrotliCompress, createDeflate, createGzip } from 'node:zlib';
import {
  filterMcpLists,
  type BodyReplacement,
  type Directives,
  type McpListFilter,
  type SseEventFacts,
} from '@gatehouse/traffic-policy';
import { LzwCompressTransform } from './lzw-compress.js';

/**
 * The body effects a policy schedules through `context.directives` (the engine decides, the data plane does the I/O):
 * find-replace on the request body, on the response body, on each server-sent event, and compression.
 */

export function applyReplacements(text: string, replacements: readonly BodyReplacement[]): string {
  let result = text;
  for (const { from, to } of replacements) result = result.replace(from, to);
  return result;
}

type SseReplacement = NonNullable<Directives['sseReplacements']>[number];

/**
 * A `text/event-stream` rewritten one event at a time: each event is pushed as soon as its blank line arrives, so the
 * stream stays live and nothing waits for the response to end. Subclasses say what an event becomes.
 */
abstract class SseEventTransform extends Transform {
  #pending = '';
  readonly #decoder = new TextDecoder();

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#pending += this.#decoder.decode(chunk, { stream: true });
    let boundary = findEventBoundary(this.#pending);
    while (boundary !== undefined) {
      const [end, next] = boundary;
      this.push(this.rewrite(this.#pending.slice(0, end)) + this.#pending.slice(end, next));
      this.#pending = this.#pending.slice(next);
      boundary = findEventBoundary(this.#pending);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.#pending += this.#decoder.decode();
    if (this.#pending !== '') this.push(this.rewrite(this.#pending));
    callback();
  }

  /** The event's text (without its terminating blank line) as it is sent on. */
  protected abstract rewrite(event: string): string;
}

/** `sse-find-replace`: the `data:` and `retry:` field values of each event, rewritten by the policy's replacements. */
export class SseReplaceTransform extends SseEventTransform {
  constructor(private readonly replacements: readonly SseReplacement[]) {
    super();
  }

  protected rewrite(event: string): string {
    return rewriteSseEvent(event, this.replacements);
  }
}

/** An event's `data:` and `retry:` field values with `replacements` applied (each line on its own, as ngrok does). */
export function rewriteSseEvent(event: string, replacements: readonly SseReplacement[]): string {
  if (replacements.length === 0) return event;
  return event
    .split(/\r\n|\r|\n/)
    .map((line) => {
      for (const field of ['data', 'retry'] as const) {
        if (!line.startsWith(`${field}:`)) continue;
        const applicable = replacements.filter((replacement) => replacement.field === field);
        if (applicable.length === 0) return line;
        const value = line.slice(field.length + 1);
        const space = value.startsWith(' ') ? ' ' : '';
        return `${field}:${space}${applyReplacements(value.slice(space.length), applicable)}`;
      }
      return line;
    })
    .join('\n');
}

/**
 * The fields of one event as the WHATWG event-stream parser reads them (`sse.*` in on_event_stream_message): comment
 * lines skipped, one leading space of a value dropped, `data` lines joined with newlines, the last of the others kept.
 * Undefined for an event with no field at all (only comments, a keep-alive): no rule runs for it.
 */
export function parseSseEvent(event: string): SseEventFacts | undefined {
  const facts: SseEventFacts = { event: '', data: '', id: '', retry: '' };
  const data: string[] = [];
  let fields = 0;
  for (const line of event.split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    fields++;
    if (name === 'data') data.push(value);
    else if (name === 'event' || name === 'id' || name === 'retry') facts[name] = value;
  }
  if (fields === 0) return undefined;
  facts.data = data.join('\n');
  return facts;
}

/** What on_event_stream_message decided for one event: its replacements, or an error that ends the stream. */
export type SseEventJudge = (event: SseEventFacts) => Promise<readonly SseReplacement[] | Error>;

/**
 * on_event_stream_message: each event is judged by the policy as soon as its blank line arrives and sent on at once
 * (events are parsed incrementally; the stream is never buffered beyond the event being read). Events are judged in
 * order, one at a time, so the output keeps the upstream's order. A run that fails (a runtime error) ends the stream:
 * sending the event unchanged could pass on what a replacement was meant to remove.
 */
export class SsePolicyTransform extends Transform {
  #pending = '';
  readonly #decoder = new TextDecoder();

  constructor(private readonly judge: SseEventJudge) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#pending += this.#decoder.decode(chunk, { stream: true });
    this.#drain(false).then(
      () => callback(),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  override _flush(callback: TransformCallback): void {
    this.#pending += this.#decoder.decode();
    this.#drain(true).then(
      () => callback(),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  async #drain(final: boolean): Promise<void> {
    let boundary = findEventBoundary(this.#pending);
    while (boundary !== undefined) {
      const [end, next] = boundary;
      const event = this.#pending.slice(0, end);
      const separator = this.#pending.slice(end, next);
      this.#pending = this.#pending.slice(next);
      this.push((await this.#rewrite(event)) + separator);
      boundary = findEventBoundary(this.#pending);
    }
    if (final && this.#pending !== '') {
      const rest = this.#pending;
      this.#pending = '';
      this.push(await this.#rewrite(rest));
    }
  }

  async #rewrite(event: string): Promise<string> {
    const facts = parseSseEvent(event);
    if (facts === undefined) return event;
    const decided = await this.judge(facts);
    if (decided instanceof Error) throw decided;
    return rewriteSseEvent(event, decided);
  }
}

/** [end of the event's text, start of the next event] for the first complete event, if any. */
function findEventBoundary(text: string): [number, number] | undefined {
  const match = /\r\n\r\n|\n\n|\r\r/.exec(text);
  return match === null ? undefined : [match.index, match.index + match[0].length];
}

/**
 * Collects the response body (up to `limit` bytes) to rewrite it whole. A body over the limit is passed through
 * unchanged: a policy must not make the gateway hold unbounded responses in memory.
 */
export class BufferedReplaceTransform extends Transform {
  #chunks: Buffer[] = [];
  #size = 0;
  #passThrough = false;

  constructor(
    private readonly replacements: readonly BodyReplacement[],
    private readonly limit: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#passThrough) return callback(null, chunk);
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#size > this.limit) {
      this.#passThrough = true;
      for (const held of this.#chunks) this.push(held);
      this.#chunks = [];
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (!this.#passThrough)
      this.push(applyReplacements(Buffer.concat(this.#chunks).toString('utf8'), this.replacements));
    callback();
  }
}

/** A compressor for the negotiated algorithm; `flushEachWrite` keeps event streams live (each event leaves at once). */
export function createCompressor(
  algorithm: NonNullable<Directives['compressResponse']>,
  flushEachWrite: boolean,
): Transform {
  switch (algorithm) {
    case 'gzip':
      return createGzip(flushEachWrite ? { flush: constants.Z_SYNC_FLUSH } : {});
    case 'deflate':
      return createDeflate(flushEachWrite ? { flush: constants.Z_SYNC_FLUSH } : {});
    case 'br':
      return createBrotliCompress(flushEachWrite ? { flush: constants.BROTLI_OPERATION_FLUSH } : {});
    case 'compress':
      // The engine never chooses compress for an event stream (LZW cannot flush), so flushEachWrite does not apply.
      return new LzwCompressTransform();
  }
}

/** Cheap pre-check before parsing: only a message that names a list field can carry a list result. */
const listFieldPattern = /"(?:tools|prompts|resources|resourceTemplates)"/;

/** One JSON-RPC message (or batch) as text with every hidden list entry removed; the same text when nothing is. */
function filterMcpText(text: string, filters: readonly McpListFilter[]): string {
  if (!listFieldPattern.test(text)) return text;
  let message: unknown;
  try {
    message = JSON.parse(text) as unknown;
  } catch {
    return text;
  }
  const filtered = filterMcpLists(message, filters);
  return filtered === message ? text : JSON.stringify(filtered);
}

/**
 * mcp-tools on an `application/json` answer: the whole body is collected (up to `limit`), filtered and sent. A body
 * over the limit cannot be judged, so the stream fails rather than pass hidden entries (fail closed). `beforeOutput`
 * runs once the whole body is in, just before the filtered text goes out: the caller writes the response head there,
 * so an over-limit body can still be answered with an error status instead of a cut 200.
 */
export class McpJsonListFilterTransform extends Transform {
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(
    private readonly filters: readonly McpListFilter[],
    private readonly limit: number,
    private readonly beforeOutput: () => void = () => {},
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#size > this.limit)
      return callback(new Error('MCP_RESPONSE_UNFILTERABLE: the list response is too large'));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const text = Buffer.concat(this.#chunks, this.#size).toString('utf8');
    this.beforeOutput();
    this.push(filterMcpText(text, this.filters));
    callback();
  }
}

/**
 * mcp-tools on `text/event-stream`: each event is pushed as soon as its blank line arrives (the stream stays live);
 * an event whose data is a list result is re-sent with hidden entries removed, as one `data:` line.
 */
export class McpSseListFilterTransform extends SseEventTransform {
  constructor(private readonly filters: readonly McpListFilter[]) {
    super();
  }

  protected rewrite(event: string): string {
    if (!listFieldPattern.test(event)) return event;
    const lines = event.split(/\r\n|\r|\n/);
    const data: string[] = [];
    const others: string[] = [];
    for (const line of lines) {
      if (line === 'data' || line.startsWith('data:')) {
        const value = line.slice(5);
        data.push(value.startsWith(' ') ? value.slice(1) : value);
      } else others.push(line);
    }
    const text = data.join('\n');
    const filtered = filterMcpText(text, this.filters);
    if (filtered === text) return event;
    // JSON.stringify never emits a raw newline, so the filtered message fits one data line.
    return [...others, `data: ${filtered}`].join('\n');
  }
}
