import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { eventually } from './helpers/dataplane-harness.js';
import { startDataplaneProcess, type DataplaneProcess } from './helpers/dataplane-process.js';
import { httpRequest } from './helpers/http.js';
import { listen, type RunningServer } from './helpers/upstreams.js';
import { collectFrames, maskedTextFrame, requestUpgrade, startWebSocketEcho } from './helpers/websocket-echo.js';

/**
 * The built data plane with DATAPLANE_WORKERS=2 (node:cluster primary + two workers) against real upstreams, driven by
 * real keep-alive HTTP clients in this process; every failed request and reset is counted.
 */

const forwardTo = (url: string) =>
  `on_http_request:\n  - actions: [{ type: forward-internal, config: { url: "${url}" } }]\n`;

/** Sequential keep-alive requests on `connections` loops until stopped; counts answers and failures exactly. */
function keepAliveLoad(port: number, connections: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const counts = {
    ok: 0,
    failed: 0,
    errors: [] as string[],
    failures: [] as { error: string; reused: boolean; startedAt: number }[],
  };
  let running = true;
  const one = () =>
    new Promise<void>((resolve) => {
      const startedAt = Date.now();
      const req = request(
        { host: '127.0.0.1', port, path: '/', headers: { host: 'fast.example.com' }, agent },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) counts.ok++;
            else {
              counts.failed++;
              counts.errors.push(`status ${res.statusCode}`);
            }
            resolve();
          });
          res.on('error', (error) => {
            counts.failed++;
            counts.errors.push(error.message);
            resolve();
          });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        counts.failed++;
        counts.errors.push(`${error.code ?? error.message}${req.reusedSocket ? ' (reused connection)' : ''}`);
        counts.failures.push({ error: error.code ?? error.message, reused: req.reusedSocket, startedAt });
        resolve();
      });
      req.end();
    });
  const loops = Array.from({ length: connections }, async () => {
    while (running) await one();
  });
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/**
 * An SSE client like the MCP SDK's: on a clean end it reconnects with Last-Event-ID; an error or reset is a failure.
 * The upstream resumes after that id, so the ids it saw must be exactly 1..n.
 */
function resumingEventStream(port: number) {
  const state = { ids: [] as number[], reconnects: 0, failures: [] as string[] };
  let running = true;
  let current: ReturnType<typeof request> | undefined;
  const open = () => {
    const last = state.ids.at(-1);
    current = request(
      {
        host: '127.0.0.1',
        port,
        path: '/events',
        agent: false,
        headers: { host: 'events.example.com', ...(last === undefined ? {} : { 'last-event-id': String(last) }) },
      },
      (res) => {
        if (res.statusCode !== 200) state.failures.push(`status ${res.statusCode}`);
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            const id = /^id: (\d+)$/m.exec(buffer.slice(0, end))?.[1];
            if (id !== undefined) state.ids.push(Number(id));
            buffer = buffer.slice(end + 2);
          }
        });
        res.on('end', () => {
          if (!running) return;
          state.reconnects++;
          open();
        });
        res.on('error', (error) => running && state.failures.push(`stream: ${error.message}`));
      },
    );
    current.on('error', (error: NodeJS.ErrnoException) => running && state.failures.push(error.code ?? error.message));
    current.end();
  };
  open();
  return {
    state,
    stop() {
      running = false;
      current?.destroy();
    },
  };
}

