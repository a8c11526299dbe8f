import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root: every shape runs the built apps from here, as `npm start` and the images do. */
export const repositoryRoot = fileURLToPath(new URL('../../..', import.meta.url));

const outputLimit = 256 * 1024;

/** A child process this suite started; `stop()` ends it and everything it spawned. */
export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last 256 KiB of stdout and stderr, interleaved, for failure messages. */
  output(): string;
  /** Resolves with the first output line (past or future) matching `pattern`; rejects if the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  hasExited(): boolean;
  /** SIGTERM to the process group, then SIGKILL after `graceMs`; resolves when no process of the group is left. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the process group at once, as a crash or the OOM killer would; resolves when it is gone. */
  kill(): Promise<void>;
}

const running = new Set<ManagedProcess>();

// A crashed or interrupted test run must not leave API servers and data planes holding ports on a shared machine.
process.once('exit', () => {
  for (const managed of running) signalGroup(managed.child, 'SIGKILL');
});

function signalGroup(child: ChildProcess, signal: NodeJS.Signals | 0): boolean {
  if (child.pid === undefined) return false;
  try {
    // Negative pid: the whole group the child leads (it was spawned detached), so grandchildren stop too.
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false;
  }
}

function groupAlive(child: ChildProcess): boolean {
  return signalGroup(child, 0);
}

export function startProcess(
  name: string,
  args: string[],
  options: { cwd?: string; env: Record<string, string>; command?: string },
): ManagedProcess {
  const child = spawn(options.command ?? process.execPath, args, {
    cwd: options.cwd ?? repositoryRoot,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so stop() reaches whatever the process spawns too.
    detached: true,
  });
  let output = '';
  let partial = '';
  const lines: string[] = [];
  const lineListeners = new Set<(line: string) => void>();
  const onData = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-outputLimit);
    partial += text;
    const complete = partial.split('\n');
    partial = complete.pop() ?? '';
    for (const line of complete) {
      lines.push(line);
      for (const listener of lineListeners) listener(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  // Without a listener a failed spawn (e.g. a missing binary) would crash the test runner instead of failing a test.
  child.on('error', (error) => onData(Buffer.from(`${name}: ${error.message}\n`)));
  const exited = once(child, 'exit').catch(() => undefined);

  const managed: ManagedProcess = {
    name,
    child,
    output: () => output,
    hasExited: () => child.exitCode !== null || child.signalCode !== null,
    waitForLine(pattern, timeoutMs) {
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match !== null) return Promise.resolve(match);
      }
      return new Promise((resolve, reject) => {
        const cleanup = () => {
          clearTimeout(timer);
          lineListeners.delete(listener);
          child.off('exit', onExit);
        };
        const listener = (line: string) => {
          const match = pattern.exec(line);
          if (match === null) return;
          cleanup();
          resolve(match);
        };
        const onExit = (code: number | null, signal: string | null) => {
          cleanup();
          reject(new Error(`${name} exited (${signal ?? code}) before printing ${pattern}:\n${output}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${name} did not print ${pattern} within ${timeoutMs} ms:\n${output}`));
        }, timeoutMs);
        lineListeners.add(listener);
        child.once('exit', onExit);
      });
    },
    async stop(graceMs = 15_000) {
      if (!managed.hasExited()) signalGroup(child, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      // The leader may exit before its children do; wait for the whole group, not only the leader.
      while (groupAlive(child) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      if (groupAlive(child)) signalGroup(child, 'SIGKILL');
      await exited;
      running.delete(managed);
    },
    async kill() {
      signalGroup(child, 'SIGKILL');
      while (groupAlive(child)) await new Promise((resolve) => setTimeout(resolve, 20));
      await exited;
      running.delete(managed);
    },
  };
  running.add(managed);
  return managed;
}

/** Stops every process still running, whatever happened to the test that started it. */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...running].map((managed) => managed.stop(5_000)));
}

/** A TCP port that was free a moment ago (the small race is acceptable for tests on one machine). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

/** Polls `check` until it returns something other than false/undefined; the last error explains a timeout. */
export async function waitFor<T>(
  check: () => T | false | undefined | Promise<T | false | undefined>,
  options: { timeoutMs: number; what: string; intervalMs?: number; context?: () => string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastProblem = '';
  for (;;) {
    try {
      const value = await check();
      if (value !== false && value !== undefined) return value;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      const context = options.context?.() ?? '';
      throw new Error(
        `timed out after ${options.timeoutMs} ms waiting for ${options.what}` +
          `${lastProblem === '' ? '' : ` (last error: ${lastProblem})`}${context === '' ? '' : `\n${context}`}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}

/** The environment a child gets: only what it needs, so the runner's DATABASE_URL or REDIS_URL never leaks in. */
export function baseEnvironment(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  if (process.env.HOME !== undefined) env.HOME = process.env.HOME;
  return env;
}
