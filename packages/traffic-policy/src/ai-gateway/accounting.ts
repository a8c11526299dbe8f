import type { RequestAiGateway } from '@gatehouse/contracts';
import type { AiWireFormat } from '../ports.js';

/**
 * What one ai-gateway run did, kept for the request log (the contracts' request-event shape): every attempt with its
 * outcome, the chosen provider and model, token counts and a cost estimate. The engine fills the attempts; the data
 * plane adds the usage the provider reported once the (possibly streamed) response has ended. Plain JSON numbers:
 * this is not what CEL sees. `price` stays in the data plane.
 */
export interface AiGatewayRecord extends RequestAiGateway {
  /** Prices of the chosen model per million tokens, for the cost once usage is known. */
  price: { input_per_million: number; output_per_million: number } | null;
}

export type AiGatewayAttemptRecord = RequestAiGateway['attempts'][number];

export interface TokenUsage {
  input: number | undefined;
  output: number | undefined;
}

/** Sets usage and the cost estimate on a finished run. */
export function recordUsage(record: AiGatewayRecord, usage: TokenUsage): void {
  if (usage.input !== undefined) record.input_tokens = usage.input;
  if (usage.output !== undefined) record.output_tokens = usage.output;
  const price = record.price;
  if (price !== null && (record.input_tokens !== null || record.output_tokens !== null)) {
    const cost =
      ((record.input_tokens ?? 0) * price.input_per_million + (record.output_tokens ?? 0) * price.output_per_million) /
      1_000_000;
    // Nano-dollars: a short request costs millionths of a dollar, and floating noise below that is not worth keeping.
    record.cost_usd = Math.round(cost * 1e9) / 1e9;
  }
}

/**
 * Reads token usage from a provider response as it passes, without holding it: a JSON body is kept only up to a bound
 * (its `usage` comes at the end), an event stream is read event by event (OpenAI: the chunk with `usage`, sent when
 * `stream_options.include_usage` is on, or the Responses API's response.completed; Anthropic: `message_start`'s input and `message_delta`'s output tokens).
 */
export class UsageReader {
  readonly #format: AiWireFormat;
  readonly #eventStream: boolean;
  readonly #decoder = new TextDecoder();
  #buffer = '';
  #overflow = false;
  readonly usage: TokenUsage = { input: undefined, output: undefined };

  constructor(format: AiWireFormat, eventStream: boolean) {
    this.#format = format;
    this.#eventStream = eventStream;
  }

  push(chunk: Uint8Array): void {
    if (this.#overflow) return;
    this.#buffer += this.#decoder.decode(chunk, { stream: true });
    if (this.#eventStream) {
      let boundary = nextEventBoundary(this.#buffer);
      while (boundary !== undefined) {
        this.#readEvent(this.#buffer.slice(0, boundary.index));
        this.#buffer = this.#buffer.slice(boundary.index + boundary.length);
        boundary = nextEventBoundary(this.#buffer);
      }
    }
    // One event or one JSON answer past this is not a chat response we can account for; stop reading rather than grow.
    if (this.#buffer.length > maxBufferedCharacters) {
      this.#overflow = true;
      this.#buffer = '';
    }
  }

  finish(): TokenUsage {
    if (this.#overflow) return this.usage;
    this.#buffer += this.#decoder.decode();
    if (this.#eventStream) {
      if (this.#buffer.trim() !== '') this.#readEvent(this.#buffer);
    } else {
      this.#readObject(parseJson(this.#buffer));
    }
    this.#buffer = '';
    return this.usage;
  }

  #readEvent(event: string): void {
    let data = '';
    for (const line of event.split(/\r\n|\r|\n/)) {
      if (line.startsWith('data:')) data += (data === '' ? '' : '\n') + line.slice(line.startsWith('data: ') ? 6 : 5);
    }
    if (data === '' || data === '[DONE]') return;
    const value = parseJson(data);
    if (this.#format === 'anthropic') {
      const message = field(value, 'message');
      if (message !== undefined) this.#readObject(message);
    } else {
      // Responses API streams: response.completed (or .incomplete / .failed) carries the response with its usage.
      const response = field(value, 'response');
      if (response !== undefined) this.#readObject(response);
    }
    this.#readObject(value);
  }

  /**
   * OpenAI: usage.prompt_tokens / completion_tokens (Chat Completions) or usage.input_tokens / output_tokens
   * (Responses, whose input count already includes cached tokens); Anthropic: usage.input_tokens (+ cache) /
   * output_tokens.
   */
  #readObject(value: unknown): void {
    const usage = field(value, 'usage');
    if (usage === undefined) return;
    if (this.#format === 'openai') {
      const input = numberField(usage, 'prompt_tokens') ?? numberField(usage, 'input_tokens');
      const output = numberField(usage, 'completion_tokens') ?? numberField(usage, 'output_tokens');
      if (input !== undefined) this.usage.input = input;
      if (output !== undefined) this.usage.output = output;
      return;
    }
    const input = numberField(usage, 'input_tokens');
    if (input !== undefined) {
      // Cached prompt tokens are billed as input too; message_delta repeats input_tokens in newer API versions.
      this.usage.input =
        input +
        (numberField(usage, 'cache_creation_input_tokens') ?? 0) +
        (numberField(usage, 'cache_read_input_tokens') ?? 0);
    }
    const output = numberField(usage, 'output_tokens');
    if (output !== undefined) this.usage.output = output;
  }
}

const maxBufferedCharacters = 4 * 1024 * 1024;

function nextEventBoundary(text: string): { index: number; length: number } | undefined {
  const match = /\r\n\r\n|\n\n|\r\r/.exec(text);
  return match === null ? undefined : { index: match.index, length: match[0].length };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function field(value: unknown, name: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return (value as Record<string, unknown>)[name];
}

function numberField(value: unknown, name: string): number | undefined {
  const found = field(value, name);
  return typeof found === 'number' && Number.isFinite(found) && found >= 0 ? found : undefined;
}
