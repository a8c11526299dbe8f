import { describe, expect, it } from 'vitest';
import { LayeredMap } from './layered-map.js';

describe('LayeredMap', () => {
  it('behaves like a Map across derivations and never changes the map it was derived from', () => {
    const reference = new Map<string, number>();
    let current = LayeredMap.empty<string, number>();
    const history: { map: LayeredMap<string, number>; expected: [string, number][] }[] = [];
    let seed = 3;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 400; round++) {
      current = current.derive();
      for (let operation = 0; operation < 5; operation++) {
        const key = `k${Math.floor(random() * 300)}`;
        if (random() < 0.3) {
          expect(current.delete(key)).toBe(reference.delete(key));
        } else {
          current.set(key, round);
          reference.set(key, round);
        }
      }
      expect(current.size).toBe(reference.size);
      if (round % 40 === 0) history.push({ map: current, expected: [...reference].sort() });
    }
    expect([...current].sort()).toEqual([...reference].sort());
    for (const key of ['k1', 'k2', 'k299', 'missing']) expect(current.get(key)).toBe(reference.get(key));
    // Earlier generations still read exactly as they were when derived.
    for (const { map, expected } of history) {
      expect([...map.entries()].sort()).toEqual(expected);
      expect(map.size).toBe(expected.length);
    }
  });
});
