import {
  CONFIG_CHANNEL,
  type ChangeFeed,
  type ChangeFeedHandlers,
  type ChangesResult,
  type ConfigApi,
  type SnapshotResult,
  ConfigChangeEventSchema,
  ConfigChangesResponseSchema,
  ConfigSnapshotSchema,
  DATAPLANE_ROUTES,
  HeartbeatResponseSchema,
  type ConfigChangeEvent,
  type HeartbeatRequest,
  type HeartbeatResponse,
} from '@gatehouse/contracts';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import type { z } from 'zod';

/**
 * The distributed shape's config source: the API over HTTP (`HttpConfigApi`) and Redis pub/sub (`RedisChangeFeed`).
 * The interfaces they implement live in @gatehouse/contracts, because the control plane implements them too (the
 * embedded shape hands its data plane the sync service and message bus directly).
 */
export type { ChangeFeed, ChangeFeedHandlers, ChangesResult, ConfigApi, SnapshotResult };

export class ConfigApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ConfigApiError';
  }
}

/**
 * The control plane's data-plane sync routes (`DATAPLANE_ROUTES`) over HTTP, authenticated with the shared data-plane
 * token as `Authorization: Bearer <GATEHOUSE_DATAPLANE_TOKEN>` (the API's AuthGuard refuses anything else).
 */
export class HttpConfigApi implements ConfigApi {
  readonly #agent: Agent;
  readonly #baseUrl: string;

  constructor(
    apiUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 10_000,
  ) {
    this.#baseUrl = apiUrl.replace(/\/+$/, '');
    this.#agent = new Agent({ connections: 4, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  }

  async fetchSnapshot(etag: string | null): Promise<SnapshotResult> {
    const headers: Record<string, string> = etag === null ? {} : { 'if-none-match': etag };
    const response = await this.#call('GET', DATAPLANE_ROUTES.config, headers);
    if (response.statusCode === 304) {
      await response.body.dump();
      return { kind: 'not-modified' };
    }
    const snapshot = await this.#parse(response, ConfigSnapshotSchema, `GET ${DATAPLANE_ROUTES.config}`);
    const received = response.headers.etag;
    return { kind: 'snapshot', snapshot, etag: typeof received === 'string' ? received : null };
  }

  async fetchChanges(since: number): Promise<ChangesResult> {
    const response = await this.#call('GET', `${DATAPLANE_ROUTES.changes}?since=${since}`, {});
    if (response.statusCode === 410) {
      await response.body.dump();
      return { kind: 'gone' };
    }
    return {
      kind: 'changes',
      response: await this.#parse(response, ConfigChangesResponseSchema, `GET ${DATAPLANE_ROUTES.changes}`),
    };
  }

  async heartbeat(body: HeartbeatRequest): Promise<HeartbeatResponse> {
    const response = await this.#call(
      'POST',
      DATAPLANE_ROUTES.heartbeat,
      { 'content-type': 'application/json' },
      JSON.stringify(body),
    );
    return this.#parse(response, HeartbeatResponseSchema, `POST ${DATAPLANE_ROUTES.heartbeat}`);
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  #call(method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string) {
    return request(`${this.#baseUrl}${path}`, {
      method,
      headers: { ...headers, authorization: `Bearer ${this.token}`, accept: 'application/json' },
      body,
      dispatcher: this.#agent,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }

  async #parse<T>(response: Awaited<ReturnType<typeof request>>, schema: z.ZodType<T>, what: string): Promise<T> {
    if (response.statusCode < 200 || response.statusCode >= 300) {
      const text = (await response.body.text()).slice(0, 300);
      throw new ConfigApiError(`${what} answered ${response.statusCode}: ${text}`, response.statusCode);
    }
    const parsed = schema.safeParse(await response.body.json());
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigApiError(
        `${what} answered a body that breaks the contract at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? '?'}`,
      );
    }
    return parsed.data;
  }
}

/**
 * `gatehouse:config` on Redis. ioredis reconnects by itself; after every (re)connection the channel is subscribed
 * again and `onSubscribed` tells the sync loop to fetch whatever was published while the connection was down.
 */
export class RedisChangeFeed implements ChangeFeed {
  #redis: Redis | undefined;

  constructor(
    private readonly redisUrl: string,
    /** The contract's channel; tests sharing one Redis pass a channel of their own. */
    private readonly channel: string = CONFIG_CHANNEL,
  ) {}

  start(handlers: ChangeFeedHandlers): void {
    const redis = new Redis(this.redisUrl, {
      lazyConnect: true,
      autoResubscribe: false,
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2_000),
    });
    this.#redis = redis;
    redis.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      let change: ConfigChangeEvent;
      try {
        change = ConfigChangeEventSchema.parse(JSON.parse(message));
      } catch (error) {
        handlers.onError(
          new Error(
            `ignored a malformed message on ${this.channel}: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
        return;
      }
      handlers.onChange(change);
    });
    redis.on('error', (error) => handlers.onError(error));
    redis.on('close', () => handlers.onDisconnected?.());
    redis.on('ready', () => {
      redis.subscribe(this.channel).then(
        () => handlers.onSubscribed(),
        (error: unknown) => handlers.onError(error),
      );
    });
    redis.connect().catch((error: unknown) => handlers.onError(error));
  }

  async stop(): Promise<void> {
    const redis = this.#redis;
    this.#redis = undefined;
    if (redis === undefined) return;
    redis.disconnect(false);
    await Promise.resolve();
  }
}
