import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HttpConfigApi, RedisChangeFeed } from '../../src/config/config-source.js';
import { createDataplane, type Dataplane, type DataplaneOptions } from '../../src/dataplane.js';
import { MemoryRequestEventSink } from '../../src/events/logging-sink.js';
import { createLogger } from '../../src/logger.js';
import type { TestConfigServer } from './config-server.js';

export const walkthroughPolicy = readFileSync(
  fileURLToPath(new URL('../../../../packages/traffic-policy/test/fixtures/walkthrough.yaml', import.meta.url)),
  'utf8',
);

/** The walkthrough policy with a small rate-limit capacity, so tests reach capacity + 1 quickly. */
export function walkthroughWithCapacity(capacity: number): string {
  const changed = walkthroughPolicy.replace('capacity: 100', `capacity: ${capacity}`);
  if (changed === walkthroughPolicy) throw new Error('the walkthrough fixture no longer has "capacity: 100"');
  return changed;
}

export interface RunningDataplane {
  dataplane: Dataplane;
  port: number;
  adminPort: number;
  sink: MemoryRequestEventSink;
  stop(): Promise<void>;
}

/** An in-process data plane wired to the test config server (HTTP) and, when given, Redis (feed + counters). */
export async function startDataplane(
  config: TestConfigServer,
  options: { redisUrl?: string } & Partial<Omit<DataplaneOptions, 'configApi' | 'changeFeed' | 'redisUrl'>> = {},
): Promise<RunningDataplane> {
  const sink = new MemoryRequestEventSink();
  const api = new HttpConfigApi(config.url, config.token, 2_000);
  const { redisUrl, ...rest } = options;
  const dataplane = createDataplane({
    port: 0,
    adminPort: 0,
    host: '127.0.0.1',
    configApi: api,
    ...(redisUrl === undefined ? {} : { changeFeed: new RedisChangeFeed(redisUrl, config.channel), redisUrl }),
    eventSink: sink,
    logger: createLogger(process.env.TEST_LOG_LEVEL === undefined ? 'silent' : process.env.TEST_LOG_LEVEL),
    heartbeatIntervalMs: 60_000,
    shutdownGraceMs: 300,
    ...rest,
  });
  const { port, adminPort } = await dataplane.start();
  return {
    dataplane,
    port,
    adminPort: adminPort ?? 0,
    sink,
    async stop() {
      await dataplane.stop();
      await api.close();
    },
  };
}

/** Polls `check` until it returns true (or a value other than false/undefined). */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<Exclude<T, false | undefined>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== false && value !== undefined) return value as Exclude<T, false | undefined>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function uniqueId(prefix: string): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
}
