import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { ReadinessReport, StatusReport } from '../admin/admin-server.js';
import type { DataplaneEnv } from '../env.js';
import { isWorkerMessage, type PrimaryMessage, type WorkerMessage } from './protocol.js';

interface Slot {
  index: number;
  /** The worker serving this slot; a replacement takes over only once it is ready. */
  worker: Worker | undefined;
}

type Health = { readiness: ReadinessReport; status: StatusReport };
type Metrics = MetricObjectWithValues<MetricValue<string>>[];

/** How long a worker may take from fork to ready (its first config sync included). */
const readyTimeoutMs = 60_000;
/** How long the primary waits for a worker's answer to /readyz, /status or /metrics before counting it as not ready. */
const askTimeoutMs = 2_000;

/**
 * The cluster primary: owns the listening sockets (node:cluster's round-robin handle for the traffic port, its own
 * admin server), forks one data plane per slot, answers the admin routes for all of them, and replaces them one at a
 * time on SIGHUP: the new worker first, ready, then the old one drains. The listening socket never closes while a
 * worker is being replaced (the new worker listens before the old one stops), so no connection is refused.
 */
export class ClusterPrimary {
  readonly #slots: Slot[];
  readonly #live = new Set<Worker>();
  readonly #pending = new Map<number, (message: WorkerMessage) => void>();
  #requestIds = 0;
  #shuttingDown = false;
  #restart: Promise<void> | undefined;
  #admin: Server | undefined;
  #port = 0;
  #adminPort = 0;
  readonly #startedAt = new Date();

  constructor(
    private readonly env: DataplaneEnv,
    private readonly logger: Logger,
    /** The data plane's own id; each worker reports as `<id>/worker-<index>`. */
    private readonly dataplaneId = env.DATAPLANE_ID ??
      `${hostname()}:${env.DATAPLANE_PORT === 0 ? `pid-${process.pid}` : env.DATAPLANE_PORT}`,
  ) {
    this.#slots = Array.from({ length: env.DATAPLANE_WORKERS }, (_, index) => ({ index, worker: undefined }));
  }

