import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Schemas } from '@gatehouse/api-client';
import { pidsConnectedTo } from '@gatehouse/runtime/testing';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newRunId, startDistributedShape, startEmbeddedShape, type Shape, type ShapeOptions } from './shapes.js';
import { answerOf, ApiClient } from './support/api.js';
import { GatewayClient, type SentRequest } from './support/gateway.js';
import { startExampleMcpServer, type ExampleMcpServer } from './support/mcp-server.js';
import {
  baseEnvironment,
  repositoryRoot,
  startProcess,
  stopAllProcesses,
  waitFor,
  type ManagedProcess,
} from './support/processes.js';

/**
 * The README's walkthrough with the agent (DESIGN.md §1 step 1, issue 13), once per shape: the MCP server listens on
 * loopback only, `gatehouse-agent` beside it dials out with a six-line config and declares
 * https://mcp.example.internal, the cloud endpoint's policy forwards to it, and the real MCP SDK client lists and calls
 * tools through every data plane. Then what an operator relies on: every connection the MCP server accepted is the
 * agent's (never a data plane's), killing the agent takes the endpoint offline and restarting it brings traffic back
 * with no API call, and revoking the authtoken closes the session within 5 s.
 */

const agentMain = join(repositoryRoot, 'apps/agent/dist/main.js');
const walkthroughPolicy = readFileSync(
  join(repositoryRoot, 'packages/traffic-policy/test/fixtures/walkthrough.yaml'),
  'utf8',
);
const shapeOptions: ShapeOptions = { trustedProxies: ['127.0.0.1/32', '::1/128'] };
/** Inside com.anthropic.api (160.79.104.0/21), which the walkthrough policy admits. */
const allowedIp = '160.79.104.10';

type AgentEndpoint = Schemas['Endpoint'];

