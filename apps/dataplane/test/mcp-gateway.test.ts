import { gzipSync } from 'node:zlib';
import type { LookupFunction } from 'node:net';
import { requestEventSchema } from '@gatehouse/contracts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, uniqueId, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest, type TestResponse } from './helpers/http.js';
import { startStatefulMcpServer, type StatefulMcpServer } from './helpers/mcp-stateful.js';
import { assertRedisUp, sharedRedisUrl } from './helpers/redis-process.js';

/**
 * Issue 14's bypasses, tried with the real MCP SDK client and a real stateful SDK server through a real data plane:
 * header/body mismatch, padding past the old 64 KiB detection window (in `_meta` and in whitespace), batches,
 * case/whitespace variants, notifications, Content-Type and encoding tricks. None may run a denied tool or show a
 * hidden one, while sampling, elicitation and roots (the server asks, the client's response passes) keep working.
 */
const host = 'mcp.gate.test';
const policy = `
on_http_request:
  - actions:
      - type: mcp-tools
        config:
          tools:
            deny: [hidden_admin]
            expression: "!tool.annotations.destructiveHint"
          prompts:
            allow: [greeting]
  - name: wipe is disabled
    expressions: ["mcp.tool == 'wipe'"]
    actions:
      - type: deny
        config: { format: jsonrpc, body: wipe is disabled }
  - actions:
      - type: forward-internal
        config: { url: https://mcp-upstream.internal }
`;

const loopbackLookup: LookupFunction = (_hostname, options, callback) => {
  if (options.all === true)
    (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [
      { address: '127.0.0.1', family: 4 },
    ]);
  else callback(null, '127.0.0.1', 4);
};

interface Session {
  client: Client;
  transport: StreamableHTTPClientTransport;
  close(): Promise<void>;
}

async function connect(port: number, headers: Record<string, string> = {}): Promise<Session> {
  const agent = new Agent({ connect: { lookup: loopbackLookup } });
  const transport = new StreamableHTTPClientTransport(new URL(`http://${host}:${port}/mcp`), {
    requestInit: { headers },
    fetch: ((url: string | URL, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch,
  });
  const client = new Client(
    { name: 'gatehouse-bypass-client', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: {}, roots: {} } },
  );
  client.setRequestHandler(CreateMessageRequestSchema, () => ({
    role: 'assistant',
    model: 'test-model',
    content: { type: 'text', text: 'hi from the model' },
  }));
  client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { name: 'Ada' } }));
  client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: 'file:///work', name: 'work' }] }));
  await client.connect(transport);
  return {
    client,
    transport,
    async close() {
      await client.close();
      await agent.close();
    },
  };
}

