import {
  MAX_RULE_COUNTERS_PER_HEARTBEAT,
  type AgentDataplane,
  type ConfigChangeEvent,
  type ConfigSnapshot,
  type DataplaneRequestEvents,
  type DataplaneTraffic,
  type RuleCounterDelta,
} from '@gatehouse/contracts';
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
  /** Where this data plane takes traffic, sent with every heartbeat; undefined while not known (port 0 before listening). */
  traffic?: () => DataplaneTraffic | undefined;
  /** Directory of the last-known-good snapshot; undefined to boot without one (embedded shape, tests). */
  dataDirectory: string | undefined;
  /** First retry delay when the API cannot be reached; doubles up to 30 s. */
  retryDelayMs?: number;
  /**
   * With a last-known-good config loaded, how long the boot waits for the first API sync before serving on it
   * (default 1 s); the sync goes on in the background and swaps its answer in when it arrives. Without one the boot
   * waits for the sync's own outcome: there is nothing to serve.
   */
  bootSyncWaitMs?: number;
  /** A revision was seen with two different contents (a forged or corrupted message, or a rewritten history). */
  onConflict?(conflict: ConfigConflict): void;
  /** The agent sessions this data plane holds a tunnel of, reported with every heartbeat. */
  agentSessions?(): string[];
  /** The heartbeat answer's list of live data planes (agents are told to connect to each). */
  onAgentDataplanes?(dataplanes: AgentDataplane[]): void;
  /**
   * An applied `agent_session.ended` change, or a heartbeat answer naming a listed session the control plane no
   * longer has live: that session's tunnels close at once.
   */
  onAgentSessionEnded?(sessionId: string): void;
  /**
   * Per-rule counters (rule-counters.ts): drained into every heartbeat, handed back when the heartbeat fails. The
   * heartbeat is already a periodic, authenticated call per data plane, so shipping them costs no extra request.
   */
  ruleCounters?: {
    drain(limit: number): RuleCounterDelta[];
    restore(deltas: readonly RuleCounterDelta[]): void;
  };
  /** The request-event pipeline's counters, sent with every heartbeat; undefined when events go to no queue. */
  requestEvents?(): DataplaneRequestEvents | undefined;
}

export interface ConfigConflict {
  revision: number;
  /** Where the disagreeing content came from: the change feed (pub/sub) or the API's change listing. */
  source: 'change-feed' | 'api';
  message: string;
  at: Date;
}

/** Digests of this many recently applied revisions are kept to compare doorbells against. */
const REMEMBERED_REVISIONS = 1_024;
/** How soon after a config swap the applied revision is reported, so the fleet view shows the current lag. */
const PROMPT_HEARTBEAT_DELAY_MS = 50;
/**
 * A control plane that refuses connections fails the first sync at once, but one that accepts them and never answers
 * (hung, overloaded, a black-holed route) held the boot for the whole API timeout (10 s) while a valid last-known-good
 * config sat loaded. A healthy API answers the boot's revalidation (304) in milliseconds and a 10,000-endpoint snapshot
 * well inside this, so only a sick control plane is cut short.
 */
const DEFAULT_BOOT_SYNC_WAIT_MS = 1_000;

/** Whether `work` settled within `ms` (it goes on either way). */
async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(settled, settled), elapsed]);
  } finally {
    clearTimeout(timer);
  }
}

function settled(): boolean {
  return true;
}
/** Prompt heartbeats are at least this far apart: a burst of changes costs the API one write per second per data plane. */
const PROMPT_HEARTBEAT_SPACING_MS = 1_000;
/** How long a conflict stays in the heartbeat's last_error (and so in /api/dataplanes) after it was seen. */
const CONFLICT_REPORT_MS = 15 * 60 * 1000;

/**
 * What a change says, without its timestamp: the pub/sub copy and the API's listing of one revision come from the
 * same outbox row, so any difference is an alarm. Both were parsed by the same zod schema, so keys are in one order.
 */
function digestOf(change: ConfigChangeEvent): string {
  // Sealed secrets are added by the API when it serves a change (fresh nonces each time) and never ride pub/sub.
  const policy = change.endpoint?.policy;
  const endpoint =
    policy?.secrets === undefined
      ? change.endpoint
      : { ...change.endpoint!, policy: { ...policy, secrets: undefined } };
  return JSON.stringify([change.kind, change.entity_id, endpoint, change.ip_category]);
}

