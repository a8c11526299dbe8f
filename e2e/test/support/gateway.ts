import type { LookupFunction } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Agent, fetch as undiciFetch, request } from 'undici';

/** One request this suite sent through a data plane, as the client saw it. */
export interface SentRequest {
  /** Which data plane carried it. */
  via: string;
  method: string;
  /** The `check` query parameter that tags every request, so its request-log row can be found. */
  check: string;
  authorization: string | undefined;
  forwardedFor: string | undefined;
  /** The JSON-RPC method of the body, when it had one. */
  rpcMethod: string | undefined;
  /** When it was sent (ms since epoch). */
  sentAt: number;
  status: number;
}

export interface GatewayResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Resolves every host name to 127.0.0.1, so a client can use the endpoint's real name: the URL, and therefore the
 * Host header, say `mcp.example.com` while the connection goes to the data plane on this machine. (fetch drops a
 * Host header set by hand; a connect-time lookup is the reliable way.)
 */
const loopbackLookup: LookupFunction = (_hostname, options, callback) => {
  if (options.all === true)
    (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [
      { address: '127.0.0.1', family: 4 },
    ]);
  else callback(null, '127.0.0.1', 4);
};

function rpcMethodOf(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const method = (JSON.parse(body) as { method?: unknown }).method;
    return typeof method === 'string' ? method : undefined;
  } catch {
    return undefined;
  }
}

function headerValue(headers: RequestInit['headers'], name: string): string | undefined {
  if (headers === undefined) return undefined;
  return new Headers(headers).get(name) ?? undefined;
}

/** A client of one data plane's traffic port, for one cloud host, that records everything it sends. */
export class GatewayClient {
  readonly #agent = new Agent({ connect: { lookup: loopbackLookup } });
  #inFlight = 0;

  constructor(
    /** A label for messages and for `SentRequest.via`. */
    readonly name: string,
    readonly port: number,
    readonly host: string,
    /** Shared by every gateway client of a test, so the requests of all data planes are in one list. */
    readonly sent: SentRequest[],
  ) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  url(check: string, path = '/mcp'): string {
    return `http://${this.host}:${this.port}${path}?check=${encodeURIComponent(check)}`;
  }

  /** One plain HTTP request through the data plane. */
  async send(options: {
    check: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
  }): Promise<GatewayResponse> {
    const method = options.method ?? 'POST';
    const sentAt = Date.now();
    this.#inFlight++;
    try {
      const response = await request(this.url(options.check), {
        method: method as 'POST',
        headers: options.headers ?? {},
        ...(options.body === undefined ? {} : { body: options.body }),
        dispatcher: this.#agent,
      });
      const body = await response.body.text();
      this.sent.push({
        via: this.name,
        method,
        check: options.check,
        authorization: options.headers?.authorization,
        forwardedFor: options.headers?.['x-forwarded-for'],
        rpcMethod: rpcMethodOf(options.body),
        sentAt,
        status: response.statusCode,
      });
      return { status: response.statusCode, headers: response.headers, body };
    } finally {
      this.#inFlight--;
    }
  }

  /** A JSON-RPC tools/call as an MCP client would POST it (without the session handshake a stateless server skips). */
  async callToolRaw(check: string, headers: Record<string, string>, id: number): Promise<GatewayResponse> {
    return this.send({
      check,
      headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: 'add', arguments: { a: id, b: 1 } },
      }),
    });
  }

  /**
   * A real MCP client (`@modelcontextprotocol/sdk`, Streamable HTTP) whose every HTTP request goes through this data
   * plane with `headers` and is recorded under `check`.
   */
  async connectMcp(check: string, headers: Record<string, string>): Promise<Client> {
    const recordingFetch = async (url: string | URL, init?: RequestInit): Promise<Response> => {
      const sentAt = Date.now();
      this.#inFlight++;
      try {
        const response = (await undiciFetch(url, {
          ...(init as object),
          dispatcher: this.#agent,
        })) as unknown as Response;
        this.sent.push({
          via: this.name,
          method: init?.method ?? 'GET',
          check,
          authorization: headerValue(init?.headers, 'authorization'),
          forwardedFor: headerValue(init?.headers, 'x-forwarded-for'),
          rpcMethod: rpcMethodOf(init?.body),
          sentAt,
          status: response.status,
        });
        return response;
      } finally {
        this.#inFlight--;
      }
    };
    const transport = new StreamableHTTPClientTransport(new URL(this.url(check)), {
      requestInit: { headers },
      fetch: recordingFetch,
    });
    const client = new Client({ name: 'gatehouse-e2e', version: '1.0.0' });
    await client.connect(transport);
    return client;
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
