/**
 * `npm run bench -w @gatehouse/gatehouse`: the embedded shape's resident memory at idle (issue 18 item 5: ≤ 250 MB).
 * Runs the build `npm start` runs (dist/main.js) as `npm start` does — PGlite under a fresh data directory, no
 * DATABASE_URL or REDIS_URL, its malloc settings — waits for its ready line, leaves it idle for BENCH_IDLE_SECONDS
 * (default 20: boot garbage collected, timers settled), then reads /proc/<pid>/status. Round 1 is a first start (the
 * database created and migrated), round 2 a restart over the same directory, as an operator's next `npm start`.
 * The node flags are npm start's, read from the root package.json's start script (BENCH_START_FLAGS replaces them,
 * '' for none); BENCH_NODE_OPTIONS passes further node flags to the measured process (e.g. a V8 heap setting to compare).
 * Prints, never asserts (speed and size are reported, not tested).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** The flags between `node` and `scripts/start.mjs` in the root package.json's start script. */
function npmStartNodeFlags(): string[] {
  if (process.env.BENCH_START_FLAGS !== undefined) return process.env.BENCH_START_FLAGS.split(' ').filter(Boolean);
  const rootPackage = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    scripts: { start: string };
  };
  const flags = /\bnode ((?:--\S+ )*)scripts\/start\.mjs/.exec(rootPackage.scripts.start);
  if (flags === null) throw new Error('the root start script does not run `node … scripts/start.mjs`');
  return flags[1]!.split(' ').filter(Boolean);
}
const startFlags = npmStartNodeFlags();
const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 20);
const targetMb = 250;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** VmRSS and its split (kB → MB) from /proc/<pid>/status. */
function residentMemory(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024;
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') };
}

async function measure(dataDirectory: string): Promise<{ rss: number; anon: number; file: number; readyMs: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [...startFlags, main], {
    env: {
      PATH: process.env.PATH ?? '',
      // npm start's malloc settings (package.json): fewer arenas, and large blocks handed back to the kernel.
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
      MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '32768',
      GATEHOUSE_DATA_DIR: dataDirectory,
      API_PORT: String(await freePort()),
      DATAPLANE_PORT: String(await freePort()),
      DATAPLANE_ADMIN_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
      ...(process.env.BENCH_NODE_OPTIONS === undefined ? {} : { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS }),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready within 120 s:\n${output}`)), 120_000);
      child.stdout.setEncoding('utf8').on('data', (text: string) => {
        output += text;
        if (output.includes('"event":"gatehouse.ready"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`exited (${String(code)}) before ready:\n${output}`)));
    });
    const readyMs = Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    return { ...residentMemory(child.pid!), readyMs };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
}

const dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-idle-'));
try {
  console.log(
    `Embedded shape at idle (dist/main.js as npm start runs it${startFlags.length > 0 ? `, ${startFlags.join(' ')}` : ''}, ` +
      `${idleSeconds} s after ready), load average ` +
      `${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}\n`,
  );
  console.log('| start | ready after | RSS MB | anonymous MB | file-backed MB | target |');
  console.log('|---|---:|---:|---:|---:|---|');
  for (const label of ['first start (creates and migrates PGlite)', 'restart over the same data directory']) {
    const result = await measure(dataDirectory);
    console.log(
      `| ${label} | ${(result.readyMs / 1000).toFixed(1)} s | ${result.rss.toFixed(0)} | ${result.anon.toFixed(0)} | ` +
        `${result.file.toFixed(0)} | ≤ ${targetMb} MB: ${result.rss <= targetMb ? 'met' : 'not met'} |`,
    );
  }
} finally {
  await rm(dataDirectory, { recursive: true, force: true });
}
