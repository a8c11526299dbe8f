import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type AgentProcess } from './helpers/agent-process.js';
import { TestConfigServer } from './helpers/config-server.js';
import { eventually } from './helpers/dataplane-harness.js';
import { startDataplaneProcess, type DataplaneProcess } from './helpers/dataplane-process.js';
import { httpRequest } from './helpers/http.js';
import { listen, type RunningServer } from './helpers/upstreams.js';

/**
 * DATAPLANE_WORKERS=2: every worker is a data plane of its own behind one traffic port, and the primary hands each
 * connection to the next worker. The agent keeps one connection per listed worker (it redials a connection that
 * landed on a worker it holds, told by the 101's gatehouse-dataplane-id), so a request reaches the agent whichever
 * worker it lands on.
 */
describe('agent tunnels with DATAPLANE_WORKERS=2', () => {
  const config = new TestConfigServer(undefined);
  const token = 'gh_workers_token_0123456789';
  let dataplane: DataplaneProcess;
  let upstream: RunningServer;
  let agent: AgentProcess | undefined;

  beforeAll(async () => {
    await config.start();
    config.authtokens.set(token, { revoked: false });
    upstream = await listen((_req, res) => res.end('from the laptop'));
    await config.upsertEndpoint({
      id: 'ep_cloud_workers',
      url: 'http://workers.example.com',
      traffic_policy:
        'on_http_request:\n  - actions: [{ type: forward-internal, config: { url: "https://laptop.example.internal" } }]\n',
    });
    dataplane = await startDataplaneProcess(
      {
        GATEHOUSE_API_URL: config.url,
        GATEHOUSE_DATAPLANE_TOKEN: config.token,
        DATAPLANE_ID: 'agent-workers',
        DATAPLANE_WORKERS: '2',
        DATAPLANE_HEARTBEAT_INTERVAL_MS: '300',
      },
      { built: true },
    );
    const url = `http://127.0.0.1:${dataplane.port}`;
    config.agentDataplanes = [
      { id: 'agent-workers/worker-0', url },
      { id: 'agent-workers/worker-1', url },
    ];
  });

  afterAll(async () => {
    await agent?.kill('SIGKILL');
    await dataplane?.stop();
    await upstream?.close();
    await config.close();
  });

  it('the agent holds a connection on each worker, and every request reaches it', async () => {
    agent = startAgent([
      'http',
      String(upstream.port),
      '--url',
      'https://laptop.example.internal',
      '--authtoken',
      token,
      '--connect-url',
      `http://127.0.0.1:${dataplane.port}`,
    ]);
    await agent.waitFor((line) => line.msg === 'endpoint online');
    await eventually(
      () => [...config.agentSessions.values()].some((session) => session.dataplanes.size === 2),
      15_000,
      'the session to be held by both workers',
    );
    // Both workers learn the endpoint from their own heartbeats (no change feed here), so one 200 says only that one
    // worker has it: wait until ten in a row (the primary deals connections to both) are answered.
    await eventually(
      async () => {
        for (let index = 0; index < 10; index++) {
          if ((await httpRequest({ port: dataplane.port, host: 'workers.example.com' })).status !== 200) return false;
        }
        return true;
      },
      15_000,
      'the agent endpoint to be served by both workers',
    );
    const statuses: Record<string, number> = {};
    for (let index = 0; index < 200; index++) {
      const answer = await httpRequest({ port: dataplane.port, host: 'workers.example.com' });
      const key = `${answer.status} ${String(answer.headers['gatehouse-error-code'] ?? answer.body)}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
    expect(statuses).toEqual({ '200 from the laptop': 200 });
    const sessions = [...config.agentSessions.values()];
    expect(sessions).toHaveLength(1);
    expect([...sessions[0]!.dataplanes].sort()).toEqual(['agent-workers/worker-0', 'agent-workers/worker-1']);
  });
});
