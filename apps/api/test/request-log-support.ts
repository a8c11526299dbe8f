import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RequestEventInput } from '@gatehouse/contracts';
import { Redis } from 'ioredis';

let counter = 0;

/** A complete, valid request event (DESIGN.md §7) with a fresh id; override what a test cares about. */
export function requestEvent(overrides: Partial<RequestEventInput> = {}): RequestEventInput {
  counter += 1;
  return {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    endpoint_id: 'ep_test',
    endpoint_url: 'https://mcp.example.com',
    policy_version: 2,
    method: 'POST',
    host: 'mcp.example.com',
    path: `/mcp/${counter}`,
    query: '',
    status: 200,
    duration_ms: 3.5,
    upstream_duration_ms: 2.25,
    bytes_in: 120,
    bytes_out: 340,
    client_ip: '160.79.104.10',
    client_ip_categories: ['com.anthropic.api'],
    user_agent: 'mcp-client/1.0',
    forwarded_to: 'https://mcp.example.internal',
    decision: { phase: 'on_http_request', rule_index: 3, rule_name: 'forward', action: 'forward-internal' },
    rules_matched: [{ phase: 'on_http_request', rule_index: 3, rule_name: 'forward', endpoint_id: 'ep_test' }],
    error_code: null,
    logs: [],
    mcp: { method: 'tools/call', tool: 'search', protocol_version: '2025-06-18' },
    trace_id: randomUUID().replaceAll('-', ''),
    runtime_errors: [],
    trace: [
      { endpoint_id: 'ep_test', phase: 'on_http_request', rule_index: 0, rule_name: 'ip', matched: false, actions: [] },
      {
        endpoint_id: 'ep_test',
        phase: 'on_http_request',
        rule_index: 3,
        rule_name: 'forward',
        matched: true,
        actions: [{ type: 'forward-internal', result: 'forwarded', detail: 'https://mcp.example.internal' }],
      },
    ],
    ...overrides,
  };
}

export async function waitFor<T>(
  probe: () => T | Promise<T>,
  { timeoutMs = 15_000, message = 'condition not met in time' } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/** A minimal EventSource over node:http: collects events and comments; `close()` disconnects. */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  #request: http.ClientRequest | undefined;
  #buffer = '';

  static async connect(url: string, headers: Record<string, string>): Promise<SseClient> {
    const client = new SseClient();
    await new Promise<void>((resolve, reject) => {
      const request = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
        client.status = response.statusCode ?? 0;
        client.headers = response.headers;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => client.receive(chunk));
        response.on('error', () => undefined);
        resolve();
      });
      request.on('error', reject);
      client.#request = request;
    });
    return client;
  }

  get body(): string {
    return this.#buffer;
  }

  dataOf(): { id: string; seq: number; [key: string]: unknown }[] {
    return this.events.map((event) => JSON.parse(event.data) as { id: string; seq: number });
  }

  close(): void {
    this.#request?.destroy();
  }

  private receive(chunk: string): void {
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const event: SseEvent = { id: undefined, event: undefined, data: '' };
      let hasData = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('id: ')) event.id = line.slice(4);
        else if (line.startsWith('event: ')) event.event = line.slice(7);
        else if (line.startsWith('data: ')) {
          event.data += line.slice(6);
          hasData = true;
        }
      }
      if (hasData) this.events.push(event);
    }
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * A redis-server of the test's own (the machine's Redis is never killed). With `--appendonly yes --appendfsync
 * always`, as a Redis carrying BullMQ queues should run, a SIGKILL loses nothing that was acknowledged.
 */
export class OwnRedisServer {
  #child: ChildProcess | undefined;
  readonly #directory = mkdtempSync(path.join(tmpdir(), 'gatehouse-redis-'));

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.#child) return;
    this.#child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        this.#directory,
      ],
      { stdio: 'ignore' },
    );
    for (let attempt = 0; attempt < 200; attempt++) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.ping();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        probe.disconnect();
      }
    }
    throw new Error(`redis-server on port ${this.port} did not start`);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.#directory, { recursive: true, force: true });
  }
}
