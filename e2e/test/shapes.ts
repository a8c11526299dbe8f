import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { Health } from './support/api.js';
import {
  baseEnvironment,
  freePort,
  repositoryRoot,
  startProcess,
  waitFor,
  type ManagedProcess,
} from './support/processes.js';
import { runDatabase, startRunRedis, type RunDatabase, type RunRedis } from './support/services.js';

/**
 * The two ways Gatehouse runs (DESIGN.md §2), behind one interface so the README walkthrough is written once:
 *
 * - distributed: API, worker and two data planes as separate processes (what docker-compose.yml runs), on a Postgres
 *   database and a Redis of this run's own;
 * - embedded: `node scripts/start.mjs` (what `npm start` runs after building: apps/gatehouse, the composition root)
 *   as one process with no DATABASE_URL and no REDIS_URL: PGlite in GATEHOUSE_DATA_DIR and in-process config bus,
 *   counters and request-log queue.
 */
export type ShapeName = 'distributed' | 'embedded';

export interface DataplaneAddress {
  name: string;
  trafficPort: number;
  adminPort: number;
}

export interface Shape {
  readonly name: ShapeName;
  /** `http://127.0.0.1:<API_PORT>`: REST under /api, dashboard at /. */
  readonly apiUrl: string;
  /** Every data plane that carries traffic (two in the distributed shape, the built-in one in the embedded shape). */
  readonly dataplanes: readonly DataplaneAddress[];
  /** The bootstrap admin (GATEHOUSE_ADMIN_EMAIL / GATEHOUSE_ADMIN_PASSWORD). */
  readonly admin: { email: string; password: string };
  /** The shared data-plane token, when the shape sets one (the embedded shape generates its own in process). */
  readonly dataplaneToken: string | undefined;
  /** The distributed shape's own Postgres database, Redis and Redis prefix (tests that tamper with them). */
  readonly services?: { databaseUrl: string; redisUrl: string; redisPrefix: string };
  /** Recent output of every process, for failure messages. */
  output(): string;
  /** Stops everything and removes what the run created (database, data directories). Safe to call twice. */
  stop(): Promise<void>;
}

