import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger';
import type { RedisNames } from '@gatehouse/contracts';
import { toConfigChangeEvent } from '../dataplane-sync/sync-presenter';
import { MESSAGE_BUS, type MessageBus, REDIS_NAMES } from '../bus/message-bus';
import { ConfigOutboxRepository } from './config-outbox.repository';
import { PublishedPolicyGuard } from './published-policy-guard';

/** How often the relay looks for changes that were committed but not published (e.g. a crash after commit). */
export const RELAY_INTERVAL_MS = 1_000;
/** Published changes are kept this long for GET /api/dataplane/config/changes; older ones answer 410. */
export const CHANGE_RETENTION_MS = 24 * 60 * 60 * 1000;
const PRUNE_INTERVAL_MS = 10 * 60 * 1000;
const PUBLISH_BATCH = 500;
/** How long a request waits for its change to be published before answering anyway (the relay finishes the job). */
export const PUBLISH_AFTER_COMMIT_WAIT_MS = 1_000;

/** Options of the module: the API runs the relay; tests can switch it off to observe unpublished rows. */
export const CONFIG_RELAY_ENABLED = Symbol('CONFIG_RELAY_ENABLED');

/**
 * Publishes outbox rows on `gatehouse:config` in revision order (DESIGN.md §6). Request handlers call
 * publishPendingChanges() after their transaction commits; the relay calls it every second to deliver anything a
 * crash or a Redis outage left behind. Both paths are the same code, so every change is delivered at least once and
 * subscribers see revisions in increasing order.
 */
@Injectable()
export class ConfigPublisherService implements OnApplicationBootstrap, OnApplicationShutdown {
  private queue: Promise<unknown> = Promise.resolve();
  private relayTimer: NodeJS.Timeout | null = null;
  private lastPrune = 0;

  constructor(
    private readonly outbox: ConfigOutboxRepository,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(REDIS_NAMES) private readonly names: RedisNames,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CONFIG_RELAY_ENABLED) private readonly relayEnabled: boolean,
    private readonly guard: PublishedPolicyGuard,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.relayEnabled) return;
    // Not unref'd: in `npm run worker` this timer is what keeps the process alive. Shutdown clears it.
    this.relayTimer = setInterval(() => void this.runRelayOnce(), RELAY_INTERVAL_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.relayTimer) clearInterval(this.relayTimer);
    await this.queue.catch(() => undefined);
  }

  /**
   * Called by request handlers right after their transaction commits: publishes pending changes so data planes hear of
   * the change before the API answers, but never delays the answer by more than PUBLISH_AFTER_COMMIT_WAIT_MS (e.g. while
   * Redis is down). Never throws.
   */
  async publishAfterCommit(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.publishPendingChanges(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, PUBLISH_AFTER_COMMIT_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Publishes every unpublished change. Never throws: failures are logged and left to the relay. */
  publishPendingChanges(): Promise<number> {
    const run = this.queue.then(() => this.publishBatches());
    this.queue = run.catch(() => undefined);
    return run.catch((error: unknown) => {
      this.logger.warn({ err: error }, 'config publish failed; the relay will retry');
      return 0;
    });
  }

  async runRelayOnce(): Promise<void> {
    const published = await this.publishPendingChanges();
    if (published > 0) this.logger.info({ published }, 'config relay published pending changes');
    if (Date.now() - this.lastPrune > PRUNE_INTERVAL_MS) {
      this.lastPrune = Date.now();
      try {
        await this.outbox.pruneChanges(new Date(Date.now() - CHANGE_RETENTION_MS));
      } catch (error) {
        this.logger.warn({ err: error }, 'config change pruning failed');
      }
    }
  }

  private async publishBatches(): Promise<number> {
    let total = 0;
    for (;;) {
      const published = await this.outbox.publishPendingChanges(PUBLISH_BATCH, async (changes) => {
        let delivered = 0;
        for (const change of changes) {
          await this.bus.publish(
            this.names.configChannel,
            JSON.stringify(this.guard.vetChange(toConfigChangeEvent(change))),
          );
          delivered += 1;
        }
        return delivered;
      });
      total += published;
      if (published < PUBLISH_BATCH) return total;
    }
  }
}
