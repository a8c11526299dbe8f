import type { ConfigChangeEvent } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import type { ChangeFeed, ConfigApi } from './config-source.js';
import type { ConfigStore } from './config-store.js';
import { readLastKnownGood } from './last-known-good.js';

export interface ConfigSyncOptions {
  dataplaneId: string;
  hostname: string;
  version: string;
  /**
   * Fixed heartbeat spacing; undefined follows the API's `heartbeat_interval_seconds` (30 s until the first answer).
   */
  heartbeatIntervalMs: number | undefined;
  /** Directory of the last-known-good snapshot; undefined to boot without one (embedded shape, tests). */
  dataDirectory: string | undefined;
  /** First retry delay when the API cannot be reached; doubles up to 30 s. */
  retryDelayMs?: number;
}

/**
 * Keeps the ConfigStore in step with the control plane (DESIGN.md §6):
 * 1. boot from the last-known-good file, so traffic flows even when the API is down;
 * 2. subscribe to the change feed before fetching, so nothing published during the fetch is lost;
 * 3. fetch the snapshot (If-None-Match the one we have), retrying with backoff while the API is unreachable;
 * 4. apply feed changes in revision order; a gap (revision > applied + 1) fetches `changes?since=applied`, and a 410
 *    there falls back to a full snapshot;
 * 5. heartbeat the applied revision; an answer naming a newer revision catches up (pub/sub can drop messages), and
 *    its `heartbeat_interval_seconds` sets the next heartbeat unless the interval is configured.
 * Every step runs on one serial queue, so two catch-ups never interleave and changes apply strictly in order.
 */
export class ConfigSync {
  #queue: Promise<void> = Promise.resolve();
  #heartbeatTimer: NodeJS.Timeout | undefined;
  /** Next heartbeat spacing: the configured one, else the API's last suggestion. */
  #heartbeatIntervalMs: number;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelayMs: number;
  #synced = false;
  #stopped = false;
  #lastSyncError: string | null = null;
  #lastHeartbeatAt: Date | null = null;
  #feedState: 'none' | 'connecting' | 'subscribed' | 'disconnected';

  constructor(
    private readonly store: ConfigStore,
    private readonly api: ConfigApi,
    private readonly feed: ChangeFeed | undefined,
    private readonly options: ConfigSyncOptions,
    private readonly logger: Logger,
  ) {
    this.#retryDelayMs = options.retryDelayMs ?? 500;
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? 30_000;
    this.#feedState = feed === undefined ? 'none' : 'connecting';
  }

  /** Whether pushed changes are flowing: /status reports it. */
  get feedState(): 'none' | 'connecting' | 'subscribed' | 'disconnected' {
    return this.#feedState;
  }

  /** True once the API answered at least once (the config is then at least as new as that answer). */
  get synced(): boolean {
    return this.#synced;
  }

  get lastSyncError(): string | null {
    return this.#lastSyncError;
  }

  get lastHeartbeatAt(): Date | null {
    return this.#lastHeartbeatAt;
  }