describe('data plane workers (DATAPLANE_WORKERS=2)', () => {
  const config = new TestConfigServer(undefined);
  let fast: RunningServer;
  let events: RunningServer;
  let echo: Awaited<ReturnType<typeof startWebSocketEcho>>;
  let dataDirectory: string;
  const started: DataplaneProcess[] = [];

  const start = async (extraEnv: Record<string, string> = {}) => {
    const running = await startDataplaneProcess(
      {
        ...extraEnv,
        GATEHOUSE_API_URL: config.url,
        GATEHOUSE_DATAPLANE_TOKEN: config.token,
        GATEHOUSE_DATA_DIR: dataDirectory,
        DATAPLANE_WORKERS: '2',
        DATAPLANE_STREAM_GRACE_MS: '500',
        LOG_LEVEL: 'info',
      },
      { built: true },
    );
    started.push(running);
    return running;
  };

  beforeAll(async () => {
    dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-workers-'));
    fast = await listen((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
    events = await listen((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let id = Number(req.headers['last-event-id'] ?? 0);
      const timer = setInterval(() => res.write(`id: ${++id}\ndata: tick ${id}\n\n`), 20);
      res.on('close', () => clearInterval(timer));
    });
    echo = await startWebSocketEcho();
    await config.start();
    await config.upsertEndpoint({ id: 'ep_fast_internal', url: 'https://fast.internal', upstream_url: fast.url });
    await config.upsertEndpoint({ id: 'ep_events_internal', url: 'https://events.internal', upstream_url: events.url });
    await config.upsertEndpoint({ id: 'ep_ws_internal', url: 'https://ws.internal', upstream_url: echo.url });
    await config.upsertEndpoint({
      id: 'ep_fast',
      url: 'https://fast.example.com',
      traffic_policy: forwardTo('https://fast.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_events',
      url: 'https://events.example.com',
      traffic_policy: forwardTo('https://events.internal'),
    });
    await config.upsertEndpoint({
      id: 'ep_ws',
      url: 'https://ws.example.com',
      traffic_policy: forwardTo('https://ws.internal'),
    });
  });

  afterAll(async () => {
    for (const running of started) running.child.kill('SIGKILL');
    await config.close();
    await fast?.close();
    await events?.close();
    await echo?.close();
    await rm(dataDirectory, { recursive: true, force: true });
  });

  it('answers /readyz, /status and /metrics for every worker, each with its own identity, and replaces a dead worker', async () => {
    const gateway = await start();
    const ready = await httpRequest({ port: gateway.adminPort, path: '/readyz' });
    expect(ready.status).toBe(200);
    const status = JSON.parse((await httpRequest({ port: gateway.adminPort, path: '/status' })).body) as {
      id: string;
      ready: boolean;
      workers: { index: number; pid: number; id: string; ready: boolean }[];
    };
    expect(status.ready).toBe(true);
    expect(status.workers.map((worker) => worker.id)).toEqual([`${status.id}/worker-0`, `${status.id}/worker-1`]);
    expect(new Set(status.workers.map((worker) => worker.pid)).size).toBe(2);
    // Each worker heartbeats under its own id (the fleet view shows a lagging worker on its own).
    await eventually(
      () =>
        [`${status.id}/worker-0`, `${status.id}/worker-1`].every((id) =>
          config.heartbeats.some((heartbeat) => heartbeat.id === id),
        ),
      10_000,
      'a heartbeat from each worker',
    );
    // /metrics merges the workers: two requests, one on each worker or both on one, count as two.
    for (let index = 0; index < 2; index++)
      expect((await httpRequest({ port: gateway.port, host: 'fast.example.com' })).status).toBe(200);
    const metrics = (await httpRequest({ port: gateway.adminPort, path: '/metrics' })).body;
    expect(metrics).toMatch(/gatehouse_dataplane_requests_total\{[^}]*endpoint="ep_fast"[^}]*status="200"[^}]*\} 2\n/);
    // A worker that dies is replaced; /readyz is 200 again once the new one is ready.
    process.kill(status.workers[1]!.pid, 'SIGKILL');
    await eventually(
      async () => {
        const now = JSON.parse((await httpRequest({ port: gateway.adminPort, path: '/status' })).body) as {
          ready: boolean;
          workers: { pid: number | null }[];
        };
        return now.ready && now.workers[1]?.pid !== null && now.workers[1]?.pid !== status.workers[1]!.pid;
      },
      15_000,
      'a replacement worker',
    );
    expect((await httpRequest({ port: gateway.adminPort, path: '/readyz' })).status).toBe(200);
    expect(await gateway.stop()).toBe(0);
  }, 45_000);

  it('SIGHUP replaces the workers one at a time under keep-alive load and an SSE stream: 0 failed', async () => {
    const gateway = await start();
    const before = JSON.parse((await httpRequest({ port: gateway.adminPort, path: '/status' })).body) as {
      workers: { pid: number }[];
    };
    const load = keepAliveLoad(gateway.port, 8);
    const stream = resumingEventStream(gateway.port);
    const readiness: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        readiness.push((await httpRequest({ port: gateway.adminPort, path: '/readyz' })).status);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await eventually(() => load.counts.ok > 200 && stream.state.ids.length > 5, 10_000, 'load to run');
    gateway.child.kill('SIGHUP');
    await eventually(() => gateway.output().includes('"dataplane.restarted"'), 20_000, 'the rolling restart');
    const okAtRestart = load.counts.ok;
    await eventually(() => load.counts.ok > okAtRestart + 200, 10_000, 'load on the new workers');
    polling = false;
    await poller;
    await load.stop();
    stream.stop();
    const after = JSON.parse((await httpRequest({ port: gateway.adminPort, path: '/status' })).body) as {
      workers: { pid: number }[];
    };
    expect(load.counts.failed, load.counts.errors.join(', ')).toBe(0);
    expect(stream.state.failures).toEqual([]);
    // The stream was ended cleanly by each old worker's drain and resumed without losing an event.
    expect(stream.state.reconnects).toBeGreaterThanOrEqual(1);
    expect(stream.state.ids).toEqual(stream.state.ids.map((_, index) => index + 1));
    expect(readiness.every((status) => status === 200)).toBe(true);
    const oldPids = before.workers.map((worker) => worker.pid);
    expect(after.workers.map((worker) => worker.pid).some((pid) => oldPids.includes(pid))).toBe(false);
    expect(await gateway.stop()).toBe(0);
  }, 45_000);

  it('SIGTERM drains every worker and exits in under 5 s with no reset, closing WebSockets with 1001', async () => {
    const gateway = await start();
    const upgrade = await requestUpgrade({ port: gateway.port, host: 'ws.example.com', path: '/' });
    if (upgrade.kind !== 'upgraded') throw new Error('upgrade refused');
    const client = collectFrames(upgrade.socket);
    upgrade.socket.write(maskedTextFrame('hi'));
    await eventually(() => client.frames.length === 1, 5_000, 'the echo');
    const load = keepAliveLoad(gateway.port, 8);
    await eventually(() => load.counts.ok > 200, 10_000, 'load to run');
    const exited = once(gateway.child, 'exit');
    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    const took = Date.now() - signalledAt;
    await load.stop();
    expect(code).toBe(0);
    expect(took).toBeLessThan(5_000);
    // No request in flight at the signal fails, and no kept-alive connection is reset. New connections the clients
    // keep opening during the drain (every response says Connection: close) are refused or, when one lands in the
    // accept queue the moment the last worker stops listening, reset by the kernel: that is a stopping listener,
    // not a dropped request.
    const dropped = load.counts.failures.filter((failure) => failure.reused || failure.startedAt < signalledAt);
    expect(dropped).toEqual([]);
    expect(load.counts.failures.every((failure) => /ECONNREFUSED|ECONNRESET/.test(failure.error))).toBe(true);
    expect(await client.closed).toEqual({ hadError: false });
    expect(client.frames[1]?.opcode).toBe(0x8);
    expect(client.frames[1]?.payload.readUInt16BE(0)).toBe(1001);
  }, 45_000);

  it('every worker reports the same traffic address in its heartbeats: the public URL, the shared port', async () => {
    const gateway = await start({
      DATAPLANE_HEARTBEAT_INTERVAL_MS: '200',
      DATAPLANE_PUBLIC_URL: 'https://gw.example.com',
    });
    const status = JSON.parse((await httpRequest({ port: gateway.adminPort, path: '/status' })).body) as { id: string };
    const workers = [`${status.id}/worker-0`, `${status.id}/worker-1`];
    const reported = () =>
      workers.map((id) => config.heartbeats.findLast((heartbeat) => heartbeat.id === id && heartbeat.traffic)?.traffic);
    await eventually(() => reported().every(Boolean), 10_000, 'a heartbeat with a traffic address from each worker');
    const expected = { scheme: 'http', host: '127.0.0.1', port: gateway.port, public_url: 'https://gw.example.com' };
    expect(reported()).toEqual([expected, expected]);
    expect(await gateway.stop()).toBe(0);
  }, 30_000);
});
