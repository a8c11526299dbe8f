import { Injectable, Optional } from '@nestjs/common';
import { RedisService } from '../redis/redis.service';
import type { DependencyHealth, HealthResponse } from './health.dto';
import { HealthRepository } from './health.repository';

const CHECK_TIMEOUT_MS = 2_000;
const REDIS_NOT_CONFIGURED: DependencyHealth = { status: 'disabled', latency_ms: 0 };

async function check(probe: () => Promise<unknown>): Promise<DependencyHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: 'ok', latency_ms: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    return {
      status: 'error',
      latency_ms: Math.round((performance.now() - started) * 10) / 10,
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

@Injectable()
export class HealthService {
  constructor(
    private readonly health: HealthRepository,
    @Optional() private readonly redis?: RedisService,
  ) {}

  async checkHealth(): Promise<HealthResponse> {
    const client = this.redis?.client;
    const [database, redis] = await Promise.all([
      check(() => this.health.pingDatabase()),
      client ? check(() => client.ping()) : Promise.resolve(REDIS_NOT_CONFIGURED),
    ]);
    const healthy = database.status === 'ok' && redis.status !== 'error';
    return { status: healthy ? 'ok' : 'error', database, redis };
  }
}