/**
 * Keeps the ConfigStore in step with the control plane (DESIGN.md §6):
 * 1. boot from the last-known-good file, so traffic flows even when the API is down;
 * 2. subscribe to the change feed before fetching, so nothing published during the fetch is lost;
 * 3. fetch the snapshot (If-None-Match the one we have), retrying with backoff while the API is unreachable;
 * 4. treat the feed as a doorbell only: a message never changes the config by itself (anything with Redis access can
 *    publish one). It makes the data plane fetch `changes?since=applied` from the authenticated API (a 410 there falls
 *    back to a full snapshot), so no message can skip or consume a committed revision. A message whose content
 *    differs from what the API says for the same revision is a conflict: logged, counted and shown on /status;
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
  /** Null until the first heartbeat answered or failed; then the last outcome. */
  #lastHeartbeatError: string | null | undefined;
  /** A catch-up is queued and has not started: further doorbells need no other one. */
  #catchUpQueued = false;
  /** Content digests of recently applied revisions (from the API), to compare doorbells with. */
  readonly #applied = new Map<number, string>();
  /** Doorbells announcing revisions not applied yet: compared with the API's content once it is applied. */
  readonly #claims = new Map<number, string>();
  #conflicts = 0;
  #lastConflict: ConfigConflict | null = null;
  #promptHeartbeat: NodeJS.Timeout | undefined;
  /** Set once start() sends its first heartbeat: swaps before that are reported by it. */
  #reporting = false;
  #lastPromptAt = 0;

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

  /**
   * True while the data plane is in contact with the control plane: it synced once, its last catch-up succeeded and
   * its last heartbeat was answered. /status reports it as `synced_with_api`.
   */
  get inSync(): boolean {
    return this.#synced && this.#lastSyncError === null && (this.#lastHeartbeatError ?? null) === null;
  }

  /** Why the last heartbeat failed; null when it was answered (or none was sent yet). */
  get lastHeartbeatError(): string | null {
    return this.#lastHeartbeatError ?? null;
  }

  get conflictCount(): number {
    return this.#conflicts;
  }

  get lastConflict(): ConfigConflict | null {
    return this.#lastConflict;
  }

  /**
   * Reports the applied revision soon (coalesced): called after every config swap, so `/api/dataplanes` shows the
   * lag as it is now rather than as of the last periodic heartbeat.
   */
  reportSoon(): void {
    if (this.#stopped || !this.#reporting || this.#promptHeartbeat !== undefined) return;
    const spacing = PROMPT_HEARTBEAT_SPACING_MS - (Date.now() - this.#lastPromptAt);
    this.#promptHeartbeat = setTimeout(
      () => {
        this.#promptHeartbeat = undefined;
        this.#lastPromptAt = Date.now();
        void this.heartbeat();
      },
      Math.max(PROMPT_HEARTBEAT_DELAY_MS, spacing),
    );
    this.#promptHeartbeat.unref();
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
      onChange: (change) => this.#ring(change),
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
    const initialSync = this.#enqueue(() => this.#initialSync());
    if (!this.store.loaded) await initialSync;
    else {
      const waitMs = this.options.bootSyncWaitMs ?? DEFAULT_BOOT_SYNC_WAIT_MS;
      if (!(await settledWithin(initialSync, waitMs)))
        this.logger.warn(
          { waitedMs: waitMs, revision: this.store.appliedRevision },
          'the control plane has not answered the first config sync; serving the last-known-good config meanwhile',
        );
    }
    // The boot is through (the data plane listens next): policies deferred by a last-known-good load compile now.
    this.store.startDeferredCompile();
    // Report at once, so the fleet view shows this data plane now rather than one interval later.
    this.#reporting = true;
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
    clearTimeout(this.#promptHeartbeat);
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
    const traffic = this.options.traffic?.();
    const requestEvents = this.options.requestEvents?.();
    const ruleCounters = this.options.ruleCounters?.drain(MAX_RULE_COUNTERS_PER_HEARTBEAT) ?? [];
    try {
      const answer = await this.api.heartbeat({
        id: this.options.dataplaneId,
        hostname: this.options.hostname,
        version: this.options.version,
        applied_revision: config.revision,
        last_error: this.#reportedError()?.slice(0, 4096) ?? null,
        ...(traffic === undefined ? {} : { traffic }),
        ...(this.options.agentSessions === undefined ? {} : { agent_sessions: this.options.agentSessions() }),
        ...(ruleCounters.length === 0 ? {} : { rule_counters: ruleCounters }),
        ...(requestEvents === undefined ? {} : { request_events: requestEvents }),
      });
      this.options.onAgentDataplanes?.(answer.agent_dataplanes);
      for (const sessionId of answer.ended_agent_sessions) this.options.onAgentSessionEnded?.(sessionId);
      this.#lastHeartbeatAt = new Date();
      this.#lastHeartbeatError = null;
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
      // The API may or may not have stored them; counting them again is the smaller error than losing them.
      this.options.ruleCounters?.restore(ruleCounters);
      this.#lastHeartbeatError = error instanceof Error ? error.message : String(error);
      this.logger.warn({ err: error }, 'heartbeat failed');
    }
  }

  /** The endpoint failure in effect, else a conflict seen recently: what the fleet view shows as last_error. */
  #reportedError(): string | null {
    const failure = this.store.lastError;
    if (failure !== null) return failure;
    const conflict = this.#lastConflict;
    if (conflict !== null && Date.now() - conflict.at.getTime() < CONFLICT_REPORT_MS) return conflict.message;
    return null;
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

  /**
   * A message on the change feed: a doorbell. Its content is only compared with what the API says for the same
   * revision; the config changes only through `#catchUp`, which asks the authenticated API.
   */
  #ring(change: ConfigChangeEvent): void {
    const digest = digestOf(change);
    const applied = this.#applied.get(change.revision);
    if (applied !== undefined) {
      if (applied !== digest) this.#conflict(change.revision, 'change-feed');
      return;
    }
    if (change.revision <= this.store.appliedRevision) return;
    const claimed = this.#claims.get(change.revision);
    if (claimed !== undefined && claimed !== digest) this.#conflict(change.revision, 'change-feed');
    this.#claims.set(change.revision, digest);
    while (this.#claims.size > REMEMBERED_REVISIONS) this.#claims.delete(this.#claims.keys().next().value!);
    if (this.#catchUpQueued) return;
    this.#catchUpQueued = true;
    void this.#enqueue(() => {
      this.#catchUpQueued = false;
      return this.#synced ? this.#catchUp() : this.#initialSync();
    });
  }

  /** Applies changes fetched from the API and checks them against the doorbells that announced them. */
  #applyFetched(changes: readonly ConfigChangeEvent[]): void {
    this.store.applyChanges(changes);
    for (const change of changes) {
      if (change.kind === 'agent_session.ended') this.options.onAgentSessionEnded?.(change.entity_id);
      const digest = digestOf(change);
      const claimed = this.#claims.get(change.revision);
      this.#claims.delete(change.revision);
      if (claimed !== undefined && claimed !== digest) this.#conflict(change.revision, 'change-feed');
      this.#applied.set(change.revision, digest);
    }
    while (this.#applied.size > REMEMBERED_REVISIONS) this.#applied.delete(this.#applied.keys().next().value!);
    // Claims for revisions now applied but never listed (e.g. covered by a snapshot) cannot be checked any more.
    for (const revision of this.#claims.keys())
      if (revision <= this.store.appliedRevision) this.#claims.delete(revision);
  }

  /** Two contents for one revision: never a skip, always an alarm (log, metric, /status, heartbeat last_error). */
  #conflict(revision: number, source: ConfigConflict['source']): void {
    const message = `config revision ${revision} arrived with content that differs from the control plane's (from the ${source}); the control plane's content is applied — a forged or corrupted change message?`;
    this.#conflicts += 1;
    this.#lastConflict = { revision, source, message, at: new Date() };
    this.logger.error({ revision, source }, message);
    this.options.onConflict?.(this.#lastConflict);
  }

  async #initialSync(): Promise<void> {
    if (this.#synced) return;
    try {
      const result = await this.api.fetchSnapshot(this.store.loaded ? this.store.etag : null);
      if (result.kind === 'snapshot') await this.#loadSnapshot(result.snapshot, result.etag);
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
          if (snapshot.kind === 'snapshot') await this.#loadSnapshot(snapshot.snapshot, snapshot.etag);
          break;
        }
        const { changes, has_more: hasMore } = result.response;
        const next = changes
          .filter((change) => change.revision > applied)
          .sort((left, right) => left.revision - right.revision);
        if (next.length > 0) this.#applyFetched(next);
        // Paged answers: ask again (since = the last applied revision) while the API says more follow.
        if (!hasMore || next.length === 0) break;
      }
      this.#markSynced();
    } catch (error) {
      this.#syncFailed(error);
    }
  }

  /** A snapshot carries no per-revision content: the remembered digests no longer describe what runs. */
  async #loadSnapshot(snapshot: ConfigSnapshot, etag: string | null): Promise<void> {
    await this.store.loadSnapshot(snapshot, etag);
    this.#applied.clear();
    for (const revision of this.#claims.keys()) if (revision <= snapshot.revision) this.#claims.delete(revision);
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
