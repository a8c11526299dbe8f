import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { request } from 'undici';
import { freePort } from '../test/helpers/redis-process.js';

/** A server of the bench in its own process; `stop` ends it and removes what it wrote. */
export interface RunningTarget {
  port: number;
  pid: number;
  /** The data plane's admin port (/metrics, /status); Gatehouse targets only. */
  adminPort?: number;
  stop(): Promise<void>;
}

const appDirectory = fileURLToPath(new URL('..', import.meta.url));

export const upstreamBody = '{"jsonrpc":"2.0","id":1,"result":{"ok":true,"message":"hello from upstream"}}';

export function findNginx(): string | undefined {
  return ['/usr/sbin/nginx', '/usr/bin/nginx'].find((candidate) => spawnSync(candidate, ['-v']).status === 0);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Polls `url` until anything answers with `status` (or any status when omitted). */
export async function waitAnswering(url: string, headers: Record<string, string> = {}, status?: number): Promise<void> {
  let last = 'no answer';
  for (let attempt = 0; attempt < 1_200; attempt++) {
    try {
      const response = await request(url, { headers });
      await response.body.dump();
      if (status === undefined || response.statusCode === status) return;
      last = `status ${response.statusCode}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer: ${last}`);
}

/**
 * nginx with one worker and a config generated into a temp directory: either the upstream itself (`return 200` with a
 * fixed JSON body) or `proxy_pass` to it with upstream keep-alive (the reverse-proxy baseline).
 */
export async function startNginx(
  nginx: string,
  role: { upstream: true } | { proxyTo: number },
): Promise<RunningTarget> {
  const directory = await mkdtemp(join(tmpdir(), 'gatehouse-bench-nginx-'));
  const port = await freePort();
  const location =
    'upstream' in role
      ? `default_type application/json;\n      return 200 '${upstreamBody}';`
      : `proxy_pass http://bench_upstream;\n      proxy_http_version 1.1;\n      proxy_set_header Connection "";`;
  await writeFile(
    join(directory, 'nginx.conf'),
    `worker_processes 1;
daemon off;
${process.getuid?.() === 0 ? 'user root;' : ''}
pid ${directory}/nginx.pid;
error_log ${directory}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${directory}/body;
  proxy_temp_path ${directory}/proxy;
  fastcgi_temp_path ${directory}/fastcgi;
  uwsgi_temp_path ${directory}/uwsgi;
  scgi_temp_path ${directory}/scgi;
  ${'proxyTo' in role ? `upstream bench_upstream { server 127.0.0.1:${role.proxyTo}; keepalive 256; keepalive_requests 1000000; }` : ''}
  server {
    listen 127.0.0.1:${port} reuseport;
    keepalive_requests 1000000;
    location / {
      ${location}
    }
  }
}
`,
  );
  const child = spawn(nginx, ['-p', directory, '-c', join(directory, 'nginx.conf')], { stdio: 'ignore' });
  await waitAnswering(`http://127.0.0.1:${port}/`);
  return {
    port,
    pid: child.pid!,
    async stop() {
      await stopChild(child);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The minimal Node reverse proxy (bench/minimal-proxy.ts): node:http + an undici Pool, nothing else. */
export async function startMinimalProxy(upstreamPort: number): Promise<RunningTarget> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/minimal-proxy.ts', `http://127.0.0.1:${upstreamPort}`, String(port)],
    { cwd: appDirectory, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitAnswering(`http://127.0.0.1:${port}/`, {}, 200);
  return { port, pid: child.pid!, stop: () => stopChild(child) };
}

/**
 * The data plane as it ships (dist/main.js, one worker unless `workers` says otherwise), fed by the bench's config server, counters and request
 * events on Redis under the run's prefix. `extraArgs` go to node (e.g. --cpu-prof).
 */
export async function startGatehouse(options: {
  env: Record<string, string>;
  readyHost: string;
  readyHeaders: Record<string, string>;
  nodeArgs?: string[];
  /** The build to run (default dist/main.js); another build's main.js compares two versions in one run. */
  main?: string;
  /** DATAPLANE_WORKERS (default 1): the scaling target runs two. */
  workers?: number;
}): Promise<RunningTarget> {
  const dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-bench-dp-'));
  const port = await freePort();
  const adminPort = await freePort();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.main ?? 'dist/main.js'], {
    cwd: appDirectory,
    env: {
      ...process.env,
      // No worker drains a bench's request-log queue (its keys are dropped after each run). Production's steady state
      // is a worker keeping the backlog under the bound, where every batch is sent and the backlog read once a second:
      // that is what the bench measures. The default bound (1,000 batches) is reached within one long run on a fast
      // machine, and the data plane would then stop sending and measure lighter than it is.
      DATAPLANE_EVENT_QUEUE_MAX_BATCHES: '10000000',
      ...options.env,
      DATAPLANE_HOST: '127.0.0.1',
      DATAPLANE_PORT: String(port),
      DATAPLANE_ADMIN_PORT: String(adminPort),
      DATAPLANE_WORKERS: String(options.workers ?? 1),
      GATEHOUSE_DATA_DIR: dataDirectory,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitAnswering(`http://127.0.0.1:${adminPort}/readyz`, {}, 200);
  // Ready means a snapshot is loaded; the first request through also proves the route and the upstream.
  await waitAnswering(`http://127.0.0.1:${port}/mcp`, { host: options.readyHost, ...options.readyHeaders }, 200);
  return {
    port,
    pid: child.pid!,
    adminPort,
    async stop() {
      await stopChild(child);
      await rm(dataDirectory, { recursive: true, force: true });
    },
  };
}

/**
 * CPU time (user + system) of a process and its descendants so far, in microseconds, from /proc (Linux; undefined
 * elsewhere). Per request it is what the target costs whatever else the machine runs: a busy neighbour delays the
 * target but does not make its requests take more CPU, so it is the steadier figure on a shared machine.
 */
export function cpuMicros(pid: number): number | undefined {
  try {
    const ticksPerSecond = 100; // USER_HZ: 100 on every Linux architecture the project targets
    let total = 0;
    const pending = [pid];
    while (pending.length > 0) {
      const current = pending.pop()!;
      const stat = readFileSync(`/proc/${current}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces) start at ") ": utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1e6;
      for (const task of readdirSync(`/proc/${current}/task`)) {
        const children = readFileSync(`/proc/${current}/task/${task}/children`, 'utf8').trim();
        if (children !== '') pending.push(...children.split(' ').map(Number));
      }
    }
    return total;
  } catch {
    return undefined;
  }
}

/**
 * Steal time since the call, as a share of the machine's CPU time (from /proc/stat; undefined elsewhere): time the
 * hypervisor gave this VM's cores to other guests. On a shared VM it moves every figure of a run, CPU per request
 * included (a neighbour's load also slows what does run), so rounds print it next to the load average.
 */
export function stealMeter(): () => number | undefined {
  const read = (): number[] | undefined => {
    try {
      // cpu user nice system idle iowait irq softirq steal …
      return readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    } catch {
      return undefined;
    }
  };
  const before = read();
  return () => {
    const after = read();
    if (before === undefined || after === undefined) return undefined;
    const spent = after.map((value, index) => value - before[index]!);
    const total = spent.reduce((sum, value) => sum + value, 0);
    return total > 0 ? spent[7]! / total : undefined;
  };
}

/** Percent text of a share, or "n/a". */
export function percentText(share: number | undefined): string {
  return share === undefined ? 'n/a' : `${(share * 100).toFixed(1)}%`;
}

/** Deletes a bench run's keys: request events nobody consumes (no worker runs in a bench) would otherwise pile up in Redis. */
export async function dropKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}
