import { describe, expect, it } from 'vitest';
import { randomTraceId, randomUuid } from './random-ids.js';

describe('random ids', () => {
  it('makes version 4 UUIDs and 32-hex-digit trace ids, all different, across pool refills', () => {
    const uuids = new Set<string>();
    const traces = new Set<string>();
    for (let index = 0; index < 2_000; index++) {
      const uuid = randomUuid();
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      uuids.add(uuid);
      const trace = randomTraceId();
      expect(trace).toMatch(/^[0-9a-f]{32}$/);
      traces.add(trace);
    }
    expect(uuids.size).toBe(2_000);
    expect(traces.size).toBe(2_000);
  });
});
