import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { listen, type RunningServer } from './upstreams.js';

export interface StatefulMcpServer extends RunningServer {
  /** Every tool the server actually ran, in order: what a bypass must never reach. */
  ran: string[];
}

/**
 * A real stateful MCP server (sessions, SSE responses; JSON responses when initialize carried `x-json: 1`) whose tools
 * cover what a gateway must guard: a harmless one, destructive ones, and ones that ask the client back (sampling,
 * elicitation, roots), which only work when the client's responses pass.
 */
export async function startStatefulMcpServer(): Promise<StatefulMcpServer> {
  const ran: string[] = [];
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const running = await listen((req, res) => {
    void (async () => {
      const sessionId = req.headers['mcp-session-id'];
      const existing = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
      if (existing !== undefined) {
        await existing.handleRequest(req, res);
        return;
      }
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      if (body === undefined || !isInitializeRequest(body)) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"no session"}');
        return;
      }
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: req.headers['x-json'] === '1',
        onsessioninitialized: (id) => void transports.set(id, transport),
      });
      const server = buildServer(ran);
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  return Object.assign(running, { ran });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const safe = { readOnlyHint: false, destructiveHint: false };

function buildServer(ran: string[]): McpServer {
  const server = new McpServer({ name: 'gatehouse-stateful-test', version: '1.0.0' });
  const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
  server.registerTool(
    'echo',
    { inputSchema: { text: z.string() }, annotations: { readOnlyHint: true, destructiveHint: false } },
    ({ text: value }) => (ran.push('echo'), text(value)),
  );
  server.registerTool('wipe', { annotations: safe }, () => (ran.push('wipe'), text('wiped')));
  server.registerTool('danger', { annotations: { destructiveHint: true } }, () => (ran.push('danger'), text('boom')));
  server.registerTool(
    'hidden_admin',
    { annotations: { readOnlyHint: true, destructiveHint: false } },
    () => (ran.push('hidden_admin'), text('admin')),
  );
  server.registerTool('ask_model', { annotations: safe }, async () => {
    ran.push('ask_model');
    const answer = await server.server.createMessage({
      messages: [{ role: 'user', content: { type: 'text', text: 'say hi' } }],
      maxTokens: 10,
    });
    return text(answer.content.type === 'text' ? answer.content.text : '?');
  });
  server.registerTool('ask_user', { annotations: safe }, async () => {
    ran.push('ask_user');
    const answer = await server.server.elicitInput({
      message: 'Your name?',
      requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
    });
    return text(answer.action === 'accept' ? String(answer.content?.name) : answer.action);
  });
  server.registerTool('show_roots', { annotations: safe }, async () => {
    ran.push('show_roots');
    const roots = await server.server.listRoots();
    return text(roots.roots.map((root) => root.uri).join(','));
  });
  server.registerPrompt('greeting', {}, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'hello' } }],
  }));
  server.registerPrompt('secret_prompt', {}, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'secret' } }],
  }));
  return server;
}
