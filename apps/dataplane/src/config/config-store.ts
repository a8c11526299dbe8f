import type { ConfigChangeEvent, ConfigSnapshot } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import type { LastKnownGoodWriter } from './last-known-good.js';
import {
  applyChanges,
  applySnapshot,
  applySnapshotWhileServing,
  CompiledPolicyCache,
  compileDeferred,
  emptyRuntimeConfig,
  type ApplyResult,
  type RuntimeConfig,
  type SharedPorts,
} from './runtime-config.js';

export interface ConfigStoreEvents {
  /** After every swap, with how long building the new config took; metrics read revision and counts from here. */
  onSwap?(config: RuntimeConfig, buildSeconds: number): void;
  /** A change that could not be applied as sent (the previous config for that endpoint keeps running). */
  onApplyError?(message: string): void;
  /**
   * After work that touched every endpoint (a whole snapshot applied, the background compile pass finished): the
   * data plane collects the garbage it left once things are quiet (`settle-collection.ts`). Not after changes.
   */
  onBulkWork?(): void;
}

/** How long after a last-known-good boot's listen the background compile waits, so the first requests go first. */
const deferredCompileDelayMs = 250;

/**
 * Holds the running config. `current` is the one reference the request path reads; every update builds the next
 * config off to the side (`runtime-config.ts`) and replaces it with one assignment, then schedules the
 * last-known-good write. Requests that already read the old value finish on it.
 */
export class ConfigStore {
  #current: RuntimeConfig;
  #loaded = false;
  #etag: string | null = null;
  /** The background compile of a last-known-good boot (see `loadSnapshot`). */
  #compiling: Promise<void> = Promise.resolve();
  /** True from a last-known-good load until `startDeferredCompile` (or `compiled`) starts the background pass. */
  #compilePending = false;
  /** Ends the wait before the background pass early (`compiled`). */
  #wakeCompile: (() => void) | undefined;
  /** Compiled policies by (endpoint type, sha256), shared by every build of this store; at most `compiledPolicies`. */
  readonly #policies: CompiledPolicyCache;

  constructor(
    private readonly shared: SharedPorts,
    private readonly logger: Logger,
    private readonly writer: LastKnownGoodWriter | undefined,
    private readonly events: ConfigStoreEvents = {},
    compiledPolicies?: number,
  ) {
    this.#current = emptyRuntimeConfig(shared);
    this.#policies = new CompiledPolicyCache(compiledPolicies);
  }

  /** The compiled-policy cache, for its metrics (resident count, compiles on read). */
  get policies(): CompiledPolicyCache {
    return this.#policies;
  }

  get current(): RuntimeConfig {
    return this.#current;
  }

  /** True once any config (last-known-good or from the API) is loaded: /readyz. */
  get loaded(): boolean {
    return this.#loaded;
  }

  get appliedRevision(): number {
    return this.#current.revision;
  }

  get etag(): string | null {
    return this.#etag;
  }

  /** The newest endpoint failure still in effect, for heartbeats and /status; null when everything runs as sent. */
  get lastError(): string | null {
    let last: string | null = null;
    for (const message of this.#current.failures.values()) last = message;
    return last;
  }

  /**
   * Replaces the whole config. `persist` is false when the snapshot came from the last-known-good file itself. Once a
   * config is loaded (traffic is flowing), compiling yields to requests between slices; the swap is still one step.
   */
  async loadSnapshot(snapshot: ConfigSnapshot, etag: string | null, persist = true): Promise<void> {
    const started = performance.now();
    // Booting from the last-known-good file (nothing loaded, nothing to persist): its policies compiled when they were
    // stored, so routing is built now and each policy compiles on first use, then all of them in the background once
    // the boot is through (`startDeferredCompile`).
    const deferCompile = !this.#loaded && !persist;
    const result = this.#loaded
      ? await applySnapshotWhileServing(this.#current, snapshot, this.shared, this.#policies)
      : applySnapshot(this.#current, snapshot, this.shared, this.#policies, { deferCompile });
    this.#etag = etag;
    this.#swap(result, persist, started, 'snapshot');
    // The background pass is bulk work too (`startDeferredCompile`): its garbage is collected once it is over.
    if (deferCompile) this.#compilePending = true;
    else this.events.onBulkWork?.();
  }

  /**
   * Starts the background compile of a last-known-good boot, `deferredCompileDelayMs` from now (no-op otherwise, or
   * when it already started). ConfigSync calls it once the boot's first API sync was attempted, right before the data
   * plane listens. Run from the load on, its 10 ms slices held each step of that sync behind them (≈70 ms to /readyz
   * at 10,000 endpoints); run from the listen on, its first slice (the engine's first compile, cold: tens of ms) held
   * the first probes and requests. Until it runs, a request compiles the one policy it needs, as it would anyway.
   */
  startDeferredCompile(): void {
    if (!this.#compilePending) return;
    this.#compilePending = false;
    this.#compiling = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, deferredCompileDelayMs);
      // Never keeps a process alive on its own (one stopping right after its boot).
      timer.unref();
      this.#wakeCompile = () => {
        clearTimeout(timer);
        resolve();
      };
    })
      .then(() => {
        this.#wakeCompile = undefined;
        return this.#compileDeferred();
      })
      .finally(() => this.events.onBulkWork?.());
  }

  /** Resolves once no endpoint waits for its deferred compile (tests, and the bench's boot measure); starts it now. */
  async compiled(): Promise<void> {
    this.startDeferredCompile();
    this.#wakeCompile?.();
    await this.#compiling;
  }

  /**
   * Replaces the deferred endpoints with checked ones (each compiled once; the cache keeps the compiled form only while
   * it has room), yielding to requests between slices. A change swapped in
   * meanwhile wins: the pass starts again from it (compiled policies are cached, so nothing compiles twice).
   */
  async #compileDeferred(): Promise<void> {
    for (;;) {
      const from = this.#current;
      const started = performance.now();
      let result: ApplyResult | undefined;
      try {
        result = await compileDeferred(from, this.shared, this.#policies);
      } catch (error) {
        this.logger.error({ err: error }, 'compiling the last-known-good policies failed; they compile on first use');
        return;
      }
      if (result === undefined) return;
      if (this.#current !== from) continue;
      this.#swap(result, false, started, 'snapshot');
      return;
    }
  }

  /** Applies changes that follow on from the applied revision (the caller checked there is no gap). */
  applyChanges(changes: readonly ConfigChangeEvent[]): void {
    const started = performance.now();
    // The snapshot ETag no longer describes what runs once a change is applied on top of it.
    this.#etag = null;
    this.#swap(applyChanges(this.#current, changes, this.shared, this.#policies), true, started, 'changes');
  }

  /** Resolves when the last-known-good file holds the current config. */
  async flush(): Promise<void> {
    await this.writer?.flush();
  }

  #swap({ config, errors }: ApplyResult, persist: boolean, started: number, source: 'snapshot' | 'changes'): void {
    const buildSeconds = (performance.now() - started) / 1000;
    this.#current = config;
    this.#loaded = true;
    this.logger.info(
      {
        revision: config.revision,
        endpoints: config.endpointsById.size,
        source,
        buildMs: Math.round(buildSeconds * 1000),
      },
      'config applied',
    );
    for (const message of errors) {
      this.logger.error({ revision: config.revision }, `config change rejected: ${message}`);
      this.events.onApplyError?.(message);
    }
    this.events.onSwap?.(config, buildSeconds);
    if (persist) this.writer?.schedule(config, this.#etag);
  }
}
