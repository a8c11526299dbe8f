import type { Http2Session } from 'node:http2';

/**
 * Why node:http2's own stream tables get replaced (replaceStreamTables below).
 *
 * A session keeps its streams in a Map (id → stream) and the client streams waiting for an id in a Set. Every
 * stream passes through both. V8 keeps a Map's or Set's replaced hash tables linked to their successors (live
 * iterators follow the links), and once the current table is in the old generation — after any full collection, or
 * an idle spell — every scavenge treats the dead tables behind it as live, and with them every stream they ever held.
 * Under load that promoted each closed stream (and whatever it still referenced) to the old generation, to be freed
 * only by the next full collection: measured through the tunnel at 50 connections, up to 250 MB promoted in 8 s in
 * the data plane and 170 MB in the agent, in runs where the table happened to be old, and none where it did not.
 *
 * The replacements keep their entries in plain arrays: a removed entry's slot is cleared at once and no storage is
 * ever linked to its successor, so a closed stream is garbage as soon as node lets go of it.
 */

/**
 * Map<number, V> for positive integer keys (HTTP/2 stream ids): open addressing with linear probing and backward-shift
 * deletion, so no tombstones and no stale references. Implements the Map methods node:http2 calls (get, set, delete,
 * size, forEach) and the rest of Map's reading API, in insertion-independent (slot) order.
 */
export class StreamIdTable<V> {
  /** 0 marks an empty slot: stream ids start at 1. */
  #keys: number[] = [];
  #values: (V | undefined)[] = [];
  #mask = 0;
  #size = 0;

  constructor() {
    this.#allocate(16);
  }

  get size(): number {
    return this.#size;
  }

  get(key: number): V | undefined {
    const index = this.#slot(key);
    return index >= 0 && this.#keys[index] === key ? this.#values[index] : undefined;
  }

  has(key: number): boolean {
    const index = this.#slot(key);
    return index >= 0 && this.#keys[index] === key;
  }

  set(key: number, value: V): this {
    if (!Number.isSafeInteger(key) || key <= 0) throw new RangeError(`not a stream id: ${String(key)}`);
    let index = this.#slot(key);
    if (this.#keys[index] !== key) {
      // At most half full: probes stay short, and an empty slot always ends a probe.
      if ((this.#size + 1) * 2 > this.#keys.length) {
        this.#grow();
        index = this.#slot(key);
      }
      this.#keys[index] = key;
      this.#size++;
    }
    this.#values[index] = value;
    return this;
  }

  delete(key: number): boolean {
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    let hole = this.#slot(key);
    if (hole < 0 || keys[hole] !== key) return false;
    // Backward shift: each entry after the hole in the same run moves into it unless its home slot lies cyclically
    // after the hole (then it is already as close to home as it can be).
    for (let next = (hole + 1) & mask; keys[next] !== 0; next = (next + 1) & mask) {
      const home = this.#home(keys[next]!);
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (stays) continue;
      keys[hole] = keys[next]!;
      values[hole] = values[next];
      hole = next;
    }
    keys[hole] = 0;
    values[hole] = undefined;
    this.#size--;
    return true;
  }

  clear(): void {
    this.#allocate(16);
  }

  /** Visits a snapshot, skipping entries deleted meanwhile (node destroys streams from inside its forEach calls). */
  forEach(visit: (value: V, key: number, table: this) => void, thisArg?: unknown): void {
    for (const [key, value] of this.#snapshot())
      if (this.get(key) === value) visit.call(thisArg, value as V, key, this);
  }

  *entries(): IterableIterator<[number, V]> {
    for (const [key, value] of this.#snapshot()) if (this.get(key) === value) yield [key, value as V];
  }

  *keys(): IterableIterator<number> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[number, V]> {
    return this.entries();
  }

  #snapshot(): [number, V | undefined][] {
    const entries: [number, V | undefined][] = [];
    for (let index = 0; index < this.#keys.length; index++)
      if (this.#keys[index] !== 0) entries.push([this.#keys[index]!, this.#values[index]]);
    return entries;
  }

  /** A stream id's first slot: ids of one side step by 2, so the low bit carries nothing. */
  #home(key: number): number {
    return (key >>> 1) & this.#mask;
  }

  /**
   * The key's slot, or the empty slot its probe ends at; -1 for what cannot be a stream id (0 marks an empty slot, and
   * node asks for id 0 when a connection-level frame fails: `streams.get(0) || session`).
   */
  #slot(key: number): number {
    if (!(key > 0)) return -1;
    const keys = this.#keys;
    let index = this.#home(key);
    while (keys[index] !== 0 && keys[index] !== key) index = (index + 1) & this.#mask;
    return index;
  }

  #allocate(capacity: number): void {
    this.#keys = new Array<number>(capacity).fill(0);
    this.#values = new Array<V | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
    this.#size = 0;
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    this.#allocate(keys.length * 2);
    for (let index = 0; index < keys.length; index++) if (keys[index] !== 0) this.set(keys[index]!, values[index] as V);
  }
}

/**
 * Set<V> over an array, for the few client streams waiting for their id (each waits at most until the session has
 * connected): add, delete, has, size, forEach and iteration, as node:http2 uses them.
 */
export class PendingStreamSet<V> {
  readonly #items: V[] = [];

