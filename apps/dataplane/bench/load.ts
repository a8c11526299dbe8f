import { Pool } from 'undici';

export interface LoadResult {
  requests: number;
  errors: number;
  statuses: Map<number, number>;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * A closed-loop load generator over undici keep-alive connections: `connections` workers each send one request,
 * read the whole response, and send the next, for `durationMs` (after a warm-up that is not measured). Bounded in
 * time and in count, so a slow target cannot make the benchmark run away.
 */
export async function runLoad(options: {
  url: string;
  path: string;
  headers: Record<string, string>;
  connections: number;
  warmupMs: number;
  durationMs: number;
  maxRequests?: number;
}): Promise<LoadResult> {
  const pool = new Pool(options.url, { connections: options.connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let errors = 0;
  let measuring = false;
  let stopped = false;
  const maxRequests = options.maxRequests ?? 5_000_000;

  const worker = async () => {
    while (!stopped && latencies.length < maxRequests) {
      const started = performance.now();
      try {
        const response = await pool.request({ path: options.path, method: 'GET', headers: options.headers });
        await response.body.dump();
        if (measuring) {
          latencies.push(performance.now() - started);
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        }
      } catch {
        if (measuring) errors++;
      }
    }
  };
  const workers = Array.from({ length: options.connections }, worker);
  await new Promise((resolve) => setTimeout(resolve, options.warmupMs));
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  measuring = false;
  const elapsedMs = performance.now() - started;
  stopped = true;
  await Promise.all(workers);
  await pool.close();
  latencies.sort((left, right) => left - right);
  const percentile = (fraction: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * fraction))] ?? Number.NaN;
  return {
    requests: latencies.length,
    errors,
    statuses,
    requestsPerSecond: (latencies.length / elapsedMs) * 1000,
    p50Ms: percentile(0.5),
    p99Ms: percentile(0.99),
  };
}
