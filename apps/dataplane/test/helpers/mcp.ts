import type { LookupFunction } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Agent, fetch as undiciFetch } from 'undici';
import { z } from 'zod';
import { listen, type RunningServer } from './upstreams.js';

export interface McpTestServer extends RunningServer {
  /** When the server sent each tools/call result (ms since epoch), to prove progress streamed before it. */
  resultSentAt: number[];
  /** Headers of every request the MCP server received. */
  seenHeaders: Record<string, string | string[] | undefined>[];
}

/** A real MCP server (Streamable HTTP, stateless) with an `add` tool and a `countdown` tool that streams progress. */
export async function startMcpServer(): Promise<McpTestServer> {
  const resultSentAt: number[] = [];
  const seenHeaders: Record<string, string | string[] | undefined>[] = [];
  const running = await listen((req, res) => {
    seenHeaders.push(req.headers);
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const server = new McpServer({ name: 'gatehouse-test-mcp', version: '1.0.0' });
    server.registerTool(
      'add',
      { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() } },
      ({ a, b }) => ({
        content: [{ type: 'text', text: String(a + b) }],
      }),
    );
    server.registerTool(
      'countdown',
      {
        description: 'Counts down, reporting progress as it goes',
        inputSchema: { from: z.number().int().min(1).max(10) },
      },
      async ({ from }, extra) => {
        const progressToken = extra._meta?.progressToken;
        for (let step = 1; step <= from; step++) {
          if (progressToken !== undefined) {
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken, progress: step, total: from, message: `${from - step} left` },
            });
          }
          await new Promise((resolve) => setTimeout(resolve, 150));
        }
        resultSentAt.push(Date.now());
        return { content: [{ type: 'text', text: 'liftoff' }] };
      },
    );
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
  });
  return Object.assign(running, { resultSentAt, seenHeaders });
}

/** Resolves every name to 127.0.0.1, so a client can use the endpoint's real host name (and Host header). */
const loopbackLookup: LookupFunction = (_hostname, options, callback) => {
  if (options.all === true)
    (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [
      { address: '127.0.0.1', family: 4 },
    ]);
  else callback(null, '127.0.0.1', 4);
};

/** A real MCP client that reaches the data plane at `http://<host>:<port>/mcp`, with the given headers. */
export async function connectMcpClient(
  host: string,
  port: number,
  headers: Record<string, string>,
): Promise<{ client: Client; close(): Promise<void> }> {
  const agent = new Agent({ connect: { lookup: loopbackLookup } });
  const transport = new StreamableHTTPClientTransport(new URL(`http://${host}:${port}/mcp`), {
    requestInit: { headers },
    fetch: ((url: string | URL, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch,
  });
  const client = new Client({ name: 'gatehouse-test-client', version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    async close() {
      await client.close();
      await agent.close();
    },
  };
}
