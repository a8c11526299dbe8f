import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ConfigStore } from '../config/config-store.js';
import type { ConfigSync } from '../config/config-sync.js';
import type { RuntimeConfig } from '../config/runtime-config.js';
import type { DataplaneMetrics } from '../metrics.js';

export interface AdminDependencies {
  store: ConfigStore;
  sync: ConfigSync;
  metrics: DataplaneMetrics;
  dataplaneId: string;
  version: string;
  startedAt: Date;
  /** True once shutdown began: /readyz answers 503 so traffic moves elsewhere while requests drain. */
  isDraining: () => boolean;
}

/**
 * The admin port: `/healthz` (the process answers), `/readyz` (a config is loaded, from the API or last-known-good,
 * in which every endpoint is either compiled and served or listed as failing — never silently missing),
 * `/status` (what runs and how it got there) and `/metrics` (Prometheus). Kept off the traffic port so no Host can
 * reach it through an endpoint.
 */
export function createAdminServer(deps: AdminDependencies): Server {
  return createServer((req, res) => {
    handleAdmin(deps, req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error_code: 'GATEWAY_ERROR', message: 'admin request failed' });
      else res.destroy();
    });
  });
}

async function handleAdmin(deps: AdminDependencies, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  switch (path) {
    case '/healthz':
      sendJson(res, 200, { status: 'ok' });
      return;
    case '/readyz': {
      const readiness = readinessReport(deps);
      sendJson(res, readiness.ready ? 200 : 503, readiness);
      return;
    }
    case '/status':
      sendJson(res, 200, statusReport(deps));
      return;
    case '/metrics': {
      const body = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
      res.end(body);
      return;
    }
    default:
      sendJson(res, 404, { error_code: 'NOT_FOUND', message: 'admin routes: /healthz, /readyz, /status, /metrics' });
  }
}

export type AdminReportSources = Omit<AdminDependencies, 'metrics'>;

/**
 * The body of `/readyz`; also what a worker reports to the primary (`cluster/`), which answers `/readyz` for all
 * of its workers.
 */
export function readinessReport(deps: AdminReportSources) {
  // Readiness is about this process, not one endpoint: a rejected policy must not take the whole fleet out of
  // rotation. Every endpoint of the loaded config is either compiled or in `failing_endpoints` (a new one is
  // answered 503 ENDPOINT_CONFIG_INVALID, not a 404), so a 200 here never hides a failure.
  const config = deps.store.current;
  const ready = deps.store.loaded && !deps.isDraining();
  return {
    ready,
    draining: deps.isDraining(),
    applied_revision: config.revision,
    endpoint_count: config.endpointsById.size,
    failing_endpoints: failingEndpoints(config),
  };
}
export type ReadinessReport = ReturnType<typeof readinessReport>;

/** The body of `/status` (and a worker's part of the primary's `/status`). */
export function statusReport(deps: AdminReportSources) {
  const config = deps.store.current;
  return {
    id: deps.dataplaneId,
    version: deps.version,
    started_at: deps.startedAt.toISOString(),
    ready: deps.store.loaded,
    applied_revision: config.revision,
    endpoint_count: config.endpointsById.size,
    ip_category_count: config.ipCategories.size,
    // True only while the API answers: synced once, last catch-up and last heartbeat succeeded.
    synced_with_api: deps.sync.inSync,
    change_feed: deps.sync.feedState,
    last_sync_error: deps.sync.lastSyncError,
    last_heartbeat_at: deps.sync.lastHeartbeatAt?.toISOString() ?? null,
    last_heartbeat_error: deps.sync.lastHeartbeatError,
    heartbeat_interval_ms: deps.sync.heartbeatIntervalMs,
    last_error: deps.store.lastError,
    failing_endpoints: failingEndpoints(config),
    config_conflicts: {
      count: deps.sync.conflictCount,
      last:
        deps.sync.lastConflict === null
          ? null
          : {
              revision: deps.sync.lastConflict.revision,
              source: deps.sync.lastConflict.source,
              message: deps.sync.lastConflict.message,
              at: deps.sync.lastConflict.at.toISOString(),
            },
    },
  };
}
export type StatusReport = ReturnType<typeof statusReport>;

/** Each failing endpoint with whether traffic still reaches its previous config (`serving`) or gets a 503. */
function failingEndpoints(config: RuntimeConfig): { id: string; serving: boolean; message: string }[] {
  return [...config.failures].map(([id, message]) => ({ id, serving: config.endpointsById.has(id), message }));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
