import {
  ConfigChangeEventSchema,
  HeartbeatRequestSchema,
  type ChangeFeed,
  type ChangeFeedHandlers,
  type ChangesResult,
  type ConfigApi,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type SnapshotResult,
} from '@gatehouse/contracts';
import type { MessageBus } from '../bus/message-bus';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import type { DataplaneSyncService } from './dataplane-sync.service';

/** Changes per catch-up page, as the HTTP route's default. */
const CHANGES_PAGE = 500;

/**
 * The contracts' `ConfigApi` and `ChangeFeed` for a data plane in this process (the embedded shape): the sync
 * service's answers without HTTP, and change events from the bus the publisher writes to. Events still travel as the
 * JSON the Redis channel carries and are parsed with the same contract, so both shapes run one code path from the
 * outbox to the data plane.
 */
export class EmbeddedConfigSource implements ConfigApi, ChangeFeed {
  #unsubscribe: Promise<() => void> | undefined;

  constructor(
    private readonly sync: DataplaneSyncService,
    private readonly bus: MessageBus,
    private readonly configChannel: string,
  ) {}

  async fetchSnapshot(etag: string | null): Promise<SnapshotResult> {
    const answer = await this.sync.getConfigSnapshot(etag ?? undefined);
    return answer.snapshot === null
      ? { kind: 'not-modified' }
      : { kind: 'snapshot', snapshot: answer.snapshot, etag: answer.etag };
  }

  async fetchChanges(since: number): Promise<ChangesResult> {
    try {
      return { kind: 'changes', response: await this.sync.listConfigChanges(since, CHANGES_PAGE) };
    } catch (error) {
      if (error instanceof AppError && error.code === ErrorCode.CONFIG_REVISION_GONE) return { kind: 'gone' };
      throw error;
    }
  }

  heartbeat(body: HeartbeatRequest): Promise<HeartbeatResponse> {
    return this.sync.recordHeartbeat(HeartbeatRequestSchema.parse(body));
  }

  start(handlers: ChangeFeedHandlers): void {
    this.#unsubscribe = this.bus.subscribe(this.configChannel, (text) => {
      let change;
      try {
        change = ConfigChangeEventSchema.parse(JSON.parse(text));
      } catch (error) {
        handlers.onError(error);
        return;
      }
      handlers.onChange(change);
    });
    this.#unsubscribe.then(
      () => handlers.onSubscribed(),
      (error: unknown) => handlers.onError(error),
    );
  }

  async stop(): Promise<void> {
    const unsubscribe = await this.#unsubscribe?.catch(() => undefined);
    this.#unsubscribe = undefined;
    unsubscribe?.();
  }
}
