import { requestEventSchema } from '@gatehouse/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import {
  startDataplane,
  uniqueId,
  walkthroughWithCapacity,
  type RunningDataplane,
} from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { connectMcpClient, startMcpServer, type McpTestServer } from './helpers/mcp.js';
import { assertRedisUp, sharedRedisUrl } from './helpers/redis-process.js';

/**
 * DESIGN.md §1 end to end: the walkthrough policy on https://mcp.example.com forwarding to a real MCP server behind
 * https://mcp.example.internal, through a data plane on real sockets with its counters on the real Redis.
 * The data plane trusts 127.0.0.1 as a proxy, so X-Forwarded-For places a request inside or outside com.anthropic.api.
 */
describe('the MCP gateway walkthrough', () => {
  const capacity = 20;
  const config = new TestConfigServer(sharedRedisUrl);
  const cloudId = uniqueId('ep_mcp');
  let mcp: McpTestServer;
  let gateway: RunningDataplane;
  const allowedIp = '160.79.104.10';
  const outsideIp = '203.0.113.9';

  beforeAll(async () => {
    await assertRedisUp();
    mcp = await startMcpServer();
    await config.start();
    // The built-in range, plus loopback so the MCP client (which connects directly) is an allowed client too.
    await config.upsertCategory({
      name: 'com.anthropic.api',
      cidrs: ['160.79.104.0/21', '2607:6bc0::/48', '127.0.0.1/32'],
    });
    await config.upsertEndpoint({
      id: uniqueId('ep_mcp_internal'),
      url: 'https://mcp.example.internal',
      upstream_url: mcp.url,
    });
    await config.upsertEndpoint({
      id: cloudId,
      url: 'https://mcp.example.com',
      traffic_policy: walkthroughWithCapacity(capacity),
      policy_version: 3,
    });
    // A generous Redis timeout: the test asserts every check reached Redis, even on a busy CI machine.
    gateway = await startDataplane(config, {
      redisUrl: sharedRedisUrl,
      trustedProxies: ['127.0.0.1/32'],
      rateLimitTimeoutMs: 5_000,
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await config.close();
    await mcp?.close();
  });

  it('answers 401 "Authorization required" without an Authorization header', async () => {
    const response = await httpRequest({
      port: gateway.port,
      host: 'mcp.example.com',
      path: '/mcp',
      method: 'POST',
      headers: { 'x-forwarded-for': allowedIp },
    });
    expect(response.status).toBe(401);
    expect(response.body).toBe('Authorization required');
    // The challenge is what makes MCP clients (the Inspector, the SDK) start their OAuth flow.
    expect(response.headers['www-authenticate']).toBe('Bearer realm="mcp"');
    const event = await gateway.sink.waitFor((candidate) => candidate.status === 401);
    expect(event.decision).toEqual({
      phase: 'on_http_request',
      rule_index: 1,
      rule_name: 'Require an Authorization header',
      action: 'deny',
    });
    expect(event.client_ip).toBe(allowedIp);
    expect(event.client_ip_categories).toEqual(['com.anthropic.api']);
  });

  it('answers 403 for a client IP outside com.anthropic.api, even with a token', async () => {
    const response = await httpRequest({
      port: gateway.port,
      host: 'mcp.example.com',
      path: '/mcp',
      method: 'POST',
      headers: { 'x-forwarded-for': outsideIp, authorization: 'Bearer good' },
    });
    expect(response.status).toBe(403);
    const event = await gateway.sink.waitFor((candidate) => candidate.status === 403);
    expect(event.decision?.rule_name).toBe("Only Anthropic's MCP clients");
    expect(event.client_ip).toBe(outsideIp);
    expect(event.client_ip_categories).toEqual([]);
  });

  it('lets a real MCP client list tools and call a tool whose progress streams before the result', async () => {
    const session = await connectMcpClient('mcp.example.com', gateway.port, { authorization: 'Bearer mcp-client' });
    try {
      const tools = await session.client.listTools();
      expect(tools.tools.map((tool) => tool.name).sort()).toEqual(['add', 'countdown']);

      const sum = await session.client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
      expect(sum.content).toEqual([{ type: 'text', text: '42' }]);

      const progressAt: number[] = [];
      const result = await session.client.callTool({ name: 'countdown', arguments: { from: 3 } }, undefined, {
        onprogress: () => progressAt.push(Date.now()),
      });
      expect(result.content).toEqual([{ type: 'text', text: 'liftoff' }]);
      expect(progressAt).toHaveLength(3);
      // Streaming, not buffering: the first progress notification reached the client before the server even sent the result.
      expect(progressAt[0]!).toBeLessThan(mcp.resultSentAt.at(-1)!);
    } finally {
      await session.close();
    }
    // The MCP server saw the forwarded request with the client's Authorization and the gateway's forwarding headers.
    const forwarded = mcp.seenHeaders.at(-1)!;
    expect(forwarded.authorization).toBe('Bearer mcp-client');
    expect(forwarded['x-forwarded-for']).toBe('127.0.0.1');
    const toolCall = await gateway.sink.waitFor((candidate) => candidate.mcp?.tool === 'countdown');
    expect(toolCall).toMatchObject({
      status: 200,
      forwarded_to: 'https://mcp.example.internal',
      endpoint_id: cloudId,
      policy_version: 3,
      mcp: { method: 'tools/call', tool: 'countdown' },
    });
  });

  it(`answers 429 with retry-after at request ${capacity} + 1 for one token`, async () => {
    const token = `Bearer ${uniqueId('limited')}`;
    const statuses: number[] = [];
    for (let index = 0; index < capacity; index++) {
      const response = await httpRequest({
        port: gateway.port,
        host: 'mcp.example.com',
        path: '/mcp',
        method: 'GET',
        headers: { authorization: token, 'x-forwarded-for': allowedIp },
      });
      statuses.push(response.status);
    }
    // The MCP server answers GET with 405: what matters is that the gateway let each one through.
    expect(statuses.every((status) => status === 405)).toBe(true);
    // A trusted proxy's X-Forwarded-For chain is extended with the peer, not replaced.
    expect(mcp.seenHeaders.at(-1)?.['x-forwarded-for']).toBe(`${allowedIp}, 127.0.0.1`);
    const limited = await httpRequest({
      port: gateway.port,
      host: 'mcp.example.com',
      path: '/mcp',
      method: 'GET',
      headers: { authorization: token, 'x-forwarded-for': allowedIp },
    });
    expect(limited.status).toBe(429);
    expect(limited.headers['gatehouse-error-code']).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Another token has its own bucket.
    const other = await httpRequest({
      port: gateway.port,
      host: 'mcp.example.com',
      path: '/mcp',
      method: 'GET',
      headers: { authorization: 'Bearer someone-else', 'x-forwarded-for': allowedIp },
    });
    expect(other.status).toBe(405);
    const event = await gateway.sink.waitFor((candidate) => candidate.status === 429);
    expect(event).toMatchObject({
      error_code: 'RATE_LIMITED',
      decision: { action: 'rate-limit', rule_name: '100 requests per minute per token' },
    });
    expect((await gateway.dataplane.metrics.rateLimitFallbacks.get()).values).toEqual([]);
    // The audit trail tells the two callers apart by a fingerprint of the bucket key, never by the token itself.
    expect(event.caller).toMatchObject({ subject: null, basic_auth_user: null });
    const limitedFingerprint = event.caller?.credential_fingerprint;
    expect(limitedFingerprint).toMatch(/^sha256:[0-9a-f]{16}$/);
    const serialized = JSON.stringify(gateway.sink.events);
    expect(serialized).not.toContain(token.slice('Bearer '.length));
    const sameToken = gateway.sink.events.filter(
      (candidate) => candidate.status === 405 && candidate.caller?.credential_fingerprint === limitedFingerprint,
    );
    expect(sameToken.length).toBeGreaterThan(0);
    const otherEvent = await gateway.sink.waitFor(
      (candidate) =>
        candidate.status === 405 &&
        candidate.caller?.credential_fingerprint !== undefined &&
        candidate.caller.credential_fingerprint !== limitedFingerprint,
    );
    expect(otherEvent.caller?.credential_fingerprint).toMatch(/^sha256:[0-9a-f]{16}$/);
  });

  it('emits every request event in the request-log contract shape, with the full decision trace', () => {
    expect(gateway.sink.events.length).toBeGreaterThan(capacity);
    for (const event of gateway.sink.events) expect(requestEventSchema.safeParse(event).error).toBeUndefined();
    const denied = gateway.sink.events.find((event) => event.status === 401)!;
    expect(denied.trace).toEqual([
      {
        endpoint_id: cloudId,
        phase: 'on_http_request',
        rule_index: 0,
        rule_name: "Only Anthropic's MCP clients",
        matched: false,
        actions: [],
      },
      {
        endpoint_id: cloudId,
        phase: 'on_http_request',
        rule_index: 1,
        rule_name: 'Require an Authorization header',
        matched: true,
        actions: [{ type: 'deny', result: 'responded', detail: 'denied with 401' }],
      },
    ]);
  });
});
