import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger';
import { ConfigPublisherService } from '../config-publisher/config-publisher.service';
import { ENV, type Env } from '../env';
import { IpCategoriesRepository } from './ip-categories.repository';
import { refreshIpCategories, type RefreshOutcome } from './ip-category-refresh';

/**
 * Runs the IP-category refresh (ip-category-refresh.ts) at boot and then every GATEHOUSE_IP_CATEGORY_REFRESH_SECONDS,
 * when GATEHOUSE_IP_CATEGORY_SOURCES names any source. Every API process may run it: an unchanged list writes
 * nothing, and a changed one is written under a row lock and published through the config outbox like any change.
 */
@Injectable()
export class IpCategoryRefreshService implements OnApplicationBootstrap, OnApplicationShutdown {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RefreshOutcome[]> | undefined;

  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly categories: IpCategoriesRepository,
    private readonly publisher: ConfigPublisherService,
  ) {}

  onApplicationBootstrap(): void {
    if (this.env.GATEHOUSE_IP_CATEGORY_SOURCES.length === 0) return;
    void this.refreshNow();
    this.#timer = setInterval(() => void this.refreshNow(), this.env.GATEHOUSE_IP_CATEGORY_REFRESH_SECONDS * 1000);
    this.#timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** One refresh of every source (a refresh already under way is joined, not doubled). */
  refreshNow(): Promise<RefreshOutcome[]> {
    this.#running ??= (async () => {
      try {
        const outcomes = await refreshIpCategories(
          this.env.GATEHOUSE_IP_CATEGORY_SOURCES,
          this.categories,
          this.logger,
        );
        if (outcomes.some((outcome) => outcome.result === 'updated')) await this.publisher.publishAfterCommit();
        return outcomes;
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }
}
