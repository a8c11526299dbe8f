import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, type RunningServer } from './upstreams.js';

/**
 * Local stand-ins for OpenAI (Chat Completions) and Anthropic (Messages), speaking each wire format closely enough
 * for the official SDKs, JSON and SSE. What they do is chosen by the API key the request carries, so a policy's key
 * order scripts a failover:
 * - `sk-ok`: answers (streams when asked, usage included);
 * - `sk-429`, `sk-500`: that status with the format's error body;
 * - `sk-bad`: 401, an invalid key;
 * - `sk-hang`: accepts the request and never answers;
 * - `sk-cut`: streams the first event, then drops the connection.
 */
export interface ProviderCall {
  key: string;
  path: string;
  body: Record<string, unknown>;
}

export interface FakeProvider extends RunningServer {
  calls: ProviderCall[];
}

/** Tokens the fake models "generate"; streams send one event per token. */
export const fakeTokens = ['Hello', ' from', ' the', ' fake', ' model'];
export const fakeUsage = { input: 11, output: fakeTokens.length };

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

function keyOf(req: IncomingMessage): string {
  const authorization = req.headers.authorization;
  if (authorization !== undefined) return authorization.replace(/^Bearer\s+/i, '');
  return String(req.headers['x-api-key'] ?? '');
}

/** Handles the failure keys; returns true when it answered (or chose never to). */
function failOnPurpose(key: string, res: ServerResponse, errorBody: (status: number) => unknown): boolean {
  const status = key === 'sk-429' ? 429 : key === 'sk-500' ? 500 : key === 'sk-bad' ? 401 : undefined;
  if (status !== undefined) {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(errorBody(status)));
    return true;
  }
  return key === 'sk-hang';
}

export async function startFakeOpenAi(): Promise<FakeProvider> {
  const calls: ProviderCall[] = [];
  const server = await listen((req, res) => {
    void readJson(req).then((body) => {
      const key = keyOf(req);
      calls.push({ key, path: req.url ?? '', body });
      if (req.url !== '/v1/chat/completions' && req.url !== '/v1/responses') {
        res.writeHead(404).end();
        return;
      }
      if (
        failOnPurpose(key, res, (status) => ({
          error: { message: `fake failure ${status}`, type: 'fake', code: String(status) },
        }))
      )
        return;
      if (req.url === '/v1/responses') {
        answerResponses(body, key, res);
        return;
      }
      const model = String(body.model);
      const base = { id: 'chatcmpl-fake', created: 1_700_000_000, model };
      if (body.stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            ...base,
            object: 'chat.completion',
            choices: [
              { index: 0, message: { role: 'assistant', content: fakeTokens.join('') }, finish_reason: 'stop' },
            ],
            usage: {
              prompt_tokens: fakeUsage.input,
              completion_tokens: fakeUsage.output,
              total_tokens: fakeUsage.input + fakeUsage.output,
            },
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
        `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
      res.write(chunk({ role: 'assistant', content: fakeTokens[0] }));
      if (key === 'sk-cut') {
        setTimeout(() => res.destroy(), 20);
        return;
      }
      let index = 1;
      const next = () => {
        if (index < fakeTokens.length) {
          res.write(chunk({ content: fakeTokens[index++] }));
          setTimeout(next, 5);
          return;
        }
        const options = body.stream_options as { include_usage?: boolean } | undefined;
        if (options?.include_usage === true)
          res.write(
            `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: fakeUsage.input, completion_tokens: fakeUsage.output, total_tokens: fakeUsage.input + fakeUsage.output } })}\n\n`,
          );
        res.end('data: [DONE]\n\n');
      };
      setTimeout(next, 5);
    });
  });
  return Object.assign(server, { calls });
}

/**
 * The Responses API (`POST /v1/responses`): a response object with one output message, or (stream) the typed events
 * response.created, one response.output_text.delta per token and response.completed with the usage, as OpenAI sends
 * them (`event:` line, `type` and `sequence_number` in the data).
 */
function answerResponses(body: Record<string, unknown>, key: string, res: ServerResponse): void {
  const model = String(body.model);
  const response = (status: string, text: string, usage: unknown) => ({
    id: 'resp_fake',
    object: 'response',
    created_at: 1_700_000_000,
    status,
    model,
    output:
      text === ''
        ? []
        : [
            {
              type: 'message',
              id: 'msg_fake',
              status: 'completed',
              role: 'assistant',
              content: [{ type: 'output_text', text, annotations: [] }],
            },
          ],
    usage,
  });
  const usage = {
    input_tokens: fakeUsage.input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: fakeUsage.output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: fakeUsage.input + fakeUsage.output,
  };
  if (body.stream !== true) {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(response('completed', fakeTokens.join(''), usage)));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let sequence = 0;
  const send = (type: string, data: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`);
  const delta = (token: string) =>
    send('response.output_text.delta', { item_id: 'msg_fake', output_index: 0, content_index: 0, delta: token });
  send('response.created', { response: response('in_progress', '', null) });
  delta(fakeTokens[0]!);
  if (key === 'sk-cut') {
    setTimeout(() => res.destroy(), 20);
    return;
  }
  let index = 1;
  const next = () => {
    if (index < fakeTokens.length) {
      delta(fakeTokens[index++]!);
      setTimeout(next, 5);
      return;
    }
    send('response.completed', { response: response('completed', fakeTokens.join(''), usage) });
    res.end();
  };
  setTimeout(next, 5);
}

export async function startFakeAnthropic(): Promise<FakeProvider> {
  const calls: ProviderCall[] = [];
  const server = await listen((req, res) => {
    void readJson(req).then((body) => {
      const key = keyOf(req);
      calls.push({ key, path: req.url ?? '', body });
      if (req.url !== '/v1/messages') {
        res.writeHead(404).end();
        return;
      }
      if (
        failOnPurpose(key, res, (status) => ({
          type: 'error',
          error: { type: status === 429 ? 'rate_limit_error' : 'api_error', message: `fake failure ${status}` },
        }))
      )
        return;
      const message = {
        id: 'msg_fake',
        type: 'message',
        role: 'assistant',
        model: String(body.model),
        stop_sequence: null,
      };
      if (body.stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            ...message,
            content: [{ type: 'text', text: fakeTokens.join('') }],
            stop_reason: 'end_turn',
            usage: { input_tokens: fakeUsage.input, output_tokens: fakeUsage.output },
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const event = (type: string, data: Record<string, unknown>) =>
        `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      res.write(
        event('message_start', {
          message: {
            ...message,
            content: [],
            stop_reason: null,
            usage: { input_tokens: fakeUsage.input, output_tokens: 1 },
          },
        }),
      );
      if (key === 'sk-cut') {
        setTimeout(() => res.destroy(), 20);
        return;
      }
      res.write(event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
      let index = 0;
      const next = () => {
        if (index < fakeTokens.length) {
          res.write(
            event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: fakeTokens[index++] } }),
          );
          setTimeout(next, 5);
          return;
        }
        res.write(event('content_block_stop', { index: 0 }));
        res.write(
          event('message_delta', {
            delta: { stop_reason: 'end_turn', stop_sequence: null },
            usage: { output_tokens: fakeUsage.output },
          }),
        );
        res.end(event('message_stop', {}));
      };
      setTimeout(next, 5);
    });
  });
  return Object.assign(server, { calls });
}
