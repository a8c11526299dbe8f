import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
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
 * runs `dist/main.js` (what ships; build first); `nodeArgs` go to node itself (a bench's `--cpu-prof`). One worker unless the test sets DATAPLANE_WORKERS.
 */
export async function startDataplaneProcess(
  env: Record<string, string>,
  options: { built?: boolean; nodeArgs?: string[] } = {},
): Promise<DataplaneProcess> {
  const args = [
    ...(options.nodeArgs ?? []),
    ...(options.built === true ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts']),
  ];
  const child = spawn(process.execPath, args, {
    cwd: appDirectory,
    env: {
      PATH: process.env.PATH ?? '',
      DATAPLANE_PORT: '0',
      DATAPLANE_ADMIN_PORT: '0',
      DATAPLANE_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATAPLANE_WORKERS: '1',
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
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
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
