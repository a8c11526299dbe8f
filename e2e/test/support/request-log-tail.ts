import type { Schemas } from '@gatehouse/api-client';
import { createParser } from 'eventsource-parser';
import { request, type Dispatcher } from 'undici';
import { waitFor } from './processes.js';

export type TailedRequestLog = Schemas['RequestLogSummary'];

/**
 * A live tail (`GET /api/request-logs/stream`, Server-Sent Events) read as the dashboard reads it: collects every
 * `request_log` event and the comments (`connected`, `heartbeat`) until `close()`.
 */
export class RequestLogTail {
  readonly logs: TailedRequestLog[] = [];
  readonly comments: string[] = [];
  readonly #abort = new AbortController();
  #reading: Promise<void> = Promise.resolve();

  private constructor() {}

  /** Opens the stream with `query` (the listing's filters) and resolves once the API says it is connected. */
  static async open(apiUrl: string, query: Record<string, string>, headers: Record<string, string>) {
    const tail = new RequestLogTail();
    const response: Dispatcher.ResponseData = await request(
      `${apiUrl}/api/request-logs/stream?${new URLSearchParams(query).toString()}`,
      { headers: { accept: 'text/event-stream', ...headers }, signal: tail.#abort.signal, bodyTimeout: 0 },
    );
    if (response.statusCode !== 200)
      throw new Error(`the live tail answered ${response.statusCode}: ${await response.body.text()}`);
    const parser = createParser({
      onEvent: (event) => {
        if (event.event === 'request_log') tail.logs.push(JSON.parse(event.data) as TailedRequestLog);
      },
      onComment: (comment) => tail.comments.push(comment.trim()),
    });
    // Decoded as a stream: a multi-byte character may span two chunks.
    const decoder = new TextDecoder();
    tail.#reading = (async () => {
      try {
        for await (const chunk of response.body) parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
      } catch {
        // Aborted by close(), or the API went away: what was read stays readable.
      }
    })();
    await waitFor(() => tail.comments.includes('connected'), { timeoutMs: 10_000, what: 'the live tail to connect' });
    return tail;
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#reading;
  }
}
