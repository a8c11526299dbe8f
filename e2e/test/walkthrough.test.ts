import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigSnapshotSchema, DATAPLANE_ROUTES } from '@gatehouse/contracts';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  startDistributedShape,
  startEmbeddedShape,
  newRunId,
  type RestartableShape,
  type Shape,
  type ShapeOptions,
} from './shapes.js';
import type { Schemas } from '@gatehouse/api-client';
import { answerOf, ApiClient } from './support/api.js';
import { GatewayClient, type SentRequest } from './support/gateway.js';
import { startExampleMcpServer, type ExampleMcpServer } from './support/mcp-server.js';
import { repositoryRoot, stopAllProcesses, waitFor } from './support/processes.js';

/**
 * The README's MCP walkthrough (DESIGN.md §1) end to end, once per shape: through the REST API as an operator would
 * (bootstrap admin → API key → internal endpoint → cloud endpoint → walkthrough policy), then through the data planes'
 * traffic ports as MCP clients would, with the real `@modelcontextprotocol/sdk` client and the example MCP server
 * behind https://mcp.example.internal, and finally in GET /api/request-logs.
 *
 * Client IPs: the data planes trust loopback as a proxy (GATEHOUSE_TRUSTED_PROXIES), so X-Forwarded-For places a
 * request inside the published com.anthropic.api range (allowed) or outside it (403), as a load balancer would.
 */

// The policy the README links to, used as is: if it changes, this suite tests the new one.
const walkthroughPolicy = readFileSync(
  join(repositoryRoot, 'packages/traffic-policy/test/fixtures/walkthrough.yaml'),
  'utf8',
);

interface PolicyRule {
  name: string;
  expressions?: string[];
  actions: { type: string; config?: Record<string, unknown> }[];
}

const walkthroughRules = (parse(walkthroughPolicy) as { on_http_request: PolicyRule[] }).on_http_request;
const [ipRule, authRule, rateRule, forwardRule] = walkthroughRules as [PolicyRule, PolicyRule, PolicyRule, PolicyRule];

/** An address inside the first published IPv4 range of the built-in com.anthropic.api category. */
function addressInAnthropicRange(): string {
  const builtins = JSON.parse(readFileSync(join(repositoryRoot, 'prisma/builtin-ip-categories.json'), 'utf8')) as {
    name: string;
    cidrs: string[];
  }[];
  const cidr = builtins
    .find((category) => category.name === 'com.anthropic.api')
    ?.cidrs.find((entry) => !entry.includes(':'));
  const [network = '', prefix = '32'] = cidr?.split('/') ?? [];
  // +10 stays inside any range of /24 or wider.
  if (cidr === undefined || Number(prefix) > 24)
    throw new Error(`prisma/builtin-ip-categories.json: no IPv4 range of /24 or wider for com.anthropic.api`);
  const octets = network.split('.').map(Number);
  return [octets[0], octets[1], octets[2], (octets[3] ?? 0) + 10].join('.');
}

const shapeOptions: ShapeOptions = { trustedProxies: ['127.0.0.1/32', '::1/128'] };
const outsideIp = '203.0.113.9'; // TEST-NET-3 (RFC 5737): never anyone's real address, never in com.anthropic.api
const capacity = 100;

function checkOf(query: string): string {
  return new URLSearchParams(query).get('check') ?? '';
}

interface WalkthroughState {
  shape: Shape;
  api: ApiClient;
  gateways: GatewayClient[];
  sent: SentRequest[];
  cloudEndpointId: string;
  internalEndpointId: string;
  allowedIp: string;
  token: string;
}

