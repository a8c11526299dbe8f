import { CONFIG_CHANNEL, requestEventSchema, requestLogBatchSchema, requestLogsQueueName } from '@gatehouse/contracts';
import { Queue } from 'bullmq';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { eventually, walkthroughWithCapacity } from './helpers/dataplane-harness.js';
import {
  runDataplaneExpectingFailure,
  startDataplaneProcess,
  type DataplaneProcess,
} from './helpers/dataplane-process.js';
import { httpRequest } from './helpers/http.js';
import { RedisChild } from './helpers/redis-process.js';
import { startEchoUpstream, type RunningServer } from './helpers/upstreams.js';

/**
 * The distributed shape: data planes as separate processes started by `main.ts` from the environment, sharing one
 * Redis (a redis-server child, so the contract's `gatehouse:config` channel is private to this test).
 */
describe('data plane processes', () => {
  const capacity = 10;
  let redis: RedisChild;
  let config: TestConfigServer;
  let echo: RunningServer;
  let dataDirectories: string[] = [];
  const processes: DataplaneProcess[] = [];

  const environment = (dataDirectory: string) => ({
    GATEHOUSE_API_URL: config.url,
    GATEHOUSE_DATAPLANE_TOKEN: config.token,
    REDIS_URL: redis.url,
    GATEHOUSE_DATA_DIR: dataDirectory,
    GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/32',
    // "Exactly capacity" holds only while every check reaches Redis: a busy CI machine must not push checks past
    // the fallback timeout (a fallback is asserted absent below).
    DATAPLANE_RATE_LIMIT_TIMEOUT_MS: '5000',
  });

  beforeAll(async () => {
    redis = await RedisChild.start();
    echo = await startEchoUpstream();
    config = new TestConfigServer(redis.url, CONFIG_CHANNEL);
    await config.start();
    await config.upsertCategory({ name: 'com.anthropic.api', cidrs: ['160.79.104.0/21'] });
    await config.upsertEndpoint({ id: 'ep_mcp_internal', url: 'https://mcp.example.internal', upstream_url: echo.url });
    await config.upsertEndpoint({
      id: 'ep_mcp',
      url: 'https://mcp.example.com',
      traffic_policy: walkthroughWithCapacity(capacity),
    });
    dataDirectories = [
      await mkdtemp(join(tmpdir(), 'gatehouse-dp1-')),
      await mkdtemp(join(tmpdir(), 'gatehouse-dp2-')),
    ];
    processes.push(
      ...(await Promise.all(dataDirectories.map((directory) => startDataplaneProcess(environment(directory))))),
    );
  });

  afterAll(async () => {
    await Promise.all(processes.map((running) => running.stop()));
    await config?.close();
    await echo?.close();
    await redis?.kill();
    await Promise.all(dataDirectories.map((directory) => rm(directory, { recursive: true, force: true })));
  });

  it(`two processes sharing one Redis admit exactly ${capacity} requests of one bucket between them`, async () => {
    const headers = { authorization: 'Bearer shared-bucket', 'x-forwarded-for': '160.79.104.7' };
    const statuses = await Promise.all(
      Array.from({ length: capacity * 3 }, (_, index) =>
        httpRequest({ port: processes[index % 2]!.port, host: 'mcp.example.com', headers }).then(
          (response) => response.status,
        ),
      ),
    );
    expect(statuses.filter((status) => status === 200)).toHaveLength(capacity);
    expect(statuses.filter((status) => status === 429)).toHaveLength(capacity * 2);
    // Both processes took part.
    for (const running of processes) {
      const metrics = (await httpRequest({ port: running.adminPort, path: '/metrics' })).body;
      expect(metrics).toMatch(
        /gatehouse_dataplane_requests_total\{endpoint="ep_mcp",status="429",decision="rate-limit"\} \d+/,
      );
      expect(metrics).toContain('gatehouse_dataplane_config_revision 3');
      expect(metrics).not.toMatch(/gatehouse_dataplane_rate_limit_fallbacks_total\{/);
      expect(metrics).toContain('gatehouse_dataplane_process_resident_memory_bytes');
    }
  });

  it('a policy change published on Redis reaches both processes', async () => {
    const change = await config.upsertEndpoint({
      id: 'ep_open',
      url: 'https://open.example.com',
      traffic_policy:
        'on_http_request:\n  - actions: [{ type: custom-response, config: { status_code: 200, body: open } }]\n',
    });
    for (const running of processes) {
      await eventually(
        async () => (await httpRequest({ port: running.port, host: 'open.example.com' })).body === 'open',
        5_000,
        'the change',
      );
      const status = JSON.parse((await httpRequest({ port: running.adminPort, path: '/status' })).body) as {
        applied_revision: number;
      };
      expect(status.applied_revision).toBe(change.revision);
    }
  });

  it('a process restarted while the API is down serves from its last-known-good snapshot', async () => {
    const [first] = processes.splice(0, 1);
    expect(await first!.stop()).toBe(0);
    // With REDIS_URL set, main.ts sends request events to the request-log queue (no worker consumes it here); the
    // stopped process delivered what it had buffered.
    const queue = new Queue(requestLogsQueueName, { connection: { url: redis.url } });
    queue.on('error', () => undefined);
    try {
      const queued = async () => {
        const jobs = await queue.getJobs(['wait', 'waiting', 'prioritized'], 0, -1, true);
        return jobs
          .flatMap((job) =>
            requestLogBatchSchema.parse(job.data).events.map((event) => requestEventSchema.parse(event)),
          )
          .filter((event) => event.endpoint_id === 'ep_mcp');
      };
      // Both processes' events: the stopped one flushed on SIGTERM, the running one sends within 250 ms.
      const mcp = await eventually(
        async () => {
          const events = await queued();
          return events.length >= capacity * 3 ? events : undefined;
        },
        5_000,
        'the request events of both processes in the queue',
      );
      expect(mcp.filter((event) => event.status === 429).length).toBe(capacity * 2);
    } finally {
      await queue.close();
    }
    await config.stopHttp();
    const restarted = await startDataplaneProcess(environment(dataDirectories[0]!));
    processes.push(restarted);
    expect((await httpRequest({ port: restarted.port, host: 'open.example.com' })).body).toBe('open');
    expect(
      (
        await httpRequest({
          port: restarted.port,
          host: 'mcp.example.com',
          headers: { 'x-forwarded-for': '160.79.104.7' },
        })
      ).status,
    ).toBe(401);
    expect(restarted.output()).toContain('loaded the last-known-good config');
    await config.start();
  });

  it('refuses to boot on a bad environment, listing every problem', async () => {
    const { code, output } = await runDataplaneExpectingFailure({
      DATAPLANE_PORT: 'eighty',
      GATEHOUSE_TRUSTED_PROXIES: '10.0.0.0/8,not-a-cidr',
      DATAPLANE_TLS_CERT: '/tmp/cert.pem',
    });
    // 2 as every Gatehouse entry point (@gatehouse/runtime): a configuration error, not a crash (1).
    expect(code).toBe(2);
    expect(output).toContain('DATAPLANE_PORT');
    expect(output).toContain('GATEHOUSE_DATAPLANE_TOKEN');
    expect(output).toContain('not-a-cidr');
    expect(output).toContain('DATAPLANE_TLS_KEY');
  });
});
