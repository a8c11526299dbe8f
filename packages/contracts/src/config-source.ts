import type {
  ConfigChangeEvent,
  ConfigChangesResponse,
  ConfigSnapshot,
  HeartbeatRequest,
  HeartbeatResponse,
} from './config-sync.js';

/**
 * Where a data plane's configuration comes from (DESIGN.md §6), as two small interfaces: `ConfigApi` answers snapshot,
 * changes and heartbeat calls, `ChangeFeed` pushes each committed change. The distributed shape implements them over
 * HTTP and Redis pub/sub (in the data plane); the embedded shape with the control plane's own sync service and
 * message bus (in the API), so one data plane runs one sync logic against either.
 */

export type SnapshotResult =
  { kind: 'snapshot'; snapshot: ConfigSnapshot; etag: string | null } | { kind: 'not-modified' };
export type ChangesResult = { kind: 'changes'; response: ConfigChangesResponse } | { kind: 'gone' };

export interface ConfigApi {
  /** The full snapshot; `not-modified` when `etag` still names the newest one. */
  fetchSnapshot(etag: string | null): Promise<SnapshotResult>;
  /**
   * Changes after `since`, oldest first (one page: `has_more` says another follows); `gone` when the API no longer
   * has every change after `since` (410 CONFIG_REVISION_GONE) and a full snapshot is needed.
   */
  fetchChanges(since: number): Promise<ChangesResult>;
  heartbeat(body: HeartbeatRequest): Promise<HeartbeatResponse>;
}

export interface ChangeFeedHandlers {
  onChange(change: ConfigChangeEvent): void;
  /** The feed (re)subscribed; anything published while it was away is missing and must be fetched. */
  onSubscribed(): void;
  /** The feed lost its connection; changes may be missed until `onSubscribed`. */
  onDisconnected?(): void;
  onError(error: unknown): void;
}

export interface ChangeFeed {
  start(handlers: ChangeFeedHandlers): void;
  stop(): Promise<void>;
}
