import type { Redis } from 'ioredis';

/**
 * MCP session affinity for pooled agent endpoints: the member that answered with an `Mcp-Session-Id` holds that MCP
 * session's state, so later requests carrying the id go to it. In Redis when the data plane has one (every data plane
 * of the installation then agrees), else in this process; bounded either way by a TTL (and a size cap in memory).
 */
export interface McpAffinity {
  get(endpointId: string, mcpSessionId: string): Promise<string | undefined>;
  set(endpointId: string, mcpSessionId: string, agentSessionId: string): void;
}

/** MCP session ids are opaque visible ASCII (spec: 0x21-0x7E); anything else is not remembered. */
export function isAffinityKey(mcpSessionId: string): boolean {
  return /^[\x21-\x7e]{1,256}$/.test(mcpSessionId);
}

export class MemoryMcpAffinity implements McpAffinity {
  readonly #entries = new Map<string, { session: string; expires: number }>();

  constructor(
    private readonly ttlMs = 3_600_000,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(endpointId: string, mcpSessionId: string): Promise<string | undefined> {
    const key = `${endpointId} ${mcpSessionId}`;
    const entry = this.#entries.get(key);
    if (entry === undefined) return Promise.resolve(undefined);
    if (entry.expires <= this.now()) {
      this.#entries.delete(key);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(entry.session);
  }

  set(endpointId: string, mcpSessionId: string, agentSessionId: string): void {
    if (!isAffinityKey(mcpSessionId)) return;
    const key = `${endpointId} ${mcpSessionId}`;
    this.#entries.delete(key);
    this.#entries.set(key, { session: agentSessionId, expires: this.now() + this.ttlMs });
    // Oldest first (insertion order): the cap drops the sessions touched longest ago.
    while (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

export class RedisMcpAffinity implements McpAffinity {
  readonly #fallback = new MemoryMcpAffinity();

  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'gatehouse:mcp-affinity:',
    private readonly ttlMs = 3_600_000,
    private readonly timeoutMs = 100,
  ) {}

  async get(endpointId: string, mcpSessionId: string): Promise<string | undefined> {
    if (!isAffinityKey(mcpSessionId)) return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      // A slow or absent Redis must not hold the request: without an answer the local memory decides.
      const value = await Promise.race([
        this.redis.get(`${this.prefix}${endpointId}:${mcpSessionId}`),
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.timeoutMs))),
      ]);
      return value ?? (await this.#fallback.get(endpointId, mcpSessionId));
    } catch {
      return this.#fallback.get(endpointId, mcpSessionId);
    } finally {
      clearTimeout(timer);
    }
  }

  set(endpointId: string, mcpSessionId: string, agentSessionId: string): void {
    if (!isAffinityKey(mcpSessionId)) return;
    this.#fallback.set(endpointId, mcpSessionId, agentSessionId);
    this.redis
      .set(`${this.prefix}${endpointId}:${mcpSessionId}`, agentSessionId, 'PX', this.ttlMs)
      .catch(() => undefined);
  }
}
