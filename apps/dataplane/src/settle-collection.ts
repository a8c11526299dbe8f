import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * One full garbage collection once a bulk piece of work (a whole snapshot applied, the background compile pass after
 * a last-known-good boot, the last-known-good write that follows) has settled. Why: that work leaves its garbage (the
 * parsed snapshot, 10,000 compile passes of which at most `DATAPLANE_COMPILED_POLICIES` are kept, the file's encoded
 * slices) in an old space grown for it and a young generation grown to its 32 MB maximum, and a data plane with no
 * traffic after it allocates too little for V8 to collect either: with 10,000 endpoints 194–210 MB stayed resident
 * for as long as it idled (65 MB of it live heap). A full GC once allocation is quiet frees the garbage and lets V8
 * shrink the young generation (it only shrinks it at a GC while allocation throughput is low), ≈60 MB less RSS. It
 * costs a stop-the-world pause (≈50–80 ms with 65 MB live, at a load of 10) per bulk load, plus at most two more
 * while the young generation has not shrunk yet; never per change, and none while traffic flows (V8 collects on its
 * own then): the young generation grows back as requests need it.
 */
export interface SettleCollection {
  /** (Re)starts the quiet period; the collection runs once no bulk work was reported for `quietMs`. */
  schedule(): void;
  stop(): void;
}

/**
 * V8's collector as a function, without starting node with --expose-gc: the flag is set just long enough to create a
 * context that has `gc`, then cleared, so no other context (user code, the embedded API) gets the global.
 */
function collector(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** The young generation's capacity (both semi-spaces), bytes. */
function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * `quietMs` after the last bulk work, one full GC. V8 shrinks the young generation only at a GC that follows ≥5 s of
 * low (but not zero) allocation, which the first one rarely does (the bulk work's last scavenge was moments before),
 * so while the young generation is still above `youngBytes` another GC follows `shrinkAfterMs` later, at most
 * `shrinkAttempts` times (under steady traffic it never shrinks, and should not).
 */
export function createSettleCollection(
  options: {
    quietMs: number;
    shrinkAfterMs: number;
    youngBytes: number;
    shrinkAttempts: number;
    /**
     * Above this rate of requests since the collection was armed, it does not run (nor try again): traffic makes V8
     * collect on its own and needs the young generation it has, and a forced pause would only cost (measured: forward-
     * only under wrk, CPU µs/request +8% with the collections running mid-load).
     */
    busyRequestsPerSecond: number;
  },
  hooks: { requests: () => number; onCollected?: (ms: number, youngBytes: number) => void },
): SettleCollection {
  let gc: (() => void) | null | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let armedAt = 0;
  let requestsWhenArmed = 0;
  const collect = (attemptsLeft: number) => {
    timer = undefined;
    const seconds = (performance.now() - armedAt) / 1000;
    if (hooks.requests() - requestsWhenArmed > options.busyRequestsPerSecond * seconds) return;
    if (gc === undefined) gc = collector() ?? null;
    if (gc === null) return;
    const started = performance.now();
    gc();
    const young = youngGenerationBytes();
    hooks.onCollected?.(performance.now() - started, young);
    if (attemptsLeft > 0 && young > options.youngBytes) start(options.shrinkAfterMs, attemptsLeft - 1);
  };
  const start = (delayMs: number, attemptsLeft: number) => {
    if (timer !== undefined) clearTimeout(timer);
    armedAt = performance.now();
    requestsWhenArmed = hooks.requests();
    timer = setTimeout(collect, delayMs, attemptsLeft);
    // Never what keeps the process alive.
    timer.unref();
  };
  return {
    schedule() {
      if (!stopped) start(options.quietMs, options.shrinkAttempts);
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