function describeAgentWalkthrough(title: string, startShape: (options: ShapeOptions) => Promise<Shape>): void {
  describe(title, () => {
    const runId = newRunId();
    const token = `Bearer e2e-agent-${runId}`;
    const withToken = { authorization: token, 'x-forwarded-for': allowedIp };
    // Polls use a token each: the walkthrough policy rate-limits 100 requests a minute per Authorization value.
    let polls = 0;
    const freshToken = () => ({ authorization: `${token}-poll-${++polls}`, 'x-forwarded-for': allowedIp });
    const sent: SentRequest[] = [];
    const mcpClients: Client[] = [];
    let mcpServer: ExampleMcpServer;
    let shape: Shape;
    let api: ApiClient;
    let gateways: GatewayClient[] = [];
    let configDirectory = '';
    let configPath = '';
    let authtoken: { id: string; secret: string };
    let agent: ManagedProcess | undefined;

    const startAgent = (): ManagedProcess =>
      startProcess('gatehouse-agent', [agentMain, 'start', '--all', '--config', configPath], {
        // Not a terminal: the agent logs one JSON object per line.
        env: { ...baseEnvironment(), GATEHOUSE_AUTHTOKEN: authtoken.secret },
      });

    const agentEndpoint = async (): Promise<AgentEndpoint | undefined> => {
      const listed = await answerOf(
        api.client.GET('/api/endpoints', { params: { query: { type: 'agent', url: 'https://mcp.example.internal' } } }),
      );
      expect(listed.status).toBe(200);
      return listed.body.endpoints[0];
    };

    /** Resolves once the agent endpoint has an online member held by every data plane of the shape. */
    const waitForAgentOnEveryDataplane = () =>
      waitFor(
        async () => {
          const endpoint = await agentEndpoint();
          const member = endpoint?.agent?.members.find((candidate) => candidate.online);
          return member !== undefined && member.dataplanes.length >= shape.dataplanes.length ? endpoint : undefined;
        },
        {
          timeoutMs: 30_000,
          what: `the agent endpoint held by ${shape.dataplanes.length} data plane(s)`,
          context: () => `${agent?.output() ?? ''}\n${shape.output()}`,
        },
      );

    beforeAll(async () => {
      mcpServer = await startExampleMcpServer();
      shape = await startShape(shapeOptions);
      api = new ApiClient(shape.apiUrl);
      gateways = shape.dataplanes.map(
        (dataplane) => new GatewayClient(dataplane.name, dataplane.trafficPort, 'mcp.example.com', sent),
      );
      configDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-agent-e2e-'));
      configPath = join(configDirectory, 'agent.yml');
    });

    afterEach((context) => {
      if (context.task.result?.state === 'fail') console.error(`${agent?.output() ?? ''}\n${shape?.output() ?? ''}`);
    });

    afterAll(async () => {
      await Promise.allSettled(mcpClients.map((client) => client.close()));
      await Promise.allSettled(gateways.map((gateway) => gateway.close()));
      try {
        await shape?.stop();
      } finally {
        await stopAllProcesses();
        if (configDirectory !== '') await rm(configDirectory, { recursive: true, force: true });
      }
    });

    it('an editor mints an authtoken and the agent starts from a six-line config', async () => {
      expect((await api.login(shape.admin.email, shape.admin.password)).status).toBe(200);
      const created = await answerOf(
        api.client.POST('/api/authtokens', {
          body: { description: `laptop MCP server ${runId}`, url_patterns: ['*.example.internal'] },
        }),
      );
      expect(created.status).toBe(201);
      authtoken = { id: created.body.id, secret: created.body.secret };
      expect(authtoken.secret).toMatch(/^gat_/);

      const [first] = shape.dataplanes;
      await writeFile(
        configPath,
        [
          'version: 3',
          'agent:',
          '  authtoken: ${GATEHOUSE_AUTHTOKEN}',
          `  connect_url: http://127.0.0.1:${first!.trafficPort}`,
          'endpoints:',
          `  - { name: mcp, url: https://mcp.example.internal, upstream: { url: ${new URL(mcpServer.origin).port} } }`,
          '',
        ].join('\n'),
      );
      agent = startAgent();
      const endpoint = await waitForAgentOnEveryDataplane();
      expect(endpoint).toMatchObject({ type: 'agent', url: 'https://mcp.example.internal' });
      const [member] = endpoint.agent?.members ?? [];
      expect(member?.online).toBe(true);
      expect(member?.upstream).toContain(`:${new URL(mcpServer.origin).port}`);
    });

    it('agent endpoints are read-only through the API: the agent owns them', async () => {
      const endpoint = (await agentEndpoint())!;
      await expect(
        answerOf(
          api.client.PATCH('/api/endpoints/{id}', {
            params: { path: { id: endpoint.id } },
            body: { description: 'changed by hand' },
          }),
        ),
      ).rejects.toMatchObject({ status: 409, code: 'ENDPOINT_OWNED_BY_AGENT' });
      await expect(
        answerOf(api.client.DELETE('/api/endpoints/{id}', { params: { path: { id: endpoint.id } } })),
      ).rejects.toMatchObject({ status: 409, code: 'ENDPOINT_OWNED_BY_AGENT' });
    });

    it('the cloud endpoint with the walkthrough policy reaches the agent endpoint through every data plane', async () => {
      const created = await api.createEndpoint({ url: 'https://mcp.example.com', traffic_policy: walkthroughPolicy });
      expect(created.status).toBe(201);
      for (const gateway of gateways) {
        // Each data plane applies the change on its own schedule: wait until this one answers with the policy.
        // An allowed address without a token: 401 once the policy is in force (404 while the host is unknown).
        const probe = { 'x-forwarded-for': allowedIp };
        await waitFor(async () => (await gateway.send({ check: 'ready', headers: probe })).status === 401, {
          timeoutMs: 15_000,
          what: `${gateway.name} to enforce the walkthrough policy`,
        });
        const client = await gateway.connectMcp('agent-mcp-client', withToken);
        mcpClients.push(client);
        const tools = await client.listTools();
        expect(tools.tools.map((tool) => tool.name)).toContain('add');
        const sum = await client.callTool({ name: 'add', arguments: { a: 20, b: 22 } });
        expect(sum.content).toEqual([{ type: 'text', text: '42' }]);
      }
    });

    it('every connection the MCP server accepts comes from the agent process, never from a data plane', async () => {
      const mcpPort = Number(new URL(mcpServer.origin).port);
      const agentPid = agent!.child.pid!;
      const seen = new Set<number>();
      // Sample while calls are in flight: keep-alive sockets may be gone by the time a call has returned.
      for (let round = 0; round < 5; round++) {
        const calls = mcpClients.map((client) => client.callTool({ name: 'add', arguments: { a: round, b: 1 } }));
        for (const pid of pidsConnectedTo(mcpPort)) seen.add(pid);
        await Promise.all(calls);
        for (const pid of pidsConnectedTo(mcpPort)) seen.add(pid);
      }
      expect(seen.size, 'some connection to the MCP server was observed').toBeGreaterThan(0);
      expect([...seen]).toEqual([agentPid]);
    });

    it('killing the agent takes the endpoint offline within 30 s; restarting it brings traffic back with no API call', async () => {
      await agent!.kill();
      const killedAt = Date.now();
      for (const gateway of gateways) {
        const offline = await waitFor(
          async () => {
            const answer = await gateway.callToolRaw('agent-offline', freshToken(), 7);
            // A call already sent over the tunnel when the agent died fails as the upstream failing
            // (UPSTREAM_UNAVAILABLE: the dying agent cancelled its stream); offline is what follows once the data plane
            // has seen the session end.
            return answer.status === 502 && answer.headers['gatehouse-error-code'] !== 'UPSTREAM_UNAVAILABLE'
              ? answer
              : undefined;
          },
          { timeoutMs: 30_000, what: `${gateway.name} to answer 502 once the agent is gone` },
        );
        expect(offline.headers['gatehouse-error-code']).toBe('ENDPOINT_OFFLINE');
      }
      expect(Date.now() - killedAt).toBeLessThanOrEqual(30_000);

      agent = startAgent();
      await waitForAgentOnEveryDataplane();
      for (const gateway of gateways) {
        const answer = await waitFor(
          async () => {
            const call = await gateway.callToolRaw('agent-back', freshToken(), 8);
            return call.status === 200 ? call : undefined;
          },
          { timeoutMs: 30_000, what: `${gateway.name} to forward again after the agent restarted` },
        );
        expect(answer.body).toContain('"result"');
      }
    });

    it('session start and end are audit events', async () => {
      const events = await answerOf(api.client.GET('/api/audit-events', { params: { query: { limit: 200 } } }));
      expect(events.status).toBe(200);
      const kinds = events.body.audit_events.map((event) => event.kind);
      expect(kinds).toContain('agent_session.started');
      expect(kinds).toContain('agent_session.ended');
    });

    it('revoking the authtoken closes the session within 5 s and the agent is refused from then on', async () => {
      const revoked = await answerOf(
        api.client.DELETE('/api/authtokens/{id}', { params: { path: { id: authtoken.id } } }),
      );
      expect(revoked.status).toBeLessThan(300);
      const revokedAt = Date.now();
      for (const gateway of gateways) {
        await waitFor(
          async () => {
            const answer = await gateway.callToolRaw('agent-revoked', freshToken(), 9);
            return answer.status === 502 || undefined;
          },
          { timeoutMs: 5_000, what: `${gateway.name} to stop forwarding to the revoked session` },
        );
      }
      expect(Date.now() - revokedAt).toBeLessThanOrEqual(5_000);
      await agent!.waitForLine(/AUTHTOKEN_REVOKED/, 30_000);
    });
  });
}

describeAgentWalkthrough('agent walkthrough: distributed shape (API, worker, two data planes)', startDistributedShape);
describeAgentWalkthrough('agent walkthrough: embedded shape (one process)', startEmbeddedShape);