describe('the MCP gateway against bypass attempts (real SDK client and server)', () => {
  const config = new TestConfigServer(sharedRedisUrl);
  let mcp: StatefulMcpServer;
  let gateway: RunningDataplane;
  let session: Session;
  const mcpCap = 512 * 1024;

  beforeAll(async () => {
    await assertRedisUp();
    mcp = await startStatefulMcpServer();
    await config.start();
    await config.upsertEndpoint({
      id: uniqueId('ep_mcp_upstream'),
      url: 'https://mcp-upstream.internal',
      upstream_url: mcp.url,
    });
    await config.upsertEndpoint({ id: uniqueId('ep_mcp_gate'), url: `https://${host}`, traffic_policy: policy });
    await config.upsertEndpoint({
      id: uniqueId('ep_other'),
      url: 'https://other.gate.test',
      traffic_policy: `on_http_request:\n  - actions:\n      - type: forward-internal\n        config: { url: https://mcp-upstream.internal }\n`,
    });
    gateway = await startDataplane(config, { redisUrl: sharedRedisUrl, mcpMaxBodyBytes: mcpCap });
    session = await connect(gateway.port);
  });

  afterAll(async () => {
    await session?.close();
    await gateway?.stop();
    await config.close();
    await mcp?.close();
  });

  /** A raw POST on the SDK client's session, as an attacker with a valid session would send it. */
  function raw(body: string | Buffer, headers: Record<string, string> = {}, to = host): Promise<TestResponse> {
    return httpRequest({
      port: gateway.port,
      host: to,
      path: '/mcp',
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': session.transport.sessionId!,
        'mcp-protocol-version': '2025-06-18',
        ...headers,
      },
      body,
    });
  }

  const call = (name: string, id: number | string = 1, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {}, ...extra } });

  function expectNotAllowed(response: TestResponse, id: number | string | null): void {
    expect(response.status).toBe(200);
    expect(response.headers['gatehouse-error-code']).toBe('MCP_NOT_ALLOWED');
    expect(JSON.parse(response.body)).toEqual({
      jsonrpc: '2.0',
      id,
      error: { code: -32602, message: expect.stringContaining('tool not allowed') as string },
    });
  }

  it('lists only the visible tools and prompts, over SSE', async () => {
    const tools = await session.client.listTools();
    expect(tools.tools.map((tool) => tool.name).sort()).toEqual([
      'ask_model',
      'ask_user',
      'echo',
      'show_roots',
      'wipe',
    ]);
    const prompts = await session.client.listPrompts();
    expect(prompts.prompts.map((prompt) => prompt.name)).toEqual(['greeting']);
  });

  it('lists only the visible tools over JSON responses too', async () => {
    const jsonSession = await connect(gateway.port, { 'x-json': '1' });
    try {
      const tools = await jsonSession.client.listTools();
      expect(tools.tools.map((tool) => tool.name)).not.toContain('danger');
      expect(tools.tools.map((tool) => tool.name)).not.toContain('hidden_admin');
      await expect(jsonSession.client.callTool({ name: 'hidden_admin' })).rejects.toThrow(/tool not allowed/);
    } finally {
      await jsonSession.close();
    }
  });

  it('answers a hidden or denied tool with a JSON-RPC error the SDK surfaces, not a transport failure', async () => {
    const hidden = await session.client.callTool({ name: 'danger' }).catch((error: unknown) => error);
    expect(hidden).toBeInstanceOf(McpError);
    expect((hidden as McpError).code).toBe(-32602);
    expect((hidden as McpError).message).toContain('tool not allowed: danger');
    const denied = await session.client.callTool({ name: 'wipe' }).catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(McpError);
    expect((denied as McpError).message).toContain('wipe is disabled');
    const echoed = await session.client.callTool({ name: 'echo', arguments: { text: 'ok' } });
    expect(echoed.content).toEqual([{ type: 'text', text: 'ok' }]);
  });

  it('keeps sampling, elicitation and roots working: the client answers pass as mcp.kind response', async () => {
    expect((await session.client.callTool({ name: 'ask_model' })).content).toEqual([
      { type: 'text', text: 'hi from the model' },
    ]);
    expect((await session.client.callTool({ name: 'ask_user' })).content).toEqual([{ type: 'text', text: 'Ada' }]);
    expect((await session.client.callTool({ name: 'show_roots' })).content).toEqual([
      { type: 'text', text: 'file:///work' },
    ]);
    const answer = await gateway.sink.waitFor((event) => event.mcp?.kind === 'response');
    expect(answer.status).toBe(202);
  });

  it('refuses Mcp-Method / Mcp-Name headers that contradict the body with a 400 JSON-RPC error', async () => {
    const mismatches: Record<string, string>[] = [
      { 'mcp-method': 'ping' },
      { 'mcp-method': 'tools/call', 'mcp-name': 'echo' },
      { 'mcp-method': 'tools/list' },
    ];
    for (const headers of mismatches) {
      const response = await raw(call('danger', 77), headers);
      expect(response.status).toBe(400);
      expect(response.headers['gatehouse-error-code']).toBe('MCP_HEADER_MISMATCH');
      expect(JSON.parse(response.body)).toMatchObject({ jsonrpc: '2.0', id: 77, error: { code: -32600 } });
    }
    // Matching headers are fine.
    const ok = await raw(call('echo', 78, { arguments: { text: 'x' } }), {
      'mcp-method': 'tools/call',
      'mcp-name': 'echo',
    });
    expect(ok.status).toBe(200);
    const event = await gateway.sink.waitFor((candidate) => candidate.error_code === 'MCP_HEADER_MISMATCH');
    expect(event.mcp).toMatchObject({ method: 'tools/call', tool: 'danger' });
  });

  it('judges bodies padded past 64 KiB, in _meta and in whitespace', async () => {
    const padding = 'x'.repeat(100 * 1024);
    expectNotAllowed(await raw(call('danger', 5, { _meta: { padding } })), 5);
    const spaced = `{"jsonrpc":"2.0","id":6,${' '.repeat(100 * 1024)}"method":"tools/call","params":{"name":"danger"}}`;
    expectNotAllowed(await raw(spaced), 6);
    expectNotAllowed(await raw(`${' \n'.repeat(70 * 1024)}${call('danger', 7)}`), 7);
  });

  it('answers 413 above the MCP body cap instead of skipping detection', async () => {
    const response = await raw(call('danger', 8, { _meta: { padding: 'x'.repeat(mcpCap) } }));
    expect(response.status).toBe(413);
    expect(response.headers['gatehouse-error-code']).toBe('MCP_BODY_TOO_LARGE');
    const whitespace = await raw(' '.repeat(mcpCap + 10));
    expect(whitespace.status).toBe(413);
  });

  it('denies a batch if any element is denied, wherever it sits', async () => {
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const danger = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'danger' } };
    const wipe = { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'wipe' } };
    // Every element with an id is answered (the refused one with its reason, the rest as not run), so a client
    // waiting on each id of its batch gets them all.
    const notRun = (id: number) => ({
      jsonrpc: '2.0',
      id,
      error: { code: -32001, message: expect.stringContaining('not run') as string },
    });
    for (const batch of [
      [ping, danger],
      [danger, ping],
    ]) {
      const response = await raw(JSON.stringify(batch));
      expect(response.status).toBe(200);
      expect(response.headers['gatehouse-error-code']).toBe('MCP_NOT_ALLOWED');
      const answers = JSON.parse(response.body) as { id: number }[];
      expect(answers.map((answer) => answer.id)).toEqual(batch.map((element) => element.id));
      expect(answers.find((answer) => answer.id === 2)).toMatchObject({ error: { code: -32602 } });
      expect(answers.find((answer) => answer.id === 1)).toEqual(notRun(1));
    }
    const denied = await raw(JSON.stringify([ping, wipe]));
    expect(JSON.parse(denied.body)).toEqual([
      notRun(1),
      { jsonrpc: '2.0', id: 3, error: { code: -32001, message: 'wipe is disabled' } },
    ]);
    const event = await gateway.sink.waitFor((candidate) => candidate.mcp?.kind === 'batch');
    expect(event.mcp?.method).toContain('tools/call');
  });

  it('refuses a batch of more elements than it judges one by one (a 4 MiB batch of notifications stalled the process)', async () => {
    // The policy runs once per element: ~90,000 tiny elements in one unauthenticated request kept every endpoint
    // waiting for seconds. The MCP SDK's own servers refuse batches over 100; the gateway refuses them first.
    const element = { jsonrpc: '2.0', method: 'notifications/progress' };
    const tooMany = await raw(JSON.stringify(Array.from({ length: 101 }, () => element)));
    expect(tooMany.status).toBe(400);
    expect(tooMany.headers['gatehouse-error-code']).toBe('MCP_BATCH_TOO_LARGE');
    expect(JSON.parse(tooMany.body)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    const huge = await raw(JSON.stringify(Array.from({ length: 5_000 }, () => element)));
    expect(huge.headers['gatehouse-error-code']).toBe('MCP_BATCH_TOO_LARGE');
    const hundred = await raw(JSON.stringify(Array.from({ length: 100 }, () => element)));
    expect(hundred.headers['gatehouse-error-code']).toBeUndefined();
  });

  it('is not fooled by case and whitespace variants, notifications, content types, a BOM or compression', async () => {
    expectNotAllowed(await raw(call(' DANGER ', 9)), 9);
    expectNotAllowed(await raw(call('Hidden_Admin', 10)), 10);
    const variant = JSON.stringify({ jsonrpc: '2.0', id: 11, method: ' Tools/Call ', params: { name: 'danger' } });
    expectNotAllowed(await raw(variant), 11);
    const notification = await raw(
      JSON.stringify({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'danger' } }),
    );
    expect(notification.status).toBe(403);
    for (const contentType of ['text/plain', 'APPLICATION/JSON; charset=UTF-8', 'application/json-seq', '']) {
      expectNotAllowed(await raw(call('danger', 12), { 'content-type': contentType }), 12);
    }
    expectNotAllowed(await raw(`\uFEFF${call('danger', 13)}`), 13);
    expectNotAllowed(await raw(gzipSync(call('danger', 14)), { 'content-encoding': 'gzip' }), 14);
    // Without the jsonrpc member a lenient server could still run it.
    expectNotAllowed(await raw(JSON.stringify({ id: 15, method: 'tools/call', params: { name: 'danger' } })), 15);
    expect(mcp.ran).not.toContain('danger');
    expect(mcp.ran).not.toContain('hidden_admin');
    expect(mcp.ran).not.toContain('wipe');
  });

  it('refuses a JSON-RPC message a lenient parser would run but JSON.parse rejects (trailing data, JSON5)', async () => {
    // Go's json.Decoder, Python's raw_decode and JSON5 parsers run the first value of these bodies — a denied call —
    // while the gateway could not parse them to judge it. A body that cannot be judged does not pass.
    const danger = call('danger', 30);
    const malformed = [
      `${danger} trailing`,
      `${danger}\n${call('echo', 31)}`,
      `${JSON.stringify({ jsonrpc: '2.0', id: 32, method: 'ping' })}${danger}`,
      `{"jsonrpc":"2.0","id":33,"method":"tools/call","params":{"name":"danger",},}`,
      `{/* c */ "jsonrpc":"2.0","id":34,'method':'tools/call',"params":{"name":"danger"}}`,
      `[${danger},]`,
      `{"jsonrpc":"2.0","id":35,"m\\u0065thod":"tools/call","params":{"name":"danger"}} x`,
    ];
    for (const body of malformed) {
      const response = await raw(body);
      expect(response.status, body).toBe(400);
      expect(response.headers['gatehouse-error-code'], body).toBe('MCP_BODY_MALFORMED');
      expect(JSON.parse(response.body), body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    }
    expect(mcp.ran).not.toContain('danger');
    // Invalid JSON that names no JSON-RPC member is not the gateway's to refuse: it reaches the upstream as before.
    for (const body of ['{"a":1}\n{"b":2}\n', '{not json at all', '[1, 2,]']) {
      const passed = await raw(body, {}, 'other.gate.test');
      expect(passed.headers['gatehouse-error-code'], body).toBeUndefined();
    }
  });

  it('refuses member names in another case, which servers matching names without case read (Go encoding/json)', async () => {
    // Each is valid JSON the gateway would judge as harmless while encoding/json (last match wins, any case,
    // ſ = s) reads a call to danger.
    const variants = [
      `{"jsonrpc":"2.0","id":40,"method":"ping","METHOD":"tools/call","params":{"name":"danger"}}`,
      `{"JSONRPC":"2.0","id":41,"Method":"tools/call","Params":{"Name":"danger"}}`,
      `{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","Name":"danger"}}`,
      `{"jsonrpc":"2.0","id":43,"method":"tools/call","params":{"name":"echo"},"paramſ":{"name":"danger"}}`,
      `[{"jsonrpc":"2.0","id":44,"method":"ping"},{"jsonrpc":"2.0","id":45,"Method":"tools/call","params":{"name":"danger"}}]`,
    ];
    for (const body of variants) {
      const response = await raw(body);
      expect(response.status, body).toBe(400);
      expect(response.headers['gatehouse-error-code'], body).toBe('MCP_BODY_MALFORMED');
      expect(JSON.parse(response.body), body).toMatchObject({ error: { code: -32700 } });
    }
    // Case is free inside the tool's own arguments: only the members the gateway reads must be exact.
    const inArguments = await raw(call('echo', 46, { arguments: { text: 'ok', Method: 'x', NAME: 'y' } }));
    expect(inArguments.status).toBe(200);
    expect(inArguments.headers['gatehouse-error-code']).toBeUndefined();
    expect(mcp.ran).not.toContain('danger');
  });

  it('logs MCP facts for every MCP request, also on endpoints whose policy never mentions mcp', async () => {
    const response = await raw(call('echo', 20, { arguments: { text: 'elsewhere' } }), {}, 'other.gate.test');
    expect(response.status).toBe(200);
    const event = await gateway.sink.waitFor(
      (candidate) => candidate.host === 'other.gate.test' && candidate.mcp?.tool === 'echo',
    );
    expect(event.mcp).toMatchObject({
      method: 'tools/call',
      tool: 'echo',
      kind: 'request',
      protocol_version: '2025-06-18',
    });
    for (const logged of gateway.sink.events) expect(requestEventSchema.safeParse(logged).error).toBeUndefined();
  });
});