  /** How long a draining worker may take before it is killed: the request grace, the stream grace, a margin. */
  get #drainLimitMs(): number {
    return 10_000 + this.env.DATAPLANE_STREAM_GRACE_MS + 2_000;
  }

  async start(): Promise<{ port: number; adminPort: number }> {
    // The admin port first: workers need to know it (an upstream pointing there is a loop), and it answers 503 until
    // every worker is ready.
    this.#admin = createServer((req, res) => {
      this.#handleAdmin(req, res).catch((error: unknown) => {
        this.logger.error({ err: error }, 'admin request failed');
        if (!res.headersSent) sendJson(res, 500, { error_code: 'GATEWAY_ERROR', message: 'admin request failed' });
        else res.destroy();
      });
    });
    this.#admin.listen(this.env.DATAPLANE_ADMIN_PORT, this.env.DATAPLANE_ADMIN_HOST);
    await once(this.#admin, 'listening');
    this.#adminPort = (this.#admin.address() as AddressInfo).port;
    cluster.on('message', (worker, message: unknown) => {
      if (!isWorkerMessage(message) || !('requestId' in message)) return;
      this.#pending.get(message.requestId)?.(message);
    });
    try {
      const workers = await Promise.all(this.#slots.map((slot) => this.#fork(slot.index)));
      workers.forEach((worker, index) => (this.#slots[index]!.worker = worker));
    } catch (error) {
      for (const worker of this.#live) worker.process.kill('SIGKILL');
      throw error;
    }
    return { port: this.#port, adminPort: this.#adminPort };
  }

  /**
   * Replaces every worker, one at a time: fork the new one, wait until it is ready (listening, config loaded), then
   * tell the old one to drain and wait for it to exit. A new worker that fails to start leaves the old one serving and
   * ends the restart (reported in the log).
   */
  restart(): Promise<void> {
    if (this.#restart !== undefined) {
      this.logger.warn('a rolling restart is already running; signal ignored');
      return this.#restart;
    }
    this.#restart = (async () => {
      this.logger.info({ workers: this.#slots.length }, 'rolling restart');
      for (const slot of this.#slots) {
        if (this.#shuttingDown) return;
        let replacement: Worker;
        try {
          replacement = await this.#fork(slot.index);
        } catch (error) {
          this.logger.error(
            { err: error, worker: slot.index },
            'replacement worker failed to start; the old one keeps serving',
          );
          return;
        }
        const old = slot.worker;
        slot.worker = replacement;
        if (this.#shuttingDown) return;
        if (old !== undefined) await this.#drain(old);
      }
      this.logger.info(
        { event: 'dataplane.restarted', pids: this.#slots.map((slot) => slot.worker?.process.pid) },
        'rolling restart done',
      );
    })().finally(() => (this.#restart = undefined));
    return this.#restart;
  }

  /** Drains every worker at once, then closes the admin port. */
  async stop(): Promise<void> {
    this.#shuttingDown = true;
    await Promise.all([...this.#live].map((worker) => this.#drain(worker)));
    if (this.#admin !== undefined) {
      const closed = once(this.#admin, 'close');
      this.#admin.close();
      this.#admin.closeAllConnections();
      await closed;
    }
  }

  /** Forks a worker for `index` and resolves once it is listening; rejects when it exits or times out first. */
  #fork(index: number): Promise<Worker> {
    const worker = cluster.fork();
    this.#live.add(worker);
    worker.on('exit', (code, signal) => this.#onExit(worker, index, code, signal));
    const start: PrimaryMessage = {
      type: 'gatehouse:start',
      index,
      dataplaneId: this.#slots.length === 1 ? this.dataplaneId : `${this.dataplaneId}/worker-${index}`,
      adminPort: this.#adminPort,
      writeLastKnownGood: index === 0,
    };
    worker.on('message', (message: unknown) => {
      if (isWorkerMessage(message) && message.type === 'gatehouse:hello') worker.send(start);
    });
    return new Promise<Worker>((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.process.kill('SIGKILL');
        reject(new Error(`worker ${index} was not ready within ${readyTimeoutMs} ms`));
      }, readyTimeoutMs);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`worker ${index} exited with ${code} before it was ready`));
      };
      worker.once('exit', onExit);
      worker.on('message', (message: unknown) => {
        if (!isWorkerMessage(message) || message.type !== 'gatehouse:ready') return;
        clearTimeout(timer);
        worker.off('exit', onExit);
        this.#port = message.port;
        // Shutdown began while it booted: it never serves a slot.
        if (this.#shuttingDown) void this.#drain(worker);
        resolve(worker);
      });
    });
  }

  async #drain(worker: Worker): Promise<void> {
    if (!this.#live.has(worker)) return;
    const exited = once(worker, 'exit');
    if (worker.isConnected()) worker.send({ type: 'gatehouse:drain' } satisfies PrimaryMessage);
    else worker.process.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<'limit'>((resolve) => (timer = setTimeout(() => resolve('limit'), this.#drainLimitMs)));
    if ((await Promise.race([exited, limit])) === 'limit') {
      this.logger.error({ pid: worker.process.pid }, 'worker did not finish draining; killed');
      worker.process.kill('SIGKILL');
      await exited;
    }
    clearTimeout(timer);
  }

  #onExit(worker: Worker, index: number, code: number | null, signal: string | null): void {
    this.#live.delete(worker);
    const slot = this.#slots[index]!;
    if (slot.worker !== worker) return;
    // The slot's serving worker died on its own: replace it (readiness is false until the replacement is ready).
    slot.worker = undefined;
    if (this.#shuttingDown) return;
    this.logger.error({ worker: index, pid: worker.process.pid, code, signal }, 'worker exited; starting a new one');
    const replace = (attempt: number) => {
      setTimeout(
        () => {
          if (this.#shuttingDown || slot.worker !== undefined) return;
          this.#fork(index).then(
            (replacement) => (slot.worker = replacement),
            (error: unknown) => {
              this.logger.error({ err: error, worker: index }, 'replacement worker failed to start');
              replace(attempt + 1);
            },
          );
        },
        Math.min(1_000 * 2 ** attempt, 30_000),
      ).unref();
    };
    replace(0);
  }

  #ask(worker: Worker | undefined, what: 'health'): Promise<Health | undefined>;
  #ask(worker: Worker | undefined, what: 'metrics'): Promise<Metrics | undefined>;
  #ask(worker: Worker | undefined, what: 'health' | 'metrics'): Promise<Health | Metrics | undefined> {
    if (worker === undefined || !worker.isConnected()) return Promise.resolve(undefined);
    const requestId = ++this.#requestIds;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        resolve(undefined);
      }, askTimeoutMs);
      this.#pending.set(requestId, (message) => {
        clearTimeout(timer);
        this.#pending.delete(requestId);
        if (message.type === 'gatehouse:health') resolve({ readiness: message.readiness, status: message.status });
        else if (message.type === 'gatehouse:metrics') resolve(message.metrics);
        else resolve(undefined);
      });
      worker.send({ type: 'gatehouse:report', requestId, what } satisfies PrimaryMessage);
    });
  }

  async #health(): Promise<{ slot: Slot; pid: number | undefined; health: Health | undefined }[]> {
    return Promise.all(
      this.#slots.map(async (slot) => ({
        slot,
        pid: slot.worker?.process.pid,
        health: await this.#ask(slot.worker, 'health'),
      })),
    );
  }

  async #handleAdmin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    switch (path) {
      case '/healthz':
        sendJson(res, 200, { status: 'ok' });
        return;
      case '/readyz': {
        const workers = await this.#health();
        // Ready only when every slot has a worker that says so: one worker without config (or not answering) would
        // fail every request the round-robin hands it.
        const ready = !this.#shuttingDown && workers.every(({ health }) => health?.readiness.ready === true);
        const reports = workers.flatMap(({ health }) => (health === undefined ? [] : [health.readiness]));
        sendJson(res, ready ? 200 : 503, {
          ready,
          draining: this.#shuttingDown,
          applied_revision: lowest(reports.map((report) => report.applied_revision)),
          endpoint_count: Math.max(0, ...reports.map((report) => report.endpoint_count)),
          failing_endpoints: unionById(reports.flatMap((report) => report.failing_endpoints)),
          workers: workers.map(({ slot, pid, health }) => ({
            index: slot.index,
            pid: pid ?? null,
            ready: health?.readiness.ready ?? false,
            applied_revision: health?.readiness.applied_revision ?? null,
          })),
        });
        return;
      }
      case '/status': {
        const workers = await this.#health();
        const statuses = workers.flatMap(({ health }) => (health === undefined ? [] : [health.status]));
        // The top-level fields describe the worker furthest behind (lowest revision), so a lagging worker is never
        // hidden behind a healthy one; `workers` lists each.
        const behind = statuses.reduce<StatusReport | undefined>(
          (worst, status) => (worst === undefined || status.applied_revision < worst.applied_revision ? status : worst),
          undefined,
        );
        const allAnswered = statuses.length === this.#slots.length;
        sendJson(res, 200, {
          ...behind,
          id: this.dataplaneId,
          started_at: this.#startedAt.toISOString(),
          ready: allAnswered && statuses.every((status) => status.ready),
          synced_with_api: allAnswered && statuses.every((status) => status.synced_with_api),
          config_conflicts: {
            count: statuses.reduce((total, status) => total + status.config_conflicts.count, 0),
            last: behind?.config_conflicts.last ?? null,
          },
          draining: this.#shuttingDown,
          restarting: this.#restart !== undefined,
          workers: workers.map(({ slot, pid, health }) => ({
            index: slot.index,
            pid: pid ?? null,
            answered: health !== undefined,
            ...health?.status,
          })),
        });
        return;
      }
      case '/metrics': {
        const all = await Promise.all(this.#slots.map((slot) => this.#ask(slot.worker, 'metrics')));
        // Counters and histograms are summed over the workers; gauges say how they merge (metrics.ts).
        const registry = AggregatorRegistry.aggregate(all.filter((metrics) => metrics !== undefined));
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(await registry.metrics());
        return;
      }
      default:
        sendJson(res, 404, { error_code: 'NOT_FOUND', message: 'admin routes: /healthz, /readyz, /status, /metrics' });
    }
  }
}

function lowest(values: number[]): number | null {
  return values.length === 0 ? null : Math.min(...values);
}

function unionById<T extends { id: string }>(items: T[]): T[] {
  return [...new Map(items.map((item) => [item.id, item])).values()];
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
