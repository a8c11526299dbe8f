// `dist/main.js`, the build `npm start` runs (scripts/start.mjs imports it), as a real process configured only through
// its environment: the ready line, the banner, a one-line refusal of a locked data directory, exit codes.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Started {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first stdout line containing `text`. */
  line(text: string, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startGatehouse(env: Record<string, string>): Started {
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build -w @gatehouse/gatehouse first`);
  const child = spawn(process.execPath, [main], {
    // Only what is given: no DATABASE_URL or REDIS_URL from the test environment reaches the embedded shape.
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const line = async (text: string, timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = output.split('\n').find((candidate) => candidate.includes(text));
      if (found !== undefined) return found;
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`exited before printing "${text}":\n${output}`);
      if (Date.now() > deadline) throw new Error(`no "${text}" within ${timeoutMs} ms:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return { child, output: () => output, line, exited };
}

describe('the embedded entry point (npm start)', () => {
  let dataDirectory: string;
  let gatehouse: Started | undefined;

  beforeAll(async () => {
    dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-entry-'));
  });

  afterAll(async () => {
    if (gatehouse && gatehouse.child.exitCode === null && gatehouse.child.signalCode === null) {
      gatehouse.child.kill('SIGKILL');
      await gatehouse.exited;
    }
    await rm(dataDirectory, { recursive: true, force: true });
  });

  it('refuses a bad environment with the problems of both halves, exit 2, before touching anything', async () => {
    const refused = startGatehouse({
      API_PORT: 'forty',
      DATAPLANE_PORT: 'eighty',
      GATEHOUSE_ADMIN_EMAIL: 'not-an-email',
      GATEHOUSE_TRUSTED_PROXIES: 'not-a-cidr',
      GATEHOUSE_DATA_DIR: join(dataDirectory, 'never-created'),
    });
    expect(await refused.exited).toEqual({ code: 2, signal: null });
    expect(refused.output()).toContain('Invalid environment:');
    // The control plane's problems and the data plane's, in one message.
    for (const variable of ['API_PORT', 'GATEHOUSE_ADMIN_EMAIL', 'DATAPLANE_PORT', 'not-a-cidr']) {
      expect(refused.output()).toContain(variable);
    }
    expect(existsSync(join(dataDirectory, 'never-created'))).toBe(false);
  });

  it('prints the ready line and the banner, serves the API, refuses a second process, and exits 0 on SIGTERM', async () => {
    const environment = {
      API_PORT: '0',
      DATAPLANE_PORT: '0',
      DATAPLANE_ADMIN_PORT: '0',
      DATAPLANE_HOST: '127.0.0.1',
      GATEHOUSE_DATA_DIR: dataDirectory,
      LOG_LEVEL: 'info',
    };
    gatehouse = startGatehouse(environment);
    const ready = JSON.parse(await gatehouse.line('"event":"gatehouse.ready"')) as {
      api_port: number;
      dataplane_port: number;
    };
    await gatehouse.line('Ctrl-C stops it');
    const output = gatehouse.output();
    expect(output).toContain('Gatehouse is running (embedded: control plane, dashboard and data plane in one process)');
    expect(output).toContain(
      `  dashboard   http://127.0.0.1:${ready.api_port}/   — open the dashboard and create the first admin (first-run setup)`,
    );
    expect(output).toContain(
      `  traffic     http://127.0.0.1:${ready.dataplane_port}   (routes by Host to your endpoints)`,
    );
    expect(output).toContain(
      `  data        PGlite in ${join(dataDirectory, 'pgdata')}; config events via the in-process bus`,
    );

    const health = await fetch(`http://127.0.0.1:${ready.api_port}/api/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', redis: { status: 'disabled' } });

    const second = startGatehouse({ ...environment, LOG_LEVEL: 'silent' });
    expect(await second.exited).toEqual({ code: 1, signal: null });
    expect(second.output().trim()).toBe(
      `gatehouse: GATEHOUSE_DATA_DIR ${dataDirectory} is in use by process ${gatehouse.child.pid}; ` +
        'stop it first or choose another directory',
    );

    gatehouse.child.kill('SIGTERM');
    expect(await gatehouse.exited).toEqual({ code: 0, signal: null });
    expect(gatehouse.output()).toContain('"signal":"SIGTERM"');
    // The lock is released: the next start may take the directory.
    expect(existsSync(join(dataDirectory, 'gatehouse.pid'))).toBe(false);
  });
});
