import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, uniqueId, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { assertRedisUp, sharedRedisUrl } from './helpers/redis-process.js';

/**
 * mcp-tools must see a whole `tools/list` answer to filter it. One it cannot read — compressed against our
 * `accept-encoding: identity`, or larger than DATAPLANE_MCP_MAX_BODY_BYTES, whether the size is declared or only found
 * while streaming — is answered 502 MCP_RESPONSE_UNFILTERABLE, never passed through and never cut short under a 200.
 */
describe('mcp-tools on JSON list answers it cannot filter', () => {
  const cap = 4096;
  const config = new TestConfigServer(sharedRedisUrl);
  let upstream: Server;
  let gateway: RunningDataplane;

  const toolsList = (count: number) =>
    JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      result: {
        tools: Array.from({ length: count }, (_, index) => ({
          name: index === 0 ? 'danger' : `tool_${index}`,
          inputSchema: { type: 'object' },
        })),
      },
    });

  beforeAll(async () => {
    await assertRedisUp();
    upstream = createServer((req, res) => {
      const shape = req.url ?? '/';
      if (shape === '/gzip') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(gzipSync(toolsList(2)));
      } else if (shape === '/declared-large') {
        const body = toolsList(200);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } else if (shape === '/streamed-large') {
        // No content-length: the size is only known once the limit has been passed mid-stream.
        res.writeHead(200, { 'content-type': 'application/json' });
        const body = toolsList(200);
        res.write(body.slice(0, 1000));
        setTimeout(() => res.end(body.slice(1000)), 20);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(toolsList(3));
      }
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    await config.start();
    await config.upsertEndpoint({
      id: uniqueId('ep_list_upstream'),
      url: 'https://list-upstream.internal',
      upstream_url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    });
    await config.upsertEndpoint({
      id: uniqueId('ep_list_gate'),
      url: 'https://lists.gate.test',
      traffic_policy: `
on_http_request:
  - actions:
      - type: mcp-tools
        config: { tools: { deny: [danger] } }
      - type: forward-internal
        config: { url: https://list-upstream.internal }
`,
    });
    gateway = await startDataplane(config, { redisUrl: sharedRedisUrl, mcpMaxBodyBytes: cap });
  });

  afterAll(async () => {
    await gateway?.stop();
    await config.close();
    upstream?.close();
  });

  const list = (path: string) =>
    httpRequest({
      port: gateway.port,
      host: 'lists.gate.test',
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });

  it('filters a list it can read', async () => {
    const response = await list('/small');
    expect(response.status).toBe(200);
    const names = (JSON.parse(response.body) as { result: { tools: { name: string }[] } }).result.tools.map(
      (tool) => tool.name,
    );
    expect(names).toEqual(['tool_1', 'tool_2']);
  });

  it.each(['/gzip', '/declared-large', '/streamed-large'])('answers 502 for %s instead of passing it', async (path) => {
    const response = await list(path);
    expect(response.status).toBe(502);
    expect(response.headers['gatehouse-error-code']).toBe('MCP_RESPONSE_UNFILTERABLE');
    expect(response.body).not.toContain('danger');
  });
});
