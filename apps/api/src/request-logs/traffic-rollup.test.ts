import { describe, expect, it } from 'vitest';
import {
  ALL_ENDPOINTS,
  denyRuleKey,
  histogramQuantile,
  LATENCY_BIN_COUNT,
  LATENCY_BIN_EDGES_MS,
  latencyBin,
  parseDenyRuleKey,
  rollUp,
  type RollupSource,
} from './traffic-rollup';

const row = (overrides: Partial<RollupSource> = {}): RollupSource => ({
  timestamp: '2026-12-06T10:14:59.999Z',
  endpoint_id: 'ep_1',
  status: 200,
  duration_ms: 3.5,
  client_ip: '203.0.113.1',
  decision: null,
  decision_action: 'forward-internal',
  mcp_tool: null,
  ...overrides,
});

describe('traffic rollups', () => {
  it('bins a duration the way width_bucket does: edges count into the bin above', () => {
    expect(latencyBin(0)).toBe(0);
    expect(latencyBin(0.49)).toBe(0);
    expect(latencyBin(0.5)).toBe(1);
    expect(latencyBin(3.5)).toBe(LATENCY_BIN_EDGES_MS.indexOf(4));
    expect(latencyBin(60_000)).toBe(LATENCY_BIN_COUNT - 1);
    expect(latencyBin(10_000_000)).toBe(LATENCY_BIN_COUNT - 1);
  });

  it('interpolates quantiles inside the bin and answers null for no requests', () => {
    const histogram = new Array<number>(LATENCY_BIN_COUNT).fill(0);
    expect(histogramQuantile(histogram, 0.5)).toBeNull();
    histogram[latencyBin(100)] = 10; // [100, 120)
    expect(histogramQuantile(histogram, 0.5)).toBe(110);
    expect(histogramQuantile(histogram, 1)).toBe(120);
    histogram[LATENCY_BIN_COUNT - 1] = 90;
    expect(histogramQuantile(histogram, 0.95)).toBe(60_000);
  });

  it('keys a denying rule by endpoint, phase, index and name, names with # included', () => {
    const key = denyRuleKey('ep_1', { phase: 'on_http_request', rule_index: 2, rule_name: 'a#b', action: 'deny' });
    expect(parseDenyRuleKey(key)).toEqual({
      endpoint_id: 'ep_1',
      phase: 'on_http_request',
      rule_index: 2,
      rule_name: 'a#b',
    });
    expect(parseDenyRuleKey(denyRuleKey('', null))).toEqual({
      endpoint_id: null,
      phase: 'unknown',
      rule_index: -1,
      rule_name: null,
    });
  });

  it('rolls a batch up per resolution, bucket and endpoint', () => {
    const { rollups, keys } = rollUp([
      row(),
      row({ timestamp: '2026-12-06T10:15:00.000Z', status: 429, decision_action: 'rate-limit', mcp_tool: 'search' }),
      row({
        status: 403,
        decision_action: 'deny',
        decision: { phase: 'on_http_request', rule_index: 0, rule_name: null, action: 'deny' },
      }),
      row({ endpoint_id: null, status: 502 }),
    ]);
    const minute = rollups.filter((rollup) => rollup.resolution === 60 && rollup.endpoint_id !== ALL_ENDPOINTS);
    expect(minute.map(({ latency_histogram: _h, ...rest }) => rest)).toEqual([
      expect.objectContaining({ bucket: '2026-12-06T10:14:00.000Z', endpoint_id: 'ep_1', requests: 2, denied: 1 }),
      expect.objectContaining({ bucket: '2026-12-06T10:15:00.000Z', requests: 1, rate_limited: 1 }),
      expect.objectContaining({ endpoint_id: '', requests: 1, upstream_errors: 1, duration_sum_ms: 3.5 }),
    ]);
    const hour = rollups.filter((rollup) => rollup.resolution === 3600);
    expect(hour.map((rollup) => rollup.endpoint_id)).toEqual(['ep_1', ALL_ENDPOINTS, '']);
    expect(hour[0]).toMatchObject({ bucket: '2026-12-06T10:00:00.000Z', requests: 3, denied: 1, rate_limited: 1 });
    expect(hour[0]?.latency_histogram[latencyBin(3.5)]).toBe(3);
    // All endpoints together: every request, the one of no endpoint included.
    expect(hour[1]).toMatchObject({ requests: 4, denied: 1, rate_limited: 1, upstream_errors: 1 });
    expect(hour[1]?.latency_histogram[latencyBin(3.5)]).toBe(4);
    expect(keys.filter((key) => key.resolution === 900 && key.endpoint_id !== ALL_ENDPOINTS)).toEqual([
      {
        resolution: 900,
        kind: 'mcp_tool',
        bucket: '2026-12-06T10:15:00.000Z',
        endpoint_id: 'ep_1',
        key: 'search',
        count: 1,
      },
      {
        resolution: 900,
        kind: 'deny_rule',
        bucket: '2026-12-06T10:00:00.000Z',
        endpoint_id: 'ep_1',
        key: 'ep_1#on_http_request#0#',
        count: 1,
      },
      {
        resolution: 900,
        kind: 'denied_client',
        bucket: '2026-12-06T10:00:00.000Z',
        endpoint_id: 'ep_1',
        key: '203.0.113.1',
        count: 1,
      },
    ]);
  });
});
