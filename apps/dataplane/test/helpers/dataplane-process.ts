import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const appDirectory = fileURLToPath(new URL('../..', import.meta.url));

export interface DataplaneProcess {
  child: ChildProcess;
  port: number;
  adminPort: number;
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * Runs `src/main.ts` as its own process (the distributed shape), configured only through the environment; `built`
 * runs `dist/main.js` (what ships; build first); `nodeArgs` go to node itself (a bench's `--cpu-prof`). One worker
 * unless the test sets DATAPLANE_WORKERS. Without a GATEHOUSE_DATA_DIR it gets a fresh one, removed on stop: the
 * default (`./.gatehouse`) would be shared by every run, and a last-known-good file another run left there could
 * stand in for this run's config.
 */
export async function startDataplaneProcess(
  env: Record<string, string>,
  options: { built?: boolean; nodeArgs?: string[] } = {},
): Promise<DataplaneProcess> {
  const args = [
    ...(options.nodeArgs ?? []),
    ...(options.built === true ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts']),
  ];
  const ownDataDirectory =
    env.GATEHOUSE_DATA_DIR === undefined ? await mkdtemp(join(tmpdir(), 'gatehouse-dataplane-')) : undefined;
  const child = spawn(process.execPath, args, {
    cwd: appDirectory,
    env: {
      PATH: process.env.PATH ?? '',
      DATAPLANE_PORT: '0',
      DATAPLANE_ADMIN_PORT: '0',
      DATAPLANE_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATAPLANE_WORKERS: '1',
      ...(ownDataDirectory === undefined ? {} : { GATEHOUSE_DATA_DIR: ownDataDirectory }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => (output += text));
  const ready = new Promise<{ port: number; adminPort: number }>((resolve, reject) => {
    child.stdout.on('data', (text: string) => {
      output += text;
      for (const line of text.split('\n')) {
        if (!line.includes('"dataplane.ready"')) continue;
        const parsed = JSON.parse(line) as { port: number; adminPort: number };
        resolve({ port: parsed.port, adminPort: parsed.adminPort });
      }
    });
    child.once('exit', (code) => reject(new Error(`data plane exited with ${code}: ${output}`)));
    setTimeout(() => reject(new Error(`data plane did not become ready: ${output}`)), 20_000).unref();
  });
  const { port, adminPort } = await ready;
  return {
    child,
    port,
    adminPort,
    output: () => output,
    async stop() {
      let code = child.exitCode;
      if (code === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        [code] = (await exited) as [number | null];
      }
      if (ownDataDirectory !== undefined) await rm(ownDataDirectory, { recursive: true, force: true });
      return code;
    },
  };
}

/** Runs main.ts expecting it to fail at boot; resolves with its exit code and output. */
export async function runDataplaneExpectingFailure(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: appDirectory,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}
