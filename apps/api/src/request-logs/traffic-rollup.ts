import { denyingActions, trafficBucketSeconds } from '@gatehouse/contracts';

/**
 * Upper-exclusive edges of the latency bins, in ms (bin i holds edges[i-1] ≤ duration < edges[i]; the last bin is
 * ≥ 60 s). Steps of at most ×1.33 above 2 ms keep an interpolated p50/p95 within a few percent of the exact value.
 * The migration that backfilled the rollups repeats this list: never change it, add a new column instead.
 */
export const LATENCY_BIN_EDGES_MS: readonly number[] = [
  0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 500,
  600, 800, 1000, 1200, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10000, 15000, 20000, 30000, 60000,
];
export const LATENCY_BIN_COUNT = LATENCY_BIN_EDGES_MS.length + 1;

/** The rollup resolutions, one per chart range (contracts' trafficBucketSeconds). */
export const ROLLUP_RESOLUTIONS: readonly number[] = [...new Set(Object.values(trafficBucketSeconds))];

const DENYING = new Set(denyingActions);

/**
 * The rollup rows under this endpoint id count every request, whichever endpoint: the installation-wide charts read
 * one row per bucket instead of summing one per endpoint (no endpoint id is "*": they are generated `ep_…`).
 */
export const ALL_ENDPOINTS = '*';

/**
 * Keys kept per (resolution, kind, bucket, endpoint): the largest, by count. Bounds what "top denied clients" reads
 * when every denial comes from another address (a scan from a botnet): a top list sums at most this many keys per
 * bucket. A key ranked below it in a bucket is dropped from that bucket (its count there is lost if it comes back).
 */
export const TOP_KEYS_PER_BUCKET = 100;

/** The fields of a request-log row the rollups read. */
export interface RollupSource {
  timestamp: string;
  endpoint_id: string | null;
  status: number;
  duration_ms: number;
  client_ip: string;
  decision: unknown;
  decision_action: string | null;
  mcp_tool: string | null;
}

export interface RollupRow {
  resolution: number;
  bucket: string;
  endpoint_id: string;
  requests: number;
  denied: number;
  rate_limited: number;
  upstream_errors: number;
  duration_sum_ms: number;
  latency_histogram: number[];
}

export type RollupKeyKind = 'deny_rule' | 'denied_client' | 'mcp_tool';

export interface RollupKeyRow {
  resolution: number;
  kind: RollupKeyKind;
  bucket: string;
  endpoint_id: string;
  key: string;
  count: number;
}

