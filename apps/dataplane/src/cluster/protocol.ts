import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { ReadinessReport, StatusReport } from '../admin/admin-server.js';

/**
 * The messages between the cluster primary and its workers (node:cluster IPC). The primary owns the ports and the
 * lifecycle; each worker is a whole data plane (config sync, policy engine, request events) and only reports.
 */

/** Sent once, right after the fork: who the worker is. */
export interface StartMessage {
  type: 'gatehouse:start';
  index: number;
  /** This worker's own id (heartbeats, request-event batches): `<data plane id>/worker-<index>`. */
  dataplaneId: string;
  /** The primary's admin port: an upstream pointing there is this gateway itself. */
  adminPort: number;
  /** Only worker 0 writes the last-known-good snapshot. */
  writeLastKnownGood: boolean;
}

export type PrimaryMessage =
  | StartMessage
  /** Stop accepting, drain (Connection: close, finish in flight, stream grace), then exit. */
  | { type: 'gatehouse:drain' }
  | { type: 'gatehouse:report'; requestId: number; what: 'health' | 'metrics' };

export type WorkerMessage =
  /**
   * The worker listens for messages now. An ES-module worker loads asynchronously and the IPC channel delivers (and
   * drops) messages before its listener exists, so the primary sends nothing before this.
   */
  | { type: 'gatehouse:hello' }
  | { type: 'gatehouse:ready'; port: number }
  | { type: 'gatehouse:health'; requestId: number; readiness: ReadinessReport; status: StatusReport }
  | { type: 'gatehouse:metrics'; requestId: number; metrics: MetricObjectWithValues<MetricValue<string>>[] };

function isGatehouseMessage(message: unknown): boolean {
  return (
    typeof message === 'object' &&
    message !== null &&
    String((message as { type?: unknown }).type).startsWith('gatehouse:')
  );
}

/** The IPC channel also carries node:cluster's own messages; ours are told apart by their type prefix. */
export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return isGatehouseMessage(message);
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return isGatehouseMessage(message);
}
