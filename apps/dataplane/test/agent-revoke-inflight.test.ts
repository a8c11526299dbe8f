import { afterAll, beforeAll, expect, it } from 'vitest';
import { HttpAgentSessionApi } from '../src/config/agent-session-api.js';
import { startAgent, type AgentProcess } from './helpers/agent-process.js';
import { TestConfigServer } from './helpers/config-server.js';
import { eventually, startDataplane, uniqueId, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { assertRedisUp, sharedRedisUrl } from './helpers/redis-process.js';
import { listen, type RunningServer } from './helpers/upstreams.js';

/**
 * Issue 13's revocation with traffic on the tunnel: requests in flight when the session is torn down must each get an
 * answer (the answer or 502), never wait for the data plane's idle timeout. Requests whose stream the teardown cut
 * before the agent answered used to end with no response head, which was taken for an empty response and left the
 * client hanging (the e2e walkthrough's distributed revoke step hung on one).
 */
let config: TestConfigServer;
let running: RunningDataplane;
let sessionApi: HttpAgentSessionApi;
const agents: AgentProcess[] = [];
const servers: RunningServer[] = [];

beforeAll(async () => {
  await assertRedisUp(sharedRedisUrl);
  config = new TestConfigServer(sharedRedisUrl);
  await config.start();
  sessionApi = new HttpAgentSessionApi(config.url, config.token, 2_000);
  running = await startDataplane(config, { redisUrl: sharedRedisUrl, agentSessionApi: sessionApi });
});

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.kill('SIGKILL')));
  await Promise.all(servers.map((server) => server.close()));
  await running?.stop();
  await sessionApi?.close();
  await config?.close();
});

it('revoking the authtoken while requests are in flight: every request is answered promptly', async () => {
  const secret = 'gh_revoke_inflight_0123456789';
  config.authtokens.set(secret, { revoked: false });
  const upstream = await listen((req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.end('{"jsonrpc":"2.0","id":1,"result":{}}'), 2));
  });
  servers.push(upstream);
  const label = uniqueId('rev').replace(/_/g, '-');
  const url = `https://${label}.example.internal`;
  const agent = startAgent([
    'http',
    String(upstream.port),
    '--url',
    url,
    '--authtoken',
    secret,
    '--connect-url',
    `http://127.0.0.1:${running.port}`,
  ]);
  agents.push(agent);
  await agent.waitFor((line) => line.msg === 'endpoint online', 10_000, 'the endpoint to come online');
  const host = `${label}-gw.example.com`;
  await config.upsertEndpoint({
    id: uniqueId('ep_cloud'),
    url: `http://${host}`,
    traffic_policy: `on_http_request:\n  - actions:\n      - type: forward-internal\n        config: { url: "${url}" }\n`,
  });
  await eventually(() => running.dataplane.store.current.exactRoutes.has(host), 10_000, `${host} in the config`);
  let stop = false;
  const slow: string[] = [];
  const statuses = new Map<number, number>();
  const loop = async () => {
    while (!stop) {
      const startedAt = Date.now();
      const answer = await httpRequest({
        port: running.port,
        host,
        method: 'POST',
        path: '/mcp',
        headers: { 'content-type': 'application/json' },
        body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"}}',
        timeoutMs: 20_000,
      }).catch((error: Error) => ({ status: -1, body: error.message }));
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (Date.now() - startedAt > 5_000) slow.push(`${answer.status} after ${Date.now() - startedAt} ms`);
    }
  };
  const loops = Array.from({ length: 10 }, loop);
  await eventually(() => (statuses.get(200) ?? 0) > 0, 10_000, 'a first answer through the tunnel');
  await config.revokeAuthtoken(secret);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  stop = true;
  await Promise.all(loops);
  console.log('statuses', Object.fromEntries(statuses));
  expect(slow).toEqual([]);
  expect(statuses.get(-1) ?? 0).toBe(0);
}, 60_000);
