import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { baseEnvironment, freePort, startProcess, waitFor, type ManagedProcess } from './processes.js';
import { redisAnswers } from './services.js';

/**
 * A `redis-server` of the test's own that it can SIGKILL and start again on the same port and data (the machine's
 * Redis is never killed). It runs as a Redis carrying BullMQ queues should (README, "Run Redis with AOF persistence"):
 * append-only file, fsync on every write, so a kill loses nothing Redis acknowledged.
 */
export interface DurableRedis {
  readonly url: string;
  /** SIGKILL, as a crash would; the data directory stays. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory (it replays its append-only file). */
  restart(): Promise<void>;
  /** Runs one command with `redis-cli` (installed with redis-server) and returns its reply as text. */
  command(...args: string[]): Promise<string>;
  /** Every generation's recent output, for failure messages. */
  output(): string;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

export async function startDurableRedis(): Promise<DurableRedis> {
  const port = await freePort();
  const directory = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-redis-'));
  const generations: ManagedProcess[] = [];
  let current: ManagedProcess | undefined;

  const start = async () => {
    current = startProcess(
      `redis-server #${generations.length + 1}`,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        directory,
      ],
      { command: 'redis-server', env: baseEnvironment() },
    );
    generations.push(current);
    const starting = current;
    await waitFor(() => redisAnswers('127.0.0.1', port), {
      timeoutMs: 15_000,
      intervalMs: 20,
      what: `redis-server on port ${port}`,
      context: () => starting.output(),
    });
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    kill: async () => {
      await current?.kill();
      current = undefined;
    },
    restart: start,
    command: async (...args) =>
      (await promisify(execFile)('redis-cli', ['-p', String(port), ...args], { timeout: 5_000 })).stdout.trim(),
    output: () => generations.map((generation) => `----- ${generation.name} -----\n${generation.output()}`).join('\n'),
    destroy: async () => {
      await current?.stop();
      current = undefined;
      await rm(directory, { recursive: true, force: true });
    },
  };
}