  get size(): number {
    return this.#items.length;
  }

  add(item: V): this {
    if (!this.#items.includes(item)) this.#items.push(item);
    return this;
  }

  has(item: V): boolean {
    return this.#items.includes(item);
  }

  delete(item: V): boolean {
    const index = this.#items.indexOf(item);
    if (index < 0) return false;
    this.#items.splice(index, 1);
    return true;
  }

  clear(): void {
    this.#items.length = 0;
  }

  /** Visits a snapshot, skipping items deleted meanwhile. */
  forEach(visit: (value: V, key: V, set: this) => void, thisArg?: unknown): void {
    for (const item of [...this.#items]) if (this.#items.includes(item)) visit.call(thisArg, item, item, this);
  }

  *values(): IterableIterator<V> {
    for (const item of [...this.#items]) if (this.#items.includes(item)) yield item;
  }

  keys(): IterableIterator<V> {
    return this.values();
  }

  [Symbol.iterator](): IterableIterator<V> {
    return this.values();
  }
}

/** What node:http2 keeps there (its own SafeMap and SafeSet: Map and Set with a frozen, null-prototype API). */
interface SessionState {
  streams: ForEachable<number>;
  pendingStreams: ForEachable<unknown>;
}

interface ForEachable<K> {
  readonly size: number;
  forEach(visit: (value: unknown, key: K) => void): void;
}

function isForEachable(value: unknown): value is ForEachable<unknown> {
  const candidate = value as Partial<ForEachable<unknown>> | null | undefined;
  return typeof candidate?.forEach === 'function' && typeof candidate.size === 'number';
}

/**
 * Swaps a session's stream Map and pending-stream Set for StreamIdTable and PendingStreamSet (why: the top of this
 * file), carrying over what they hold. node:http2 keeps them in a symbol-keyed state object; when this Node has no
 * such state (a future version), nothing changes and the answer is false: a test pins it to true on the Node in use.
 */
export function replaceStreamTables(session: Http2Session): boolean {
  const stateKey = Object.getOwnPropertySymbols(session).find((symbol) => symbol.description === 'state');
  if (stateKey === undefined) return false;
  const state = (session as unknown as Record<symbol, Partial<SessionState> | undefined>)[stateKey];
  if (state === undefined || !isForEachable(state.streams) || !isForEachable(state.pendingStreams)) return false;
  if (state.streams instanceof StreamIdTable) return true;
  const streams = new StreamIdTable<unknown>();
  state.streams.forEach((stream, id) => streams.set(id, stream));
  const pending = new PendingStreamSet<unknown>();
  state.pendingStreams.forEach((stream) => pending.add(stream));
  state.streams = streams;
  state.pendingStreams = pending;
  return true;
}
