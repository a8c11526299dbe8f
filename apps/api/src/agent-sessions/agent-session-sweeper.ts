import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger';
import { AgentSessionsService } from './agent-sessions.service';

/**
 * How often sessions are checked. With the data plane's dead-peer detection (15 s) and the grace period (10 s) an
 * endpoint of a dead agent is gone within 15 + 10 + 2 s, inside the 30 s.
 */
export const AGENT_SWEEP_INTERVAL_MS = 2_000;

/**
 * Runs the agent-session sweep in every API process, so the embedded shape (one process) and the distributed one
 * sweep alike. Several API processes sweeping at once is safe: each ending re-checks its session under a row lock.
 */
@Injectable()
export class AgentSessionSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly sessions: AgentSessionsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running = this.sessions.sweep().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'agent session sweep failed; the next one retries');
      });
    }, AGENT_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
