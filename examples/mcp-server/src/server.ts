import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** The one path that speaks MCP (Streamable HTTP). */
export const MCP_PATH = '/mcp';

export const TOOL_NAMES = ['add', 'echo', 'time'] as const;

export interface McpServerOptions {
  /** TCP port; 0 picks a free one (tests). Default 3333, the upstream the README walkthrough registers. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1: the server is meant to sit behind Gatehouse, not on a public address. */
  host?: string;
  /** How long `close()` waits for requests in flight before cutting their connections. Default 5 s. */
  shutdownGraceMs?: number;
}

export interface RunningMcpServer {
  /** `http://<host>:<port>/mcp` */
  url: string;
  host: string;
  port: number;
  /** Stops accepting connections, lets requests in flight finish (up to the grace period), then resolves. */
  close(): Promise<void>;
}

/** Builds the MCP server with its tools. A new one serves each request, because the transport is stateless. */
export function createExampleMcpServer(): McpServer {
  const server = new McpServer({ name: 'gatehouse-example-mcp-server', version: '0.1.0' });

  server.registerTool(
    'echo',
    {
      title: 'Echo',
      description: 'Returns the text it is given, unchanged.',
      inputSchema: { text: z.string().max(10_000).describe('Text to send back') },
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ text }) => ({ content: [{ type: 'text', text }] }),
  );

  server.registerTool(
    'add',
    {
      title: 'Add',
      description: 'Adds two numbers.',
      inputSchema: { a: z.number().describe('First addend'), b: z.number().describe('Second addend') },
      outputSchema: { sum: z.number() },
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ a, b }) => {
      const sum = a + b;
      return { content: [{ type: 'text', text: String(sum) }], structuredContent: { sum } };
    },
  );

  server.registerTool(
    'time',
    {
      title: 'Current time',
      description: "The server's current time as RFC 3339 (UTC) and as wall-clock time in an IANA time zone.",
      inputSchema: {
        time_zone: z.string().min(1).max(64).optional().describe('IANA time zone, e.g. Europe/Berlin (default UTC)'),
      },
      outputSchema: { iso: z.string(), time_zone: z.string(), local: z.string() },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ time_zone: timeZone = 'UTC' }) => {
      const now = new Date();
      let local: string;
      try {
        local = new Intl.DateTimeFormat('en-CA', {
          timeZone,
          dateStyle: 'short',
          timeStyle: 'medium',
          hourCycle: 'h23',
        }).format(now);
      } catch {
        // A tool error (isError) rather than a protocol error: the model sees the message and can correct itself.
        return { isError: true, content: [{ type: 'text', text: `unknown time zone "${timeZone}"` }] };
      }
      const result = { iso: now.toISOString(), time_zone: timeZone, local };
      return { content: [{ type: 'text', text: `${local} (${timeZone})` }], structuredContent: result };
    },
  );

  return server;
}

function sendJsonRpcError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) {
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

async function handleMcpRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const server = createExampleMcpServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  // The response may stream (SSE) after handleRequest resolves, so the pair is released when the response closes.
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res);
}

function route(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  if (path !== MCP_PATH) {
    sendJsonRpcError(res, 404, `Not found: MCP is served at ${MCP_PATH}.`);
    return;
  }
  // Stateless: there is no session to open a server-initiated stream on (GET) or to end (DELETE).
  if (req.method !== 'POST') {
    sendJsonRpcError(res, 405, 'Method not allowed: this stateless server accepts POST only.', { allow: 'POST' });
    return;
  }
  handleMcpRequest(req, res).catch((error: unknown) => {
    console.error('mcp-server: request failed', error);
    if (!res.headersSent) sendJsonRpcError(res, 500, 'Internal server error.');
    else res.destroy();
  });
}

function formatUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}${MCP_PATH}`;
}

/** Starts the example MCP server over Streamable HTTP and resolves once it is listening. */
export async function startMcpServer(options: McpServerOptions = {}): Promise<RunningMcpServer> {
  const host = options.host ?? '127.0.0.1';
  const graceMs = options.shutdownGraceMs ?? 5_000;
  const http = createServer(route);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 3333, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: formatUrl(host, port),
    host,
    port,
    close() {
      closing ??= (async () => {
        const closed = once(http, 'close');
        http.close();
        // Keep-alive connections with nothing in flight would otherwise hold close() open until they time out.
        http.closeIdleConnections();
        const deadline = setTimeout(() => http.closeAllConnections(), graceMs);
        try {
          await closed;
        } finally {
          clearTimeout(deadline);
        }
      })();
      return closing;
    },
  };
}
