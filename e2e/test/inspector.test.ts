import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedShape, type Shape } from './shapes.js';
import { ApiClient } from './support/api.js';
import { startExampleMcpServer, type ExampleMcpServer } from './support/mcp-server.js';
import { stopAllProcesses, waitFor } from './support/processes.js';

/**
 * The MCP Inspector's CLI — a client nobody here wrote, installed from npm as a devDependency — through the gateway
 * (embedded shape) to the example MCP server: it lists the tools, calls one, and is refused a tool the policy denies.
 * The cloud endpoint is https://localhost: the Inspector connects to the host it is given (it cannot send another
 * Host header), the data plane routes by Host, and endpoint hosts must be DNS names (IP literals are refused).
 */

const require = createRequire(import.meta.url);
const inspectorCli = join(
  dirname(require.resolve('@modelcontextprotocol/inspector-cli/package.json')),
  'build',
  'cli.js',
);

interface InspectorRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** One Inspector CLI run (`--cli`, Streamable HTTP) against `url`; never rejects: the exit code is part of the answer. */
function runInspector(url: string, args: readonly string[]): Promise<InspectorRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [inspectorCli, '--cli', url, '--transport', 'http', '--header', 'Authorization: Bearer inspector-e2e', ...args],
      { timeout: 60_000, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The Inspector prints one JSON document on stdout for a successful method call. */
function jsonOf(run: InspectorRun): unknown {
  if (run.code !== 0) throw new Error(`the Inspector failed (${run.code}): ${run.stderr}\n${run.stdout}`);
  return JSON.parse(run.stdout) as unknown;
}

/**
 * The denied call reaches the Inspector as a JSON-RPC error (code -32001, the policy's message) rather than an HTTP
 * failure: that is what an MCP client shows the model, and the tool never ran (no result is printed).
 */
function expectInspectorReportsDeniedTool(run: InspectorRun): void {
  const printed = `${run.stdout}\n${run.stderr}`;
  expect(run.code, `the denied call must fail; the Inspector printed:\n${printed}`).not.toBe(0);
  expect(printed).toMatch(/-32001/);
  expect(printed).toMatch(/tool not allowed: add/);
  expect(printed).not.toMatch(/\b403\b/);
  expect(printed).not.toMatch(/"sum"/);
}

const deniedToolPolicy = `on_http_request:
  - name: Require a token
    expressions: ["!hasReqHeader('Authorization')"]
    actions:
      - type: deny
        config: { status_code: 401, headers: { WWW-Authenticate: 'Bearer realm="mcp"' } }
  - name: The add tool is not allowed
    expressions: ["mcp.tool == 'add'"]
    actions:
      - type: deny
        config: { format: jsonrpc, body: "Gatehouse: tool not allowed: add" }
  - name: Forward to the MCP server
    actions:
      - type: forward-internal
        config: { url: "https://inspector-mcp.internal" }
`;

describe('the MCP Inspector CLI through the gateway', () => {
  let mcpServer: ExampleMcpServer | undefined;
  let shape: Shape | undefined;
  let api: ApiClient;
  let gatewayUrl = '';
  let cloudEndpointId = '';

  beforeAll(async () => {
    mcpServer = await startExampleMcpServer();
    shape = await startEmbeddedShape({ trustedProxies: [] });
    api = new ApiClient(shape.apiUrl);
    expect((await api.login(shape.admin.email, shape.admin.password)).status).toBe(200);
    const internal = await api.createEndpoint({
      url: 'https://inspector-mcp.internal',
      type: 'internal',
      upstream_url: mcpServer.origin,
    });
    expect(internal.status).toBe(201);
    const cloud = await api.createEndpoint({ url: 'https://localhost', traffic_policy: deniedToolPolicy });
    expect(cloud.status, JSON.stringify(cloud.body)).toBe(201);
    cloudEndpointId = cloud.body.id;
    gatewayUrl = `http://localhost:${shape.dataplanes[0]!.trafficPort}/mcp`;
    // The data plane serves the endpoint once the change reached it: 401 from the policy instead of 404.
    await waitFor(
      async () => {
        const response = await request(gatewayUrl, { method: 'POST' });
        await response.body.dump();
        return response.statusCode === 401 ? true : undefined;
      },
      { timeoutMs: 15_000, what: 'the data plane to serve the cloud endpoint', context: () => shape!.output() },
    );
  }, 180_000);

  afterEach((context) => {
    if (context.task.result?.state === 'fail' && shape !== undefined) console.error(shape.output());
  });

  afterAll(async () => {
    try {
      await shape?.stop();
    } finally {
      await stopAllProcesses();
    }
  });

  it('lists the tools', async () => {
    const listed = jsonOf(await runInspector(gatewayUrl, ['--method', 'tools/list'])) as { tools: { name: string }[] };
    expect(listed.tools.map((tool) => tool.name).sort()).toEqual(['add', 'echo', 'time']);
  });

  it('calls an allowed tool', async () => {
    const called = jsonOf(
      await runInspector(gatewayUrl, ['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'text=hello']),
    ) as { content: { type: string; text: string }[]; isError?: boolean };
    expect(called.isError ?? false).toBe(false);
    expect(called.content).toEqual([{ type: 'text', text: 'hello' }]);
  });

  it('gets an error for the denied tool, and the tool never runs', async () => {
    const run = await runInspector(gatewayUrl, [
      '--method',
      'tools/call',
      '--tool-name',
      'add',
      '--tool-arg',
      'a=1',
      '--tool-arg',
      'b=2',
    ]);
    expectInspectorReportsDeniedTool(run);
  });

  it('records every call in the request log, filterable by tool', async () => {
    const byTool = async (tool: string) =>
      waitFor(
        async () => {
          const { data } = await api.client.GET('/api/request-logs', {
            params: { query: { endpoint_id: cloudEndpointId, tool, limit: 100 } },
          });
          return data !== undefined && data.request_logs.length > 0 ? data.request_logs : undefined;
        },
        { timeoutMs: 10_000, what: `request-log rows for tool ${tool}`, context: () => shape!.output() },
      );
    const denied = await byTool('add');
    // A JSON-RPC error travels in a 200: the decision, not the status, says it was denied.
    expect(denied.every((row) => row.mcp?.tool === 'add' && row.status === 200)).toBe(true);
    expect(denied[0]!.decision).toMatchObject({ action: 'deny', rule_name: 'The add tool is not allowed' });
    const echoed = await byTool('echo');
    expect(echoed.every((row) => row.mcp?.tool === 'echo' && row.status === 200)).toBe(true);
  });
});
