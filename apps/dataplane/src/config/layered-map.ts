const deleted: unique symbol = Symbol('deleted');

/**
 * A map made of a large shared base and a small overlay of changes, so the next config can be derived from the
 * current one without copying 10,000 entries (copying a Map of that size costs ~2 ms; a change should cost far less).
 * Reads check the overlay, then the base. When the overlay grows past a fraction of the base it is folded into a new
 * base, so lookups stay two Map reads at most and the copy cost is amortized over many changes.
 *
 * Values of a config that was published are never changed: `derive()` returns a new map for the next draft.
 */
export class LayeredMap<K, V> implements ReadonlyMap<K, V> {
  readonly #base: ReadonlyMap<K, V>;
  readonly #overlay: Map<K, V | typeof deleted>;
  #size: number;

  private constructor(base: ReadonlyMap<K, V>, overlay: Map<K, V | typeof deleted>, size: number) {
    this.#base = base;
    this.#overlay = overlay;
    this.#size = size;
  }

  static empty<K, V>(): LayeredMap<K, V> {
    return new LayeredMap<K, V>(new Map(), new Map(), 0);
  }

  /** A copy to apply the next changes to; shares the base, copies the overlay (or folds it in when it got large). */
  derive(): LayeredMap<K, V> {
    const overlaySize = this.#overlay.size;
    if (overlaySize > 64 && overlaySize * 8 > this.#base.size)
      return new LayeredMap<K, V>(new Map(this), new Map(), this.#size);
    return new LayeredMap(this.#base, new Map(this.#overlay), this.#size);
  }

  get size(): number {
    return this.#size;
  }

  get(key: K): V | undefined {
    const layered = this.#overlay.get(key);
    if (layered !== undefined) return layered === deleted ? undefined : layered;
    return this.#base.get(key);
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): this {
    if (!this.has(key)) this.#size++;
    this.#overlay.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    if (!this.has(key)) return false;
    this.#size--;
    if (this.#base.has(key)) this.#overlay.set(key, deleted);
    else this.#overlay.delete(key);
    return true;
  }

  *entries(): MapIterator<[K, V]> {
    for (const [key, value] of this.#base) {
      const layered = this.#overlay.get(key);
      if (layered === undefined) yield [key, value];
      else if (layered !== deleted) yield [key, layered];
    }
    for (const [key, layered] of this.#overlay) {
      if (layered !== deleted && !this.#base.has(key)) yield [key, layered];
    }
  }

  *keys(): MapIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }
}
