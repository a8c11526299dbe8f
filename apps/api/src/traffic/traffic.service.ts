import {
  trafficBucketSeconds,
  trafficRangeSeconds,
  type TrafficDeniedRule,
  type TrafficEndpoints,
  type TrafficEndpointsQuery,
  type TrafficPoint,
  type TrafficRange,
  type TrafficSummary,
  type TrafficSummaryQuery,
} from '@gatehouse/contracts';
import { Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { histogramQuantile, LATENCY_BIN_COUNT, parseDenyRuleKey } from '../request-logs/traffic-rollup';
import { TrafficRepository, type TrafficWindow } from './traffic.repository';

/** How many entries the top lists hold, and how many rules the denials-by-rule series breaks out. */
const TOP_LIMIT = 10;
const SERIES_RULES = 5;
export const OTHER_RULES_KEY = 'other';

/** The window ending with the current (partial) bucket: `range` long, aligned to bucket starts. */
export function trafficWindow(range: TrafficRange, now: Date, endpointId?: string): TrafficWindow {
  const step = trafficBucketSeconds[range] * 1000;
  const to = Math.floor(now.getTime() / step) * step + step;
  return {
    resolution: trafficBucketSeconds[range],
    from: new Date(to - trafficRangeSeconds[range] * 1000),
    to: new Date(to),
    endpointId,
  };
}

/** The rule's id in an answer: endpoint, phase and index (a renamed rule stays one rule). */
const ruleKeyOf = (rule: { endpoint_id: string | null; phase: string; rule_index: number }) =>
  `${rule.endpoint_id ?? ''}:${rule.phase}:${rule.rule_index}`;

const round = (value: number | null) => (value === null ? null : Math.round(value * 100) / 100);

@Injectable()
export class TrafficService {
  constructor(private readonly traffic: TrafficRepository) {}

  async summary(query: TrafficSummaryQuery, now = new Date()): Promise<TrafficSummary> {
    if (query.endpoint_id !== undefined && !(await this.traffic.endpointExists(query.endpoint_id))) {
      throw new AppError(ErrorCode.ENDPOINT_NOT_FOUND, `No endpoint ${query.endpoint_id}`);
    }
    const window = trafficWindow(query.range, now, query.endpoint_id);
    const [counts, bins, ruleCounts, clients, tools] = await Promise.all([
      this.traffic.bucketCounts(window),
      this.traffic.bucketLatencyBins(window),
      this.traffic.denyRuleCounts(window),
      this.traffic.topKeys(window, 'denied_client', TOP_LIMIT),
      this.traffic.topKeys(window, 'mcp_tool', TOP_LIMIT),
    ]);

    // Rules: ranked over the window; the top few get their own series, the rest add up under "other".
    const rules = new Map<string, TrafficDeniedRule>();
    for (const row of ruleCounts) {
      const parsed = parseDenyRuleKey(row.key);
      const key = ruleKeyOf(parsed);
      const rule = rules.get(key) ?? { key, ...parsed, count: 0 };
      rule.count += Number(row.count);
      rules.set(key, rule);
    }
    const ranked = [...rules.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
    const seriesRules = new Set(ranked.slice(0, SERIES_RULES).map((rule) => rule.key));

    const step = window.resolution * 1000;
    const points = new Map<number, TrafficPoint & { histogram: number[] }>();
    for (let time = window.from.getTime(); time < window.to.getTime(); time += step) {
      points.set(time, {
        time: new Date(time).toISOString(),
        requests: 0,
        denied: 0,
        rate_limited: 0,
        upstream_errors: 0,
        p50_ms: null,
        p95_ms: null,
        denied_by_rule: {},
        histogram: new Array<number>(LATENCY_BIN_COUNT).fill(0),
      });
    }
    for (const row of counts) {
      const point = points.get(row.bucket.getTime());
      if (!point) continue;
      point.requests = Number(row.requests);
      point.denied = Number(row.denied);
      point.rate_limited = Number(row.rate_limited);
      point.upstream_errors = Number(row.upstream_errors);
    }
    const total = new Array<number>(LATENCY_BIN_COUNT).fill(0);
    for (const row of bins) {
      const point = points.get(row.bucket.getTime());
      if (!point || row.bin < 1 || row.bin > LATENCY_BIN_COUNT) continue;
      point.histogram[row.bin - 1]! += Number(row.count);
      total[row.bin - 1]! += Number(row.count);
    }
    for (const row of ruleCounts) {
      const point = points.get(row.bucket.getTime());
      if (!point) continue;
      const ruleKey = ruleKeyOf(parseDenyRuleKey(row.key));
      const key = seriesRules.has(ruleKey) ? ruleKey : OTHER_RULES_KEY;
      point.denied_by_rule[key] = (point.denied_by_rule[key] ?? 0) + Number(row.count);
    }

    const series: TrafficPoint[] = [];
    const totals = { requests: 0, denied: 0, rate_limited: 0, upstream_errors: 0 };
    for (const { histogram, ...point } of points.values()) {
      point.p50_ms = round(histogramQuantile(histogram, 0.5));
      point.p95_ms = round(histogramQuantile(histogram, 0.95));
      totals.requests += point.requests;
      totals.denied += point.denied;
      totals.rate_limited += point.rate_limited;
      totals.upstream_errors += point.upstream_errors;
      series.push(point);
    }
    return {
      range: query.range,
      endpoint_id: query.endpoint_id ?? null,
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      bucket_seconds: window.resolution,
      totals: {
        ...totals,
        p50_ms: round(histogramQuantile(total, 0.5)),
        p95_ms: round(histogramQuantile(total, 0.95)),
      },
      series,
      top_denied_rules: ranked.slice(0, TOP_LIMIT),
      top_denied_clients: clients.map((row) => ({ client_ip: row.key, count: Number(row.count) })),
      top_mcp_tools: tools.map((row) => ({ tool: row.key, count: Number(row.count) })),
    };
  }

  async endpoints(query: TrafficEndpointsQuery, now = new Date()): Promise<TrafficEndpoints> {
    const window = trafficWindow(query.range, now);
    const rows = await this.traffic.endpointTotals(window);
    return {
      range: query.range,
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      endpoints: rows.map((row) => ({
        endpoint_id: row.endpoint_id,
        requests: Number(row.requests),
        denied: Number(row.denied),
        rate_limited: Number(row.rate_limited),
        upstream_errors: Number(row.upstream_errors),
      })),
    };
  }
}