/** Registers the walkthrough for one shape; `more` adds shape-specific tests that run after it on the same state. */
function describeWalkthrough<S extends Shape>(
  title: string,
  startShape: (options: ShapeOptions) => Promise<S>,
  more?: (state: () => WalkthroughState & { shape: S }) => void,
): void {
  describe(title, () => {
    const runId = newRunId();
    const token = `Bearer e2e-${runId}`;
    const allowedIp = addressInAnthropicRange();
    const sent: SentRequest[] = [];
    const mcpClients: Client[] = [];
    let mcpServer: ExampleMcpServer | undefined;
    let shape: S | undefined;
    let api: ApiClient;
    let gateways: GatewayClient[] = [];
    let cloudEndpointId = '';
    let internalEndpointId = '';
    const withToken = { authorization: token, 'x-forwarded-for': allowedIp };
    const state = (): WalkthroughState & { shape: S } => ({
      shape: shape!,
      api,
      gateways,
      sent,
      cloudEndpointId,
      internalEndpointId,
      allowedIp,
      token,
    });

    beforeAll(async () => {
      mcpServer = await startExampleMcpServer();
      shape = await startShape(shapeOptions);
      api = new ApiClient(shape.apiUrl);
      gateways = shape.dataplanes.map(
        (dataplane) => new GatewayClient(dataplane.name, dataplane.trafficPort, 'mcp.example.com', sent),
      );
    });

    afterEach((context) => {
      // The processes' own logs are what explains a failure here; print them next to it.
      if (context.task.result?.state === 'fail' && shape !== undefined) console.error(shape.output());
    });

    afterAll(async () => {
      await Promise.allSettled(mcpClients.map((client) => client.close()));
      await Promise.allSettled(gateways.map((gateway) => gateway.close()));
      try {
        await shape?.stop();
      } finally {
        // Whatever failed above, no process of this run outlives it.
        await stopAllProcesses();
      }
    });

    it('uses the policy DESIGN.md §1 step 3 describes (the fixture the README links to)', () => {
      expect(walkthroughRules).toHaveLength(4);
      expect(ipRule.expressions).toEqual(["!('com.anthropic.api' in conn.client_ip.categories)"]);
      expect(ipRule.actions).toEqual([{ type: 'deny', config: { status_code: 403 } }]);
      expect(authRule.actions).toEqual([
        {
          type: 'deny',
          config: {
            status_code: 401,
            body: 'Authorization required',
            headers: { 'WWW-Authenticate': 'Bearer realm="mcp"' },
          },
        },
      ]);
      expect(rateRule.actions).toMatchObject([
        { type: 'rate-limit', config: { algorithm: 'sliding_window', capacity, rate: '60s' } },
      ]);
      expect(forwardRule.actions).toEqual([
        { type: 'forward-internal', config: { url: 'https://mcp.example.internal' } },
      ]);
    });

    it('signs in as the bootstrap admin and mints an API key for the rest of the walkthrough', async () => {
      const login = await api.login(shape!.admin.email, shape!.admin.password);
      expect(login.status).toBe(200);
      expect(login.body.user).toMatchObject({ email: shape!.admin.email, role: 'admin' });
      expect(api.hasSession).toBe(true);

      const key = await answerOf(
        api.client.POST('/api/api-keys', { body: { description: `e2e walkthrough ${runId}`, role: 'editor' } }),
      );
      expect(key.status).toBe(201);
      api.useApiKey(key.body.secret);
      const me = await answerOf(api.client.GET('/api/auth/me'));
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ type: 'api_key', role: 'editor' });
    });

    it('1. registers the internal endpoint https://mcp.example.internal in front of the MCP server', async () => {
      const created = await api.createEndpoint({
        url: 'https://mcp.example.internal',
        type: 'internal',
        upstream_url: mcpServer!.origin,
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        url: 'https://mcp.example.internal',
        type: 'internal',
        upstream_url: mcpServer!.origin,
      });
      internalEndpointId = created.body.id;
    });

    it('2–3. creates the cloud endpoint https://mcp.example.com, then replaces its policy with the walkthrough policy', async () => {
      const created = await api.createEndpoint({
        url: 'https://mcp.example.com',
        traffic_policy: 'on_http_request:\n  - actions:\n      - type: deny\n        config: { status_code: 403 }\n',
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ url: 'https://mcp.example.com', type: 'cloud', policy_version: 1 });
      cloudEndpointId = created.body.id;

      const version = await answerOf(
        api.client.POST('/api/endpoints/{id}/policy-versions', {
          params: { path: { id: cloudEndpointId } },
          body: { traffic_policy: walkthroughPolicy, message: 'MCP gateway (README walkthrough)' },
        }),
      );
      expect(version.status).toBe(201);
      expect(version.body).toMatchObject({ version: 2, active: true, traffic_policy: walkthroughPolicy });

      const endpoint = await answerOf(
        api.client.GET('/api/endpoints/{id}', { params: { path: { id: cloudEndpointId } } }),
      );
      expect(endpoint.body).toMatchObject({ policy_version: 2, traffic_policy: walkthroughPolicy });
    });

    it('4a. every data plane enforces it: no Authorization → 401 "Authorization required"', async () => {
      for (const gateway of gateways) {
        // Also the propagation check: until the new version reaches this data plane it answers v1's 403.
        const response = await waitFor(
          async () => {
            const answer = await gateway.send({ check: 'no-authorization', headers: { 'x-forwarded-for': allowedIp } });
            return answer.status === 401 ? answer : undefined;
          },
          { timeoutMs: 10_000, what: `${gateway.name} to enforce policy version 2`, context: () => shape!.output() },
        );
        expect(response.body).toBe('Authorization required');
        expect(response.headers['www-authenticate']).toBe('Bearer realm="mcp"');
      }
    });

    it('4b. a client outside com.anthropic.api gets 403, even with a token', async () => {
      for (const gateway of gateways) {
        const forwarded = await gateway.send({
          check: 'outside-ip',
          headers: { authorization: token, 'x-forwarded-for': outsideIp },
        });
        expect(forwarded.status).toBe(403);
        // The README's first curl: straight from this machine (no X-Forwarded-For), the client is 127.0.0.1.
        const direct = await gateway.send({ check: 'direct-from-loopback', headers: { authorization: token } });
        expect(direct.status).toBe(403);
      }
    });

    it('4c. with a token from an allowed IP, the MCP client connects, lists the tools and calls them', async () => {
      for (const gateway of gateways) {
        const client = await gateway.connectMcp('mcp-client', withToken);
        mcpClients.push(client);
        const { tools } = await client.listTools();
        expect(tools.map((tool) => tool.name).sort()).toEqual(['add', 'echo', 'time']);
        const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
        expect(sum.content).toEqual([{ type: 'text', text: '42' }]);
        const echo = await client.callTool({ name: 'echo', arguments: { text: `through ${gateway.name}` } });
        expect(echo.content).toEqual([{ type: 'text', text: `through ${gateway.name}` }]);
      }
    });

    it(`4d. request ${capacity + 1} within the minute gets 429 with retry-after, counted across every data plane`, async () => {
      // Every request so far with this token from the allowed IP passed the first two rules, so the limiter counted it
      // (the MCP client's connect, list and calls included). Nothing may be in flight when counting.
      await waitFor(() => gateways.every((gateway) => gateway.inFlight === 0), {
        timeoutMs: 5_000,
        what: 'requests in flight to finish',
      });
      const counted = () => sent.filter((entry) => entry.authorization === token && entry.forwardedFor === allowedIp);
      for (let call = 0; counted().length < capacity; call++) {
        // Alternating clients alternates data planes: the limit is only reached if they share the counters.
        const client = mcpClients[call % mcpClients.length]!;
        const result = await client.callTool({ name: 'add', arguments: { a: call, b: 1 } });
        expect(result.content).toEqual([{ type: 'text', text: String(call + 1) }]);
      }
      expect(counted()).toHaveLength(capacity);
      expect(counted().filter((entry) => entry.status === 429)).toEqual([]);
      if (gateways.length > 1)
        for (const gateway of gateways) {
          const through = counted().filter((entry) => entry.via === gateway.name).length;
          expect(through, `${gateway.name} alone must stay under the limit`).toBeGreaterThan(0);
          expect(through).toBeLessThan(capacity);
        }
      const firstCountedAt = Math.min(...counted().map((entry) => entry.sentAt));
      expect(Date.now() - firstCountedAt, 'the requests must fit in the 60 s window').toBeLessThan(55_000);

      const limited = await gateways.at(-1)!.callToolRaw(`request-${capacity + 1}`, withToken, capacity + 1);
      expect(limited.status, limited.body).toBe(429);
      expect(limited.headers['gatehouse-error-code']).toBe('RATE_LIMITED');
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);

      // The MCP client sees the refusal as an HTTP error, not as a tool result.
      await expect(mcpClients[0]!.callTool({ name: 'add', arguments: { a: 1, b: 1 } })).rejects.toMatchObject({
        code: 429,
      });
      // The bucket is per Authorization value: another token is not limited.
      const other = await gateways[0]!.callToolRaw(
        'other-token',
        { authorization: `Bearer e2e-other-${runId}`, 'x-forwarded-for': allowedIp },
        1,
      );
      expect(other.status).toBe(200);
    });

    it('5. every one of those requests is in GET /api/request-logs within seconds, with the rule and action that decided it', async () => {
      // A request for a host the data plane did not know yet (404) belongs to no endpoint, so it is not listed here.
      const expected = sent.filter((entry) => entry.status !== 404);
      let rows: Schemas['RequestLogSummary'][] = [];
      await waitFor(
        async () => {
          rows = await api.listRequestLogs(cloudEndpointId);
          return rows.length >= expected.length;
        },
        {
          timeoutMs: 10_000,
          what: `${expected.length} request-log rows for ${cloudEndpointId}`,
          context: () => `${rows.length} rows so far\n${shape!.output()}`,
        },
      );
      // Exactly once each (idempotent ingestion), and the same requests: status, method and tag.
      const describeSent = (entry: SentRequest) => `${entry.status} ${entry.method} ${entry.check}`;
      const describeRow = (row: Schemas['RequestLogSummary']) => `${row.status} ${row.method} ${checkOf(row.query)}`;
      expect(rows.map(describeRow).sort()).toEqual(expected.map(describeSent).sort());
      for (const row of rows) {
        expect(row.decision, JSON.stringify(row)).not.toBeNull();
        expect(row.endpoint_url).toBe('https://mcp.example.com');
      }

      const enforced = rows.filter((row) => row.policy_version === 2);
      const noAuthorization = enforced.filter((row) => checkOf(row.query) === 'no-authorization');
      expect(noAuthorization).toHaveLength(gateways.length);
      for (const row of noAuthorization) {
        expect(row).toMatchObject({
          status: 401,
          client_ip: allowedIp,
          decision: { phase: 'on_http_request', rule_index: 1, rule_name: authRule.name, action: 'deny' },
        });
        expect(row.client_ip_categories).toContain('com.anthropic.api');
      }

      const outside = enforced.filter((row) => checkOf(row.query) === 'outside-ip');
      expect(outside).toHaveLength(gateways.length);
      for (const row of outside)
        expect(row).toMatchObject({
          status: 403,
          client_ip: outsideIp,
          client_ip_categories: [],
          decision: { phase: 'on_http_request', rule_index: 0, rule_name: ipRule.name, action: 'deny' },
        });
      for (const row of enforced.filter((row) => checkOf(row.query) === 'direct-from-loopback')) {
        expect(row).toMatchObject({ status: 403, client_ip: '127.0.0.1', decision: { rule_index: 0, action: 'deny' } });
        expect(row.client_ip_categories).not.toContain('com.anthropic.api');
      }

      // Forwarded tool calls are recognised as MCP (method and tool) in the log.
      const toolCalls = rows.filter((row) => row.mcp?.method === 'tools/call' && row.status === 200);
      const toolCallsSent = expected.filter((entry) => entry.rpcMethod === 'tools/call' && entry.status === 200);
      expect(toolCallsSent.length).toBeGreaterThan(capacity / 2);
      expect(toolCalls).toHaveLength(toolCallsSent.length);
      for (const row of toolCalls)
        expect(row).toMatchObject({
          forwarded_to: 'https://mcp.example.internal',
          decision: { rule_index: 3, rule_name: forwardRule.name, action: 'forward-internal' },
          mcp: { method: 'tools/call' },
        });
      expect(toolCalls.some((row) => row.mcp?.tool === 'add')).toBe(true);
      expect(toolCalls.some((row) => row.mcp?.tool === 'echo')).toBe(true);

      const limited = rows.filter((row) => row.status === 429);
      expect(limited).toHaveLength(2);
      for (const row of limited)
        expect(row).toMatchObject({
          error_code: 'RATE_LIMITED',
          client_ip: allowedIp,
          decision: { rule_index: 2, rule_name: rateRule.name, action: 'rate-limit' },
        });

      // The detail view carries the decision trace: rule 0 did not match, rule 1 did and answered.
      const detail = await answerOf(
        api.client.GET('/api/request-logs/{id}', { params: { path: { id: noAuthorization[0]!.id } } }),
      );
      expect(detail.status).toBe(200);
      expect(
        detail.body.trace.map(({ rule_index, rule_name, matched }) => ({ rule_index, rule_name, matched })),
      ).toEqual([
        { rule_index: 0, rule_name: ipRule.name, matched: false },
        { rule_index: 1, rule_name: authRule.name, matched: true },
      ]);
    });

    more?.(state);
  });
}