  /** Resolves after the last-known-good file is loaded and the first API sync was attempted (it retries on its own). */
  async start(): Promise<void> {
    if (this.options.dataDirectory !== undefined) {
      try {
        const stored = await readLastKnownGood(this.options.dataDirectory);
        if (stored !== undefined) {
          await this.store.loadSnapshot(stored.snapshot, stored.etag, false);
          this.logger.info(
            { revision: stored.snapshot.revision, endpoints: stored.snapshot.endpoints.length },
            'loaded the last-known-good config',
          );
        }
      } catch (error) {
        this.logger.error({ err: error }, 'the last-known-good config could not be read; starting without it');
      }
    }
    this.feed?.start({
      onChange: (change) => void this.#enqueue(() => this.#receive(change)),
      onSubscribed: () => {
        this.#feedState = 'subscribed';
        void this.#enqueue(() => this.#catchUp());
      },
      onDisconnected: () => {
        if (this.#stopped) return;
        if (this.#feedState === 'subscribed')
          this.logger.warn('config change feed disconnected; heartbeats keep catching up until it returns');
        this.#feedState = 'disconnected';
      },
      onError: (error) => this.logger.warn({ err: error }, 'config change feed problem'),
    });
    await this.#enqueue(() => this.#initialSync());
    // Report at once, so the fleet view shows this data plane now rather than one interval later.
    void this.heartbeat().finally(() => this.#scheduleHeartbeat());
  }

  /** The spacing heartbeats use now (the API may change it when none is configured). */
  get heartbeatIntervalMs(): number {
    return this.#heartbeatIntervalMs;
  }

  #scheduleHeartbeat(): void {
    if (this.#stopped) return;
    clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = setTimeout(
      () => void this.heartbeat().finally(() => this.#scheduleHeartbeat()),
      this.#heartbeatIntervalMs,
    );
    this.#heartbeatTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#heartbeatTimer);
    clearTimeout(this.#retryTimer);
    await this.feed?.stop();
    await this.#queue;
  }

  /** Resolves when every sync step queued so far has run (tests and embedding code use it to wait for quiet). */
  async settled(): Promise<void> {
    let tail: Promise<void>;
    do {
      tail = this.#queue;
      await tail;
    } while (tail !== this.#queue);
  }

  /** Reports the applied revision; catches up when the API names a newer one. Never throws. */
  async heartbeat(): Promise<void> {
    const config = this.store.current;
    try {
      const answer = await this.api.heartbeat({
        id: this.options.dataplaneId,
        hostname: this.options.hostname,
        version: this.options.version,
        applied_revision: config.revision,
        last_error: this.store.lastError?.slice(0, 4096) ?? null,
      });
      this.#lastHeartbeatAt = new Date();
      if (this.options.heartbeatIntervalMs === undefined)
        this.#heartbeatIntervalMs = Math.min(answer.heartbeat_interval_seconds, 3_600) * 1000;
      if (answer.revision > this.store.appliedRevision) {
        this.logger.info(
          { applied: this.store.appliedRevision, newest: answer.revision },
          'heartbeat: behind the control plane, catching up',
        );
        await this.#enqueue(() => this.#catchUp());
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'heartbeat failed');
    }
  }

  /** Runs `task` after everything queued before it; a failing task is logged and never blocks the queue. */
  #enqueue(task: () => Promise<void> | void): Promise<void> {
    const run = this.#queue.then(async () => {
      if (this.#stopped) return;
      try {
        await task();
      } catch (error) {
        this.logger.error({ err: error }, 'config sync step failed');
      }
    });
    this.#queue = run;
    return run;
  }

  #receive(change: ConfigChangeEvent): Promise<void> | void {
    const applied = this.store.appliedRevision;
    if (change.revision <= applied) return;
    // The hot path of propagation: the next revision applies straight from the message. Changes carry the full new
    // state, so this is safe on top of the last-known-good config too, while the API is still unreachable.
    if (this.store.loaded && change.revision === applied + 1) {
      this.store.applyChanges([change]);
      return;
    }
    this.logger.info({ applied, received: change.revision }, 'config change gap; fetching the missing changes');
    return this.#synced ? this.#catchUp() : this.#initialSync();
  }

  async #initialSync(): Promise<void> {
    if (this.#synced) return;
    try {
      const result = await this.api.fetchSnapshot(this.store.loaded ? this.store.etag : null);
      if (result.kind === 'snapshot') await this.store.loadSnapshot(result.snapshot, result.etag);
      this.#markSynced();
      this.logger.info(
        {
          revision: this.store.appliedRevision,
          endpoints: this.store.current.endpointsById.size,
          notModified: result.kind === 'not-modified',
        },
        'config synced with the control plane',
      );
      // Changes committed after the snapshot was taken but published before we subscribed are fetched here.
      await this.#catchUp();
    } catch (error) {
      this.#syncFailed(error);
    }
  }

  /** Fetches every change after the applied revision; 410 → full snapshot. Pages while the API answers `has_more`. */
  async #catchUp(): Promise<void> {
    if (!this.#synced) return this.#initialSync();
    try {
      for (let page = 0; page < 1_000; page++) {
        const applied = this.store.appliedRevision;
        const result = await this.api.fetchChanges(applied);
        if (result.kind === 'gone') {
          this.logger.info({ applied }, 'changes since the applied revision are gone; taking a full snapshot');
          const snapshot = await this.api.fetchSnapshot(null);
          if (snapshot.kind === 'snapshot') await this.store.loadSnapshot(snapshot.snapshot, snapshot.etag);
          break;
        }
        const { changes, has_more: hasMore } = result.response;
        const next = changes
          .filter((change) => change.revision > applied)
          .sort((left, right) => left.revision - right.revision);
        if (next.length > 0) this.store.applyChanges(next);
        // Paged answers: ask again (since = the last applied revision) while the API says more follow.
        if (!hasMore || next.length === 0) break;
      }
      this.#markSynced();
    } catch (error) {
      this.#syncFailed(error);
    }
  }

  #markSynced(): void {
    this.#synced = true;
    this.#lastSyncError = null;
    this.#retryDelayMs = this.options.retryDelayMs ?? 500;
  }

  #syncFailed(error: unknown): void {
    this.#lastSyncError = error instanceof Error ? error.message : String(error);
    this.logger.warn(
      { err: error, retryInMs: this.#retryDelayMs, serving: this.store.loaded ? this.store.appliedRevision : null },
      'config sync with the control plane failed; retrying',
    );
    if (this.#stopped || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#enqueue(() => this.#catchUp());
    }, this.#retryDelayMs);
    this.#retryTimer.unref();
    this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, 30_000);
  }
}
