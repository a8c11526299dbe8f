import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AgentSessionLeaveRequestSchema,
  AgentSessionRegisterRequestSchema,
  type AgentDataplane,
  type AgentEndpointOutcome,
  type AgentSessionRegistration,
  type SyncAgentEndpoint,
  CONFIG_CHANNEL,
  ConfigChangeEventSchema,
  ConfigChangesQuerySchema,
  ConfigChangesResponseSchema,
  ConfigSnapshotSchema,
  DATAPLANE_ROUTES,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  type ConfigChangeEvent,
  type ConfigSnapshot,
  type SyncEndpoint,
  type SyncIpCategory,
} from '@gatehouse/contracts';
import type { z } from 'zod';
import { Redis } from 'ioredis';

/**
 * A contract-faithful stand-in for the control plane's data-plane sync routes (DESIGN.md §6, `@gatehouse/contracts`),
 * fed by the test: it keeps endpoints and categories, numbers every change with the next revision, serves
 * `GET /api/dataplane/config` (ETag `"rev-<revision>"` + 304), `GET …/changes?since=&limit=` (paged with `has_more`;
 * 410 CONFIG_REVISION_GONE below the retained window) and `POST /api/dataplane/heartbeat`, all behind
 * `Authorization: Bearer <token>` like the API's AuthGuard, and publishes each change on Redis `gatehouse:config`.
 * Everything it sends is parsed with the contract schemas first. This is the one file to swap for the real API.
 */
export class TestConfigServer {
  readonly token = 'test-dataplane-token';
  revision = 0;
  readonly endpoints = new Map<string, SyncEndpoint>();
  readonly categories = new Map<string, SyncIpCategory>();
  readonly changes: ConfigChangeEvent[] = [];
  readonly heartbeats: z.output<typeof HeartbeatRequestSchema>[] = [];
  /** Authorization headers seen (tests check the data plane sends the Bearer form). */
  readonly authorizations: (string | undefined)[] = [];
  /** Page size of `changes?since` when the caller sends no `limit` (the API's default is 1,000). */
  changesPageLimit = 1_000;
  /** What heartbeat answers suggest. */
  heartbeatIntervalSeconds = 30;
  readonly requests: string[] = [];
  /** Changes with revision ≤ this are pruned: `changes?since` below it answers 410. */
  prunedThrough = 0;
  /** When false, answers 503 to everything (the API process is up but broken). */
  healthy = true;
  /** Agent authtokens it accepts (secret → state); the real API stores them hashed. */
  readonly authtokens = new Map<string, { revoked: boolean }>();
  /** Agent sessions by session_key: which data planes hold a connection, and which endpoints it serves. */
  readonly agentSessions = new Map<
    string,
    { id: string; authtoken: string; dataplanes: Set<string>; endpointIds: Set<string> }
  >();
  /** What heartbeat answers and registrations list as `agent_dataplanes`. */
  agentDataplanes: AgentDataplane[] = [];
  readonly agentRegistrations: z.output<typeof AgentSessionRegisterRequestSchema>[] = [];
  readonly agentLeaves: z.output<typeof AgentSessionLeaveRequestSchema>[] = [];
  #server: Server | undefined;
  #publisher: Redis | undefined;
  #port = 0;

  /** Each test file publishes on a channel of its own, so test runs sharing the machine's Redis never cross. */
  readonly channel: string;

