import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMcpServer, type RunningMcpServer } from '../src/index.js';

const packageDirectory = fileURLToPath(new URL('..', import.meta.url));

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'example-mcp-server-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

describe('startMcpServer (in process)', () => {
  let server: RunningMcpServer;
  let client: Client;

  beforeAll(async () => {
    server = await startMcpServer({ port: 0 });
    client = await connect(server.url);
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it('listens on 127.0.0.1 by default and reports its /mcp URL', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/mcp`);
  });

  it('lists its three tools with input schemas', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(['add', 'echo', 'time']);
    const add = tools.find((tool) => tool.name === 'add')!;
    expect(add.inputSchema.required).toEqual(['a', 'b']);
  });

  it('adds, with the sum as text and as structured content', async () => {
    const result = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
    expect(result.content).toEqual([{ type: 'text', text: '42' }]);
    expect(result.structuredContent).toEqual({ sum: 42 });
  });

  it('echoes text unchanged', async () => {
    const text = 'héllo ✓ gatehouse';
    const result = await client.callTool({ name: 'echo', arguments: { text } });
    expect(result.content).toEqual([{ type: 'text', text }]);
  });

  it('tells the time in a time zone, and reports an unknown zone as a tool error', async () => {
    const before = Date.now();
    const result = await client.callTool({ name: 'time', arguments: { time_zone: 'Asia/Tokyo' } });
    const structured = result.structuredContent as { iso: string; time_zone: string; local: string };
    expect(structured.time_zone).toBe('Asia/Tokyo');
    expect(Date.parse(structured.iso)).toBeGreaterThanOrEqual(before - 1_000);
    expect(Date.parse(structured.iso)).toBeLessThanOrEqual(Date.now() + 1_000);
    expect(result.isError).toBeFalsy();

    const bad = await client.callTool({ name: 'time', arguments: { time_zone: 'Mars/Olympus_Mons' } });
    expect(bad.isError).toBe(true);
    expect(bad.content).toEqual([{ type: 'text', text: 'unknown time zone "Mars/Olympus_Mons"' }]);
  });

  it('rejects invalid arguments without calling the tool', async () => {
    const result = await client.callTool({ name: 'add', arguments: { a: 'two', b: 40 } });
    expect(result.isError).toBe(true);
  });

  it('answers 405 to GET /mcp (stateless: no server-initiated stream), 404 elsewhere, 200 on /healthz', async () => {
    const get = await fetch(server.url);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const elsewhere = await fetch(`http://127.0.0.1:${server.port}/nope`, { method: 'POST' });
    expect(elsewhere.status).toBe(404);
    const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect(health.status).toBe(200);
  });

  it('stops listening on close()', async () => {
    const other = await startMcpServer({ port: 0 });
    await other.close();
    await expect(fetch(`http://127.0.0.1:${other.port}/healthz`)).rejects.toThrow();
  });
});

describe('src/main.ts (the process)', () => {
  it('listens on PORT and HOST, serves MCP, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: packageDirectory,
      env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
          const match = /listening on (http:\/\/\S+)/.exec(output);
          if (match !== null) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
      });
      expect(output).toContain('(tools: add, echo, time)');
      const client = await connect(url);
      const result = await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } });
      expect(result.content).toEqual([{ type: 'text', text: '3' }]);
      await client.close();

      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code, output).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses a bad PORT at boot, naming it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: packageDirectory,
      env: { PATH: process.env.PATH ?? '', PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(2);
    expect(output).toContain('PORT:');
  });
});
