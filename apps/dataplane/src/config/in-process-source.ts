import type { ConfigChangeEvent, ConfigSnapshot, HeartbeatRequest, HeartbeatResponse } from '@gatehouse/contracts';
import type { ChangeFeed, ChangeFeedHandlers, ChangesResult, ConfigApi, SnapshotResult } from './config-source.js';

/**
 * The embedded shape's config source: the control plane, running in the same process, hands the data plane its
 * snapshot and changes directly — no HTTP, no Redis. It implements both `ConfigApi` and `ChangeFeed`, so the data
 * plane runs the exact same sync logic (ordering, gap detection, catch-up) as in the distributed shape.
 */
export class InProcessConfigSource implements ConfigApi, ChangeFeed {
  #snapshot: () => ConfigSnapshot | Promise<ConfigSnapshot>;
  #changesSince: (since: number) => ConfigChangeEvent[] | 'gone' | Promise<ConfigChangeEvent[] | 'gone'>;
  #handlers: ChangeFeedHandlers | undefined;
  readonly heartbeats: HeartbeatRequest[] = [];
  /** What heartbeat answers suggest (a data plane without a configured interval follows it). */
  heartbeatIntervalSeconds = 30;

  constructor(source: {
    /** The current full config. */
    snapshot: () => ConfigSnapshot | Promise<ConfigSnapshot>;
    /** Changes after `since`, oldest first, or 'gone' when they are no longer kept. */
    changesSince: (since: number) => ConfigChangeEvent[] | 'gone' | Promise<ConfigChangeEvent[] | 'gone'>;
  }) {
    this.#snapshot = source.snapshot;
    this.#changesSince = source.changesSince;
  }

  /** Called by the control plane after each committed change. */
  publish(change: ConfigChangeEvent): void {
    this.#handlers?.onChange(change);
  }

  async fetchSnapshot(etag: string | null): Promise<SnapshotResult> {
    const snapshot = await this.#snapshot();
    const current = `"rev-${snapshot.revision}"`;
    return etag === current ? { kind: 'not-modified' } : { kind: 'snapshot', snapshot, etag: current };
  }

  async fetchChanges(since: number): Promise<ChangesResult> {
    const changes = await this.#changesSince(since);
    if (changes === 'gone') return { kind: 'gone' };
    const snapshot = await this.#snapshot();
    return { kind: 'changes', response: { revision: snapshot.revision, changes, has_more: false } };
  }

  async heartbeat(body: HeartbeatRequest): Promise<HeartbeatResponse> {
    this.heartbeats.push(body);
    return {
      revision: (await this.#snapshot()).revision,
      heartbeat_interval_seconds: this.heartbeatIntervalSeconds,
      agent_dataplanes: [],
      ended_agent_sessions: [],
    };
  }

  start(handlers: ChangeFeedHandlers): void {
    this.#handlers = handlers;
    handlers.onSubscribed();
  }

  stop(): Promise<void> {
    this.#handlers = undefined;
    return Promise.resolve();
  }
}