describeWalkthrough(
  'the README walkthrough — distributed shape (API, worker, 2 data planes, Postgres, Redis)',
  startDistributedShape,
  (state) => {
    it("both data planes run the API's current snapshot: the walkthrough endpoints at policy version 2", async () => {
      const { shape, cloudEndpointId, internalEndpointId } = state();
      const response = await request(`${shape.apiUrl}${DATAPLANE_ROUTES.config}`, {
        headers: { authorization: `Bearer ${shape.dataplaneToken}` },
      });
      expect(response.statusCode).toBe(200);
      const snapshot = ConfigSnapshotSchema.parse(await response.body.json());
      const cloud = snapshot.endpoints.find((endpoint) => endpoint.id === cloudEndpointId);
      expect(cloud).toMatchObject({ host: 'mcp.example.com', type: 'cloud', policy: { version: 2 } });
      expect(cloud?.policy?.source).toBe(walkthroughPolicy);
      expect(snapshot.endpoints.find((endpoint) => endpoint.id === internalEndpointId)).toMatchObject({
        host: 'mcp.example.internal',
        type: 'internal',
      });
      expect(snapshot.ip_categories.map((category) => category.name)).toContain('com.anthropic.api');
      for (const dataplane of shape.dataplanes) {
        const status = await request(`http://127.0.0.1:${dataplane.adminPort}/status`).then(
          (answer) =>
            answer.body.json() as Promise<{ applied_revision: number; change_feed: string; last_error: unknown }>,
        );
        expect(status, dataplane.name).toMatchObject({
          applied_revision: snapshot.revision,
          change_feed: 'subscribed',
          last_error: null,
        });
      }
    });

    it('each data plane counted the requests it carried in its own /metrics', async () => {
      const { shape, gateways, sent, cloudEndpointId } = state();
      for (const dataplane of shape.dataplanes) {
        const carried = sent.filter((entry) => entry.via === dataplane.name && entry.status !== 404).length;
        expect(gateways.some((gateway) => gateway.name === dataplane.name)).toBe(true);
        expect(carried).toBeGreaterThan(0);
        const metrics = await request(`http://127.0.0.1:${dataplane.adminPort}/metrics`).then((response) =>
          response.body.text(),
        );
        const counted = metrics
          .split('\n')
          .filter(
            (line) =>
              line.startsWith('gatehouse_dataplane_requests_total{') && line.includes(`endpoint="${cloudEndpointId}"`),
          )
          .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
        expect(counted, `${dataplane.name} /metrics`).toBe(carried);
      }
    });
  },
);