/** Index of the bin holding `durationMs` (what Postgres's width_bucket(duration, edges) returns). */
export function latencyBin(durationMs: number): number {
  let low = 0;
  let high = LATENCY_BIN_EDGES_MS.length;
  // First edge greater than the duration = number of edges ≤ it.
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (LATENCY_BIN_EDGES_MS[middle]! <= durationMs) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * The duration below which `quantile` of the counted requests fall, interpolated linearly inside its bin (null when
 * the histogram is empty). The open last bin answers its lower edge.
 */
export function histogramQuantile(histogram: readonly number[], quantile: number): number | null {
  const total = histogram.reduce((sum, value) => sum + value, 0);
  if (total === 0) return null;
  const rank = quantile * total;
  let seen = 0;
  for (let bin = 0; bin < histogram.length; bin += 1) {
    const inBin = histogram[bin] ?? 0;
    if (inBin > 0 && seen + inBin >= rank) {
      const lower = bin === 0 ? 0 : LATENCY_BIN_EDGES_MS[bin - 1]!;
      const upper = LATENCY_BIN_EDGES_MS[bin];
      if (upper === undefined) return lower;
      return lower + ((upper - lower) * (rank - seen)) / inBin;
    }
    seen += inBin;
  }
  return LATENCY_BIN_EDGES_MS.at(-1)!;
}

/**
 * "endpoint#phase#index#name": one denying rule of one endpoint's policy (parsed back by parseDenyRuleKey). The
 * endpoint is part of the key because the rows for all endpoints together count rules of every policy.
 */
export function denyRuleKey(endpointId: string, decision: unknown): string {
  const value = (decision ?? {}) as { phase?: unknown; rule_index?: unknown; rule_name?: unknown };
  const phase = typeof value.phase === 'string' ? value.phase : 'unknown';
  const index = typeof value.rule_index === 'number' ? value.rule_index : -1;
  const name = typeof value.rule_name === 'string' ? value.rule_name : '';
  return `${endpointId}#${phase}#${index}#${name}`;
}

export function parseDenyRuleKey(key: string): {
  endpoint_id: string | null;
  phase: string;
  rule_index: number;
  rule_name: string | null;
} {
  const [endpointId = '', phase = 'unknown', index = '-1'] = key.split('#', 3);
  const name = key.slice(endpointId.length + phase.length + index.length + 3);
  return {
    endpoint_id: endpointId === '' ? null : endpointId,
    phase,
    rule_index: Number(index),
    rule_name: name === '' ? null : name,
  };
}

/** What one inserted batch adds to the rollups: one row per (resolution, bucket, endpoint), one per key. */
export function rollUp(rows: Iterable<RollupSource>): { rollups: RollupRow[]; keys: RollupKeyRow[] } {
  // Ingestion calls this for every stored row (tens of thousands a second), so the per-row work is numeric: the
  // timestamp is parsed once, buckets are epoch milliseconds turned into ISO strings once per distinct bucket, and
  // the maps are nested by number instead of keyed by concatenated strings.
  const rollups = new Map<number, Map<number, Map<string, RollupRow>>>();
  const rollupRows: RollupRow[] = [];
  const keys: RollupKeyRow[] = [];
  // Each rollup row's keys, by kind then key: looked up through the rollup object, so no per-row string is built to
  // find a key (a concatenated map key per row, resolution and endpoint was 2-3% of the worker's CPU).
  const keysOfRollup = new Map<RollupRow, Record<RollupKeyKind, Map<string, RollupKeyRow>>>();
  const bucketText = new Map<number, string>();
  const textOf = (milliseconds: number): string => {
    let text = bucketText.get(milliseconds);
    if (text === undefined) {
      text = new Date(milliseconds).toISOString();
      bucketText.set(milliseconds, text);
    }
    return text;
  };
  const addKey = (
    rollup: RollupRow,
    keysOf: Record<RollupKeyKind, Map<string, RollupKeyRow>>,
    kind: RollupKeyKind,
    key: string,
  ) => {
    const existing = keysOf[kind].get(key);
    if (existing) existing.count += 1;
    else {
      const created = {
        resolution: rollup.resolution,
        kind,
        bucket: rollup.bucket,
        endpoint_id: rollup.endpoint_id,
        key,
        count: 1,
      };
      keysOf[kind].set(key, created);
      keys.push(created);
    }
  };
  for (const row of rows) {
    const denied = row.decision_action !== null && DENYING.has(row.decision_action);
    const bin = latencyBin(row.duration_ms);
    const milliseconds = Date.parse(row.timestamp);
    const denyRule = denied ? denyRuleKey(row.endpoint_id ?? '', row.decision) : undefined;
    for (const resolution of ROLLUP_RESOLUTIONS) {
      const step = resolution * 1000;
      const bucketMilliseconds = Math.floor(milliseconds / step) * step;
      let byBucket = rollups.get(resolution);
      if (!byBucket) rollups.set(resolution, (byBucket = new Map<number, Map<string, RollupRow>>()));
      let byEndpoint = byBucket.get(bucketMilliseconds);
      if (!byEndpoint) byBucket.set(bucketMilliseconds, (byEndpoint = new Map<string, RollupRow>()));
      for (const endpointId of [row.endpoint_id ?? '', ALL_ENDPOINTS]) {
        let rollup = byEndpoint.get(endpointId);
        if (!rollup) {
          rollup = {
            resolution,
            bucket: textOf(bucketMilliseconds),
            endpoint_id: endpointId,
            requests: 0,
            denied: 0,
            rate_limited: 0,
            upstream_errors: 0,
            duration_sum_ms: 0,
            latency_histogram: new Array<number>(LATENCY_BIN_COUNT).fill(0),
          };
          byEndpoint.set(endpointId, rollup);
          rollupRows.push(rollup);
          keysOfRollup.set(rollup, { deny_rule: new Map(), denied_client: new Map(), mcp_tool: new Map() });
        }
        const keysOf = keysOfRollup.get(rollup)!;
        rollup.requests += 1;
        if (denied) rollup.denied += 1;
        if (row.status === 429) rollup.rate_limited += 1;
        if (row.status >= 500) rollup.upstream_errors += 1;
        rollup.duration_sum_ms += row.duration_ms;
        rollup.latency_histogram[bin]! += 1;
        if (denyRule !== undefined) {
          addKey(rollup, keysOf, 'deny_rule', denyRule);
          addKey(rollup, keysOf, 'denied_client', row.client_ip);
        }
        // tools/list, initialize and the like name no tool (''): they are MCP traffic, not a tool call.
        if (row.mcp_tool) addKey(rollup, keysOf, 'mcp_tool', row.mcp_tool);
      }
    }
  }
  return { rollups: rollupRows, keys };
}
