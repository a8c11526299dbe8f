import {
  CONFIG_CHANNEL,
  ConfigChangeEventSchema,
  ConfigChangesResponseSchema,
  ConfigSnapshotSchema,
  DATAPLANE_ROUTES,
  HeartbeatResponseSchema,
  type ConfigChangeEvent,
  type ConfigChangesResponse,
  type ConfigSnapshot,
  type HeartbeatRequest,
  type HeartbeatResponse,
} from '@gatehouse/contracts';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import type { z } from 'zod';

/**
 * Where configuration comes from (DESIGN.md §6), as two small interfaces so the embedded shape can hand the data
 * plane in-process implementations: `ConfigApi` answers snapshot / changes / heartbeat calls, `ChangeFeed` pushes
 * each committed change. The distributed shape uses the API over HTTP and Redis pub/sub (below).
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