  constructor(
    private readonly redisUrl: string | undefined,
    /** The contract's channel for data planes started as processes (they always listen there). */
    channel?: string,
  ) {
    this.channel = channel ?? `${CONFIG_CHANNEL}:test:${Math.random().toString(36).slice(2, 10)}`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async start(port = 0): Promise<void> {
    if (this.redisUrl !== undefined && this.#publisher === undefined) {
      this.#publisher = new Redis(this.redisUrl, { maxRetriesPerRequest: 1 });
      this.#publisher.on('error', () => undefined);
    }
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        res.writeHead(500);
        res.end(String(error));
      });
    });
    server.listen(port === 0 ? this.#port : port, '127.0.0.1');
    await once(server, 'listening');
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops answering (connection refused), keeping the state so `start()` can resume on the same port. */
  async stopHttp(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
  }

  async close(): Promise<void> {
    await this.stopHttp();
    this.#publisher?.disconnect();
    this.#publisher = undefined;
  }

  snapshot(): ConfigSnapshot {
    return ConfigSnapshotSchema.parse({
      revision: this.revision,
      generated_at: new Date().toISOString(),
      endpoints: [...this.endpoints.values()],
      ip_categories: [...this.categories.values()],
    });
  }

  /** Records a change without publishing it (as if the publish was lost); returns it. */
  record(change: Omit<ConfigChangeEvent, 'revision' | 'created_at'>): ConfigChangeEvent {
    const full = ConfigChangeEventSchema.parse({
      ...change,
      revision: ++this.revision,
      created_at: new Date().toISOString(),
    });
    this.changes.push(full);
    switch (full.kind) {
      case 'endpoint.upserted':
        this.endpoints.set(full.entity_id, full.endpoint!);
        break;
      case 'endpoint.deleted':
        this.endpoints.delete(full.entity_id);
        break;
      case 'ip_category.upserted':
        this.categories.set(full.entity_id, full.ip_category!);
        break;
      case 'ip_category.deleted':
        this.categories.delete(full.entity_id);
        break;
      case 'agent_session.ended':
        break;
    }
    return full;
  }

  async publish(change: ConfigChangeEvent): Promise<void> {
    if (this.#publisher === undefined) throw new Error('no Redis publisher configured');
    await this.#publisher.publish(this.channel, JSON.stringify(change));
  }

  /** Commits and publishes, like the API after a 2xx. */
  async upsertEndpoint(endpoint: EndpointInput, options: { publish?: boolean } = {}): Promise<ConfigChangeEvent> {
    const synced = syncedEndpoint(endpoint);
    const change = this.record({
      kind: 'endpoint.upserted',
      entity_id: synced.id,
      endpoint: synced,
      ip_category: null,
    });
    if (options.publish !== false && this.#publisher !== undefined) await this.publish(change);
    return change;
  }

  async deleteEndpoint(id: string, options: { publish?: boolean } = {}): Promise<ConfigChangeEvent> {
    const change = this.record({ kind: 'endpoint.deleted', entity_id: id, endpoint: null, ip_category: null });
    if (options.publish !== false && this.#publisher !== undefined) await this.publish(change);
    return change;
  }

  async upsertCategory(category: CategoryInput, options: { publish?: boolean } = {}): Promise<ConfigChangeEvent> {
    const change = this.record({
      kind: 'ip_category.upserted',
      entity_id: category.name,
      endpoint: null,
      ip_category: { description: '', builtin: false, ...category },
    });
    if (options.publish !== false && this.#publisher !== undefined) await this.publish(change);
    return change;
  }

  /**
   * The control plane's side of an agent connection, as DESIGN.md §4 describes it: check the authtoken, give the
   * session_key its session id, claim each declared URL (a URL held by another endpoint, or by another session without
   * pooling on both sides, is refused for that endpoint only), and publish the endpoints' new member lists.
   */
  async registerAgent(request: z.output<typeof AgentSessionRegisterRequestSchema>): Promise<AgentSessionRegistration> {
    this.agentRegistrations.push(request);
    const token = this.authtokens.get(request.authtoken);
    if (token === undefined)
      return { status: 'refused', error_code: 'AUTHTOKEN_INVALID', message: 'the authtoken is not known.' };
    if (token.revoked)
      return { status: 'refused', error_code: 'AUTHTOKEN_REVOKED', message: 'the authtoken was revoked.' };
    const key = request.declaration.session_key;
    let session = this.agentSessions.get(key);
    if (session === undefined) {
      session = {
        id: `as_${Math.random().toString(36).slice(2, 12)}`,
        authtoken: request.authtoken,
        dataplanes: new Set(),
        endpointIds: new Set(),
      };
      this.agentSessions.set(key, session);
    }
    session.dataplanes.add(request.dataplane_id);
    const outcomes: AgentEndpointOutcome[] = [];
    for (const declared of request.declaration.endpoints) {
      const existing = [...this.endpoints.values()].find((endpoint) => endpoint.url === declared.url);
      const refuse = (message: string): void => {
        outcomes.push({
          name: declared.name,
          url: declared.url,
          status: 'refused',
          endpoint_id: null,
          error: { error_code: 'ENDPOINT_URL_TAKEN', message, details: [] },
        });
      };
      if (existing !== undefined && existing.type !== 'agent') {
        refuse(`${declared.url} belongs to a ${existing.type} endpoint.`);
        continue;
      }
      const members = existing?.agent?.members ?? [];
      const others = members.filter((member) => member.session_id !== session.id);
      if (others.length > 0 && !(existing!.agent!.pooling_enabled && declared.pooling_enabled)) {
        refuse(`${declared.url} is served by another agent session without pooling.`);
        continue;
      }
      const id = existing?.id ?? `ep_agent_${Math.random().toString(36).slice(2, 10)}`;
      const agent: SyncAgentEndpoint = {
        pooling_enabled: declared.pooling_enabled,
        members: [...others, { session_id: session.id, upstream: declared.upstream }],
      };
      session.endpointIds.add(id);
      if (!members.some((member) => member.session_id === session.id))
        await this.upsertEndpoint({
          id,
          url: declared.url,
          type: 'agent',
          traffic_policy: declared.traffic_policy,
          agent,
        });
      outcomes.push({ name: declared.name, url: declared.url, status: 'online', endpoint_id: id, error: null });
    }
    return { status: 'accepted', session_id: session.id, endpoints: outcomes, dataplanes: this.agentDataplanes };
  }

  /** A data plane lost its connection; with no data plane left the session ends (no grace here: tests are quick). */
  async leaveAgent(request: z.output<typeof AgentSessionLeaveRequestSchema>): Promise<void> {
    this.agentLeaves.push(request);
    const entry = [...this.agentSessions.entries()].find(([, session]) => session.id === request.session_id);
    if (entry === undefined) return;
    entry[1].dataplanes.delete(request.dataplane_id);
    if (entry[1].dataplanes.size === 0) await this.#endAgentSession(entry[0], false);
  }

  /** Revokes an authtoken: its sessions end at once (`agent_session.ended`), and reconnects are refused. */
  async revokeAuthtoken(secret: string): Promise<void> {
    const token = this.authtokens.get(secret);
    if (token !== undefined) token.revoked = true;
    for (const [key, session] of [...this.agentSessions.entries()])
      if (session.authtoken === secret) await this.#endAgentSession(key, true);
  }

  async #endAgentSession(key: string, announce: boolean): Promise<void> {
    const session = this.agentSessions.get(key);
    if (session === undefined) return;
    this.agentSessions.delete(key);
    for (const id of session.endpointIds) {
      const endpoint = this.endpoints.get(id);
      if (endpoint?.agent === undefined || endpoint.agent === null) continue;
      const members = endpoint.agent.members.filter((member) => member.session_id !== session.id);
      if (members.length === 0) await this.deleteEndpoint(id);
      else
        await this.upsertEndpoint({
          id,
          url: endpoint.url,
          type: 'agent',
          traffic_policy: endpoint.policy?.source ?? null,
          agent: { ...endpoint.agent, members },
        });
    }
    if (announce) {
      const change = this.record({
        kind: 'agent_session.ended',
        entity_id: session.id,
        endpoint: null,
        ip_category: null,
      });
      if (this.#publisher !== undefined) await this.publish(change);
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests.push(`${req.method} ${req.url}`);
    if (!this.healthy) return send(res, 503, { error_code: 'UNAVAILABLE', message: 'test: unhealthy' });
    // Exactly the API's AuthGuard: `Authorization: Bearer <token>`, nothing else.
    this.authorizations.push(req.headers.authorization);
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (bearer !== this.token)
      return send(res, 401, { error_code: 'UNAUTHENTICATED', message: 'A valid data-plane token is required' });
    const url = new URL(req.url ?? '/', 'http://config.test');
    if (req.method === 'GET' && url.pathname === DATAPLANE_ROUTES.config) {
      const etag = `"rev-${this.revision}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag });
        res.end();
        return;
      }
      return send(res, 200, this.snapshot(), { etag });
    }
    if (req.method === 'GET' && url.pathname === DATAPLANE_ROUTES.changes) {
      const query = ConfigChangesQuerySchema.safeParse({
        since: url.searchParams.get('since') ?? undefined,
        limit: url.searchParams.get('limit') ?? this.changesPageLimit,
      });
      if (!query.success) return send(res, 400, { error_code: 'VALIDATION_FAILED', message: query.error.message });
      const { since, limit } = query.data;
      if (since < this.prunedThrough || since > this.revision)
        return send(res, 410, {
          error_code: 'CONFIG_REVISION_GONE',
          message: `Changes since revision ${since} are not available; fetch ${DATAPLANE_ROUTES.config}`,
        });
      const after = this.changes.filter((change) => change.revision > since);
      return send(
        res,
        200,
        ConfigChangesResponseSchema.parse({
          revision: this.revision,
          changes: after.slice(0, limit),
          has_more: after.length > limit,
        }),
      );
    }
    if (req.method === 'POST' && url.pathname === DATAPLANE_ROUTES.heartbeat) {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const parsed = HeartbeatRequestSchema.strict().safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      if (!parsed.success) return send(res, 400, { error_code: 'VALIDATION_FAILED', message: parsed.error.message });
      this.heartbeats.push(parsed.data);
      return send(
        res,
        200,
        HeartbeatResponseSchema.parse({
          revision: this.revision,
          heartbeat_interval_seconds: this.heartbeatIntervalSeconds,
          agent_dataplanes: this.agentDataplanes,
          ended_agent_sessions: (parsed.data.agent_sessions ?? []).filter(
            (sessionId) => ![...this.agentSessions.values()].some((session) => session.id === sessionId),
          ),
        }),
      );
    }
    if (
      req.method === 'POST' &&
      (url.pathname === DATAPLANE_ROUTES.agentSessions || url.pathname === DATAPLANE_ROUTES.agentSessionLeave)
    ) {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (url.pathname === DATAPLANE_ROUTES.agentSessions) {
        const parsed = AgentSessionRegisterRequestSchema.strict().safeParse(body);
        if (!parsed.success) return send(res, 400, { error_code: 'VALIDATION_FAILED', message: parsed.error.message });
        return send(res, 200, await this.registerAgent(parsed.data));
      }
      const parsed = AgentSessionLeaveRequestSchema.strict().safeParse(body);
      if (!parsed.success) return send(res, 400, { error_code: 'VALIDATION_FAILED', message: parsed.error.message });
      await this.leaveAgent(parsed.data);
      res.writeHead(204).end();
      return;
    }
    send(res, 404, { error_code: 'NOT_FOUND', message: 'not found' });
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A test's shorthand for an endpoint; `syncedEndpoint` turns it into the contract's SyncEndpoint. */
export interface EndpointInput {
  id: string;
  url: string;
  type?: 'cloud' | 'internal' | 'agent';
  /** For type `agent`: its pool (the fake control plane fills it from registrations). */
  agent?: SyncAgentEndpoint;
  /** The policy source (becomes `policy.source`, with its sha256); null or absent → `policy: null`. */
  traffic_policy?: string | null;
  /** `policy.version` (default 1). */
  policy_version?: number | null;
  upstream_url?: string | null;
  upstream_host_header?: 'preserve' | 'rewrite';
  request_log_capture?: SyncEndpoint['request_log_capture'];
  /** Sealed secrets sent with the policy (`policy.secrets`). */
  secrets?: NonNullable<SyncEndpoint['policy']>['secrets'];
  /** The shadow policy source (issue 17 item 3); absent → none. */
  shadow_policy?: string;
}

export type CategoryInput = Pick<SyncIpCategory, 'name' | 'cidrs'> & Partial<SyncIpCategory>;

export function policySha256(source: string): string {
  return createHash('sha256').update(source, 'utf8').digest('hex');
}

export function syncedEndpoint(input: EndpointInput): SyncEndpoint {
  const url = new URL(input.url);
  const proto = url.protocol === 'https:' ? 'https' : 'http';
  const source = input.traffic_policy ?? null;
  return {
    id: input.id,
    url: `${url.protocol}//${url.host}`,
    type: input.type ?? (url.hostname.endsWith('.internal') ? 'internal' : 'cloud'),
    proto,
    host: url.hostname.toLowerCase(),
    port: url.port === '' ? (proto === 'https' ? 443 : 80) : Number(url.port),
    upstream_url: input.upstream_url ?? null,
    upstream_host_header: input.upstream_host_header ?? 'preserve',
    policy:
      source === null
        ? null
        : {
            version: input.policy_version ?? 1,
            sha256: policySha256(source),
            source,
            ...(input.secrets === undefined ? {} : { secrets: input.secrets }),
          },
    request_log_capture: input.request_log_capture ?? { headers: false, bodies: false },
    policy_rejected: null,
    agent: input.agent ?? null,
    shadow_policy:
      input.shadow_policy === undefined
        ? null
        : { sha256: policySha256(input.shadow_policy), source: input.shadow_policy },
  };
}