export interface RestartableShape extends Shape {
  /**
   * Stops the process (SIGTERM, as `docker stop` or a supervisor would), then starts it again on the same data.
   * Resolves with how the old process ended: SIGKILL means it outlived the 20 s grace period.
   */
  restart(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ShapeOptions {
  /** CIDRs whose X-Forwarded-For the data planes believe (GATEHOUSE_TRUSTED_PROXIES). */
  trustedProxies: readonly string[];
}

/** The admin every shape bootstraps. The API's own tests use the same one; kept identical so it is recognisable. */
export const admin = { email: 'admin@example.com', password: 'admin-password-1234' };

export const apiMain = join(repositoryRoot, 'apps/api/dist/main.js');
export const workerMain = join(repositoryRoot, 'apps/api/dist/worker.js');
export const dataplaneMain = join(repositoryRoot, 'apps/dataplane/dist/main.js');
/** The embedded shape's composition root, which scripts/start.mjs runs. */
const embeddedMain = join(repositoryRoot, 'apps/gatehouse/dist/main.js');
export const migrateScript = join(repositoryRoot, 'apps/api/scripts/db-migrate.mjs');
const startScript = join(repositoryRoot, 'scripts/start.mjs');

export function requireBuilt(...files: string[]): void {
  const missing = files.filter((file) => !existsSync(file));
  if (missing.length > 0)
    throw new Error(
      `not built: ${missing.join(', ')} — run npx turbo run build --filter=@gatehouse/api --filter=@gatehouse/dataplane ` +
        '--filter=@gatehouse/gatehouse --filter=@gatehouse/dashboard --filter=@gatehouse/example-mcp-server',
    );
}

export function newRunId(): string {
  return randomBytes(5).toString('hex');
}

async function getJson<T>(url: string): Promise<{ status: number; body: T | undefined }> {
  const response = await request(url, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  const text = await response.body.text();
  try {
    return { status: response.statusCode, body: JSON.parse(text) as T };
  } catch {
    return { status: response.statusCode, body: undefined };
  }
}

export function outputOf(processes: readonly ManagedProcess[]): string {
  return processes.map((managed) => `----- ${managed.name} -----\n${managed.output().slice(-8_000)}`).join('\n');
}

/** Waits for GET /api/health to answer 200 while the process that serves it is alive. */
export async function waitForApiHealth(apiUrl: string, owner: ManagedProcess, timeoutMs: number): Promise<Health> {
  return waitFor(
    async () => {
      if (owner.hasExited()) throw new Error(`${owner.name} exited`);
      const health = await getJson<Health>(`${apiUrl}/api/health`);
      return health.status === 200 ? health.body : undefined;
    },
    { timeoutMs, what: `${apiUrl}/api/health to answer 200`, context: () => owner.output() },
  );
}

/** Waits for a data plane's admin /readyz (a config is loaded and it is not draining). */
export async function waitForReady(adminPort: number, owner: ManagedProcess, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      if (owner.hasExited()) throw new Error(`${owner.name} exited`);
      return (await getJson(`http://127.0.0.1:${adminPort}/readyz`)).status === 200;
    },
    { timeoutMs, what: `the data plane admin port ${adminPort} to answer /readyz 200`, context: () => owner.output() },
  );
}

/** Creates and migrates a run's database with the API's own script, as `npm run db:migrate` does. */
export async function migrateDatabase(database: RunDatabase): Promise<void> {
  const migrate = startProcess('db:migrate', [migrateScript], {
    env: { ...baseEnvironment(), DATABASE_URL: database.url },
  });
  await migrate.waitForLine(/^db:migrate: /, 120_000);
  await waitFor(() => migrate.hasExited(), { timeoutMs: 10_000, what: 'db:migrate to exit' });
  if (migrate.child.exitCode !== 0) throw new Error(`db:migrate failed:\n${migrate.output()}`);
}

/**
 * The distributed shape on this machine: migrate a fresh database with the API's script, then the API, the worker
 * and two data planes sharing one data-plane token and one Redis — the processes and environment of
 * docker-compose.yml, with ports picked free.
 */
export interface ControlPlaneProcesses {
  apiUrl: string;
  api: ManagedProcess;
  /** What every process of the shape shares (Redis, its prefix, the data-plane token, the log level). */
  environment: Record<string, string>;
  /** Every request-log worker started so far, the newest last. */
  workers: readonly ManagedProcess[];
  /** Starts another request-log worker and resolves once it runs. */
  startWorker: () => Promise<ManagedProcess>;
  /** Starts the API again on the same port and environment (after the test stopped or killed it); resolves when healthy. */
  restartApi: () => Promise<ManagedProcess>;
}

/**
 * The distributed shape's control plane as docker-compose.yml runs it: the API and one request-log worker, sharing
 * Redis, the Redis prefix and the data-plane token with every data plane; only they see Postgres. Every process it
 * starts is appended to `processes`, which the caller stops.
 */
export async function startControlPlaneProcesses(options: {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  processes: ManagedProcess[];
}): Promise<ControlPlaneProcesses> {
  const { databaseUrl, processes } = options;
  const environment = {
    ...baseEnvironment(),
    REDIS_URL: options.redisUrl,
    GATEHOUSE_REDIS_PREFIX: options.redisPrefix,
    GATEHOUSE_DATAPLANE_TOKEN: randomBytes(32).toString('base64url'),
    GATEHOUSE_SECRETS_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
  };
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  let apiGenerations = 0;
  const launchApi = () => {
    apiGenerations += 1;
    const launched = startProcess(apiGenerations === 1 ? 'api' : `api #${apiGenerations}`, [apiMain], {
      env: {
        ...environment,
        DATABASE_URL: databaseUrl,
        API_PORT: String(apiPort),
        GATEHOUSE_ADMIN_EMAIL: admin.email,
        GATEHOUSE_ADMIN_PASSWORD: admin.password,
      },
    });
    processes.push(launched);
    return launched;
  };
  const api = launchApi();
  const workers: ManagedProcess[] = [];
  const launchWorker = () => {
    // At info level the worker says when it runs; it serves no port to poll.
    const worker = startProcess(workers.length === 0 ? 'worker' : `worker #${workers.length + 1}`, [workerMain], {
      env: { ...environment, DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' },
    });
    processes.push(worker);
    workers.push(worker);
    return worker;
  };
  const running = (worker: ManagedProcess) => worker.waitForLine(/worker running/, 90_000).then(() => worker);
  // The first worker boots while the API does.
  const firstWorker = launchWorker();
  await waitForApiHealth(apiUrl, api, 90_000);
  await running(firstWorker);
  return {
    apiUrl,
    api,
    environment,
    workers,
    startWorker: () => running(launchWorker()),
    restartApi: async () => {
      const restarted = launchApi();
      await waitForApiHealth(apiUrl, restarted, 90_000);
      return restarted;
    },
  };
}

/** One data plane process of the distributed shape, on free ports and its own data directory (not yet ready). */
export async function startDataplaneProcess(options: {
  name: string;
  id: string;
  controlPlane: ControlPlaneProcesses;
  dataDirectory: string;
  processes: ManagedProcess[];
  environment?: Record<string, string>;
}): Promise<DataplaneAddress & { process: ManagedProcess }> {
  const [trafficPort, adminPort] = [await freePort(), await freePort()];
  const dataplane = startProcess(options.name, [dataplaneMain], {
    env: {
      ...options.controlPlane.environment,
      GATEHOUSE_API_URL: options.controlPlane.apiUrl,
      DATAPLANE_HOST: '127.0.0.1',
      DATAPLANE_PORT: String(trafficPort),
      DATAPLANE_ADMIN_PORT: String(adminPort),
      DATAPLANE_ID: options.id,
      // One process per data plane: these suites name a data plane by its id (heartbeats, /api/dataplanes, its spill
      // file), which a worker model splits into `<id>/worker-<n>`. The worker model and its rolling restart are tested
      // on their own, in apps/dataplane/test/workers.test.ts.
      DATAPLANE_WORKERS: '1',
      GATEHOUSE_DATA_DIR: options.dataDirectory,
      ...options.environment,
    },
  });
  options.processes.push(dataplane);
  return { name: options.name, trafficPort, adminPort, process: dataplane };
}

export async function startDistributedShape(options: ShapeOptions): Promise<Shape> {
  requireBuilt(apiMain, workerMain, dataplaneMain, migrateScript);
  const runId = newRunId();
  const processes: ManagedProcess[] = [];
  const dataDirectories: string[] = [];
  let database: RunDatabase | undefined;
  let redis: RunRedis | undefined;
  let stopped: Promise<void> | undefined;

  const stop = () =>
    (stopped ??= (async () => {
      // Data planes first, so their last request events are delivered while the worker still runs.
      for (const managed of [...processes].reverse()) await managed.stop();
      await redis?.stop();
      await database?.drop();
      await Promise.all(dataDirectories.map((directory) => rm(directory, { recursive: true, force: true })));
    })());

  try {
    database = runDatabase(runId);
    redis = await startRunRedis();
    await migrateDatabase(database);

    // A namespace, as two installations sharing a Redis would use: every process must agree on it or config events,
    // request logs and shared counters go astray, which the walkthrough would notice.
    const controlPlane = await startControlPlaneProcesses({
      databaseUrl: database.url,
      redisUrl: redis.url,
      redisPrefix: 'gatehouse-e2e',
      processes,
    });

    const dataplanes: (DataplaneAddress & { process: ManagedProcess })[] = [];
    for (const name of ['dataplane-1', 'dataplane-2']) {
      const dataDirectory = await mkdtemp(join(tmpdir(), `gatehouse-e2e-${name}-`));
      dataDirectories.push(dataDirectory);
      dataplanes.push(
        await startDataplaneProcess({
          name,
          id: `${name}-${runId}`,
          controlPlane,
          dataDirectory,
          processes,
          environment: { GATEHOUSE_TRUSTED_PROXIES: options.trustedProxies.join(',') },
        }),
      );
    }
    await Promise.all(dataplanes.map((dataplane) => waitForReady(dataplane.adminPort, dataplane.process, 60_000)));
    return {
      name: 'distributed',
      apiUrl: controlPlane.apiUrl,
      dataplanes: dataplanes.map(({ name, trafficPort, adminPort }) => ({ name, trafficPort, adminPort })),
      admin,
      dataplaneToken: controlPlane.environment.GATEHOUSE_DATAPLANE_TOKEN,
      services: { databaseUrl: database.url, redisUrl: redis.url, redisPrefix: 'gatehouse-e2e' },
      output: () => outputOf(processes),
      stop,
    };
  } catch (error) {
    const context = outputOf(processes);
    await stop();
    throw new Error(`the distributed shape did not start: ${(error as Error).message}\n${context}`, { cause: error });
  }
}

/**
 * The embedded shape: `node scripts/start.mjs` with ports, a data directory and the bootstrap admin, and neither
 * DATABASE_URL nor REDIS_URL — one process, PGlite in GATEHOUSE_DATA_DIR, nothing else to install.
 */
export async function startEmbeddedShape(options: ShapeOptions): Promise<RestartableShape> {
  requireBuilt(startScript, embeddedMain);
  const dataDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-embedded-'));
  const [apiPort, trafficPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const env = {
    ...baseEnvironment(),
    API_PORT: String(apiPort),
    DATAPLANE_PORT: String(trafficPort),
    DATAPLANE_ADMIN_PORT: String(adminPort),
    GATEHOUSE_DATA_DIR: dataDirectory,
    GATEHOUSE_ADMIN_EMAIL: admin.email,
    GATEHOUSE_ADMIN_PASSWORD: admin.password,
    GATEHOUSE_TRUSTED_PROXIES: options.trustedProxies.join(','),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
  };
  const generations: ManagedProcess[] = [];
  let current: ManagedProcess | undefined;
  let stopped: Promise<void> | undefined;

  const boot = async () => {
    current = startProcess(`gatehouse (start.mjs #${generations.length + 1})`, [startScript], { env });
    generations.push(current);
    // A fresh PGlite database takes a few seconds to create and migrate on a loaded 2-CPU machine.
    const health = await waitForApiHealth(apiUrl, current, 120_000);
    // Refuse to go on against anything but the embedded shape: a start.mjs that still runs the distributed processes
    // would point them at the machine's Postgres and Redis, and the walkthrough would write there.
    if (health.redis.status !== 'disabled')
      throw new Error(
        `scripts/start.mjs without REDIS_URL did not start the embedded shape: GET /api/health reports Redis ` +
          `"${health.redis.status}" where the in-process shape reports "disabled" (${JSON.stringify(health)})`,
      );
    await waitForReady(adminPort, current, 60_000);
  };

  const stop = () =>
    (stopped ??= (async () => {
      await current?.stop(20_000);
      await rm(dataDirectory, { recursive: true, force: true });
    })());

  try {
    await boot();
  } catch (error) {
    const context = outputOf(generations);
    await stop();
    throw new Error(`the embedded shape did not start: ${(error as Error).message}\n${context}`, { cause: error });
  }
  return {
    name: 'embedded',
    apiUrl,
    dataplanes: [{ name: 'embedded', trafficPort, adminPort }],
    admin,
    dataplaneToken: undefined,
    output: () => outputOf(generations),
    stop,
    async restart() {
      const previous = current!;
      await previous.stop(20_000);
      await boot();
      return { code: previous.child.exitCode, signal: previous.child.signalCode };
    },
  };
}