describeWalkthrough<RestartableShape>(
  'the README walkthrough — embedded shape (node scripts/start.mjs, one process, no DATABASE_URL / REDIS_URL)',
  startEmbeddedShape,
  (state) => {
    it('keeps endpoints, policy versions, API keys and request logs across a restart', async () => {
      const { shape, api, gateways, cloudEndpointId, internalEndpointId, allowedIp } = state();
      const logsBefore = await api.listRequestLogs(cloudEndpointId);
      const ended = await shape.restart();
      // It drained and exited on its own within the grace period (exit 0), not by the signal or a SIGKILL.
      expect(ended, JSON.stringify(ended)).toMatchObject({ code: 0 });

      // The API key minted before the restart still authenticates: it was stored, not held in memory.
      const endpoints = await answerOf(api.client.GET('/api/endpoints'));
      expect(endpoints.status).toBe(200);
      expect(endpoints.body.endpoints.map((endpoint) => endpoint.id).sort()).toEqual(
        [cloudEndpointId, internalEndpointId].sort(),
      );
      const versions = await answerOf(
        api.client.GET('/api/endpoints/{id}/policy-versions', { params: { path: { id: cloudEndpointId } } }),
      );
      expect(versions.body.versions.map(({ version, active }) => ({ version, active }))).toEqual([
        { version: 2, active: true },
        { version: 1, active: false },
      ]);
      const logsAfter = await api.listRequestLogs(cloudEndpointId);
      expect(logsBefore.length).toBeGreaterThan(capacity);
      expect(logsAfter.map((row) => row.id)).toEqual(expect.arrayContaining(logsBefore.map((row) => row.id)));

      // The data plane inside the new process enforces the stored policy at once (it is ready only once loaded).
      const answer = await gateways[0]!.send({ check: 'after-restart', headers: { 'x-forwarded-for': allowedIp } });
      expect(answer.status).toBe(401);
      expect(answer.body).toBe('Authorization required');

      // And the bootstrap admin can still sign in (it was not re-created, and not lost).
      const login = await new ApiClient(shape.apiUrl).login(shape.admin.email, shape.admin.password);
      expect(login.status).toBe(200);
    });
  },
);
