import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { hostname } from 'node:os';
import {
  MemoryCircuitBreakers,
  MemoryRateLimitStore,
  systemClock,
  type Clock,
  type JwksFetcher,
  type IdentityProviderClient,
  type IpIntelligence,
  type SessionKeyring,
  type RateLimitStore,
} from '@gatehouse/traffic-policy';
import {
  AGENT_TUNNEL_PATH,
  AGENT_TUNNEL_PROTOCOL,
  type AgentSessionApi,
  type DataplaneTraffic,
  type OutboundRules,
} from '@gatehouse/contracts';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Agent } from 'undici';
import { AgentTunnels } from './agent/agent-tunnels.js';
import { MemoryMcpAffinity, RedisMcpAffinity, type McpAffinity } from './agent/mcp-affinity.js';
import {
  createAdminServer,
  readinessReport,
  statusReport,
  type AdminReportSources,
  type ReadinessReport,
  type StatusReport,
} from './admin/admin-server.js';
import type { ChangeFeed, ConfigApi } from './config/config-source.js';
import { ConfigStore } from './config/config-store.js';
import { ConfigSync } from './config/config-sync.js';
import { LastKnownGoodWriter } from './config/last-known-good.js';
import { HttpSideCalls } from './ports/http-side-calls.js';
import type { SharedPorts } from './config/runtime-config.js';
import { createAiProviders } from './proxy/ai-providers.js';
import { LoggingRequestEventSink } from './events/logging-sink.js';
import { requestEventsReport, type RequestEventSink } from './events/request-event.js';
import { createLogger } from './logger.js';
import { DataplaneMetrics } from './metrics.js';
import { ShadowEvaluator } from './proxy/shadow-evaluation.js';
import { HttpJwksFetcher } from './ports/http-jwks-fetcher.js';
import { HttpIdentityProviderClient } from './ports/http-identity-provider.js';
import { HttpWebhookCertificates } from './ports/http-webhook-certificates.js';
import { OutboundGuard } from './ports/outbound-guard.js';
import { RedisRateLimitStore } from './ports/redis-rate-limit-store.js';
import { createClientIpResolver } from './proxy/client-ip.js';
import { recordConnectionStart } from './proxy/admit-request.js';
import { AdmissionTurns, type AdmittedHandler } from './proxy/admission-turns.js';
import { answerExpectationFailed, createContinueHandler, createHttpProxy } from './proxy/http-proxy.js';
import { randomLoopId } from './proxy/loop-detection.js';
import type { ProxyDependencies } from './proxy/proxy-dependencies.js';
import { KeepAliveConnections } from './proxy/keep-alive-connections.js';
import { LongLivedStreams } from './proxy/long-lived-streams.js';
import { createUpgradeProxy } from './proxy/websocket-proxy.js';
import { createSettleCollection } from './settle-collection.js';

export const dataplaneVersion = '0.1.0';

/**
 * Everything a data plane needs, with nothing read from the environment: `main.ts` fills this from `env.ts` for the
 * distributed shape; the embedded shape (API + data plane in one process) passes in-process implementations of the
 * config source, change feed, rate-limit store and event sink instead of HTTP/Redis/logging ones.
 */
export interface DataplaneOptions {
  /** Traffic port (0 picks a free one); `host` is the interface, default 0.0.0.0. */
  port: number;
  host?: string;
  /** Admin port (0 picks a free one); null runs no admin server (the embedding process exposes its own). */
  adminPort: number | null;
  /** The admin port's interface; default 127.0.0.1 (it tells endpoint counts, ids and errors to whoever asks). */
  adminHost?: string;
  /**
   * HTTPS on the traffic port. With `clientCa` (mutual TLS, DATAPLANE_TLS_CLIENT_CA) every client must present a
   * certificate those CAs issued, as ngrok's terminate-tls does with `mutual_tls_certificate_authorities`: a client
   * without one is refused at the handshake, so `conn.tls.client.*` always describes a verified certificate.
   */
  tls?: { cert: string | Buffer; key: string | Buffer; clientCa?: string | Buffer };
  /** Where snapshots, changes and heartbeats go. */
  configApi: ConfigApi;
  /**
   * Where agent sessions are registered and left (HTTP with the data-plane token in the distributed shape, the
   * control plane's service in the embedded one). Without it the traffic port refuses agent tunnels (503).
   */
  agentSessionApi?: AgentSessionApi;
  /** Agent tunnel keep-alive (tests shorten them); defaults AGENT_PING_INTERVAL_MS / AGENT_DEAD_PEER_MS. */
  agentPingIntervalMs?: number;
  agentDeadPeerMs?: number;
  /** Pushed changes (Redis pub/sub in the distributed shape); without one, heartbeats are the only catch-up trigger. */
  changeFeed?: ChangeFeed;
  /** Global counters. Default: Redis when `redisUrl` is set, else per-process memory. */
  rateLimitStore?: RateLimitStore;
  redisUrl?: string;
  /** How long a rate-limit check waits for Redis before answering from the local fallback. */
  rateLimitTimeoutMs?: number;
  /** Prefix of the Redis counters (GATEHOUSE_REDIS_PREFIX through `redisNames`); default `gatehouse:rl:`. */
  rateLimitKeyPrefix?: string;
  /**
   * Default: a logging sink on `logger`. `main.ts` passes the BullMQ sink when REDIS_URL is set. The data plane owns
   * the sink: `stop()` closes it (delivering what is buffered) after the last in-flight request finished.
   */
  eventSink?: RequestEventSink;
  logger?: Logger;
  /** Directory of the last-known-good snapshot; undefined disables it. */
  dataDirectory?: string;
  /** With a last-known-good config, how long the boot waits for the API before serving on it (default 1 s). */
  bootSyncWaitMs?: number;
  /**
   * Whether this data plane writes the last-known-good snapshot (it always reads it at boot). Default true; with
   * several workers only worker 0 writes, so the file is never rewritten N times per change by processes that may be
   * a revision apart (ARCHITECTURE.md, "Data plane workers").
   */
  writeLastKnownGood?: boolean;
  /**
   * Minimum spacing of last-known-good writes, default 1 s: changes in between are coalesced into the next write, so
   * a burst of edits costs one 10 MB write (at 10,000 endpoints) instead of one per change. The newest always lands.
   */
  lastKnownGoodIntervalMs?: number;
  /**
   * Compiled policies kept in memory; the rest are kept as text and compile on their next request (≈0.3 ms for a
   * walkthrough-size policy). Default: all of them (the distributed shape's env default is 2,000).
   */
  compiledPolicies?: number;
  trustedProxies?: readonly string[];
  /**
   * `conn.geo.*` and `conn.client_ip.as.*` (`ports/mmdb-ip-intelligence.ts`); absent, every field reads empty.
   * `close()`, when it has one, runs on stop (it ends the file-change checks).
   */
  ipIntelligence?: IpIntelligence & { close?(): void };
  /** `conn.server_region` (GATEHOUSE_SERVER_REGION); absent reads ''. */
  serverRegion?: string;
  dataplaneId?: string;
  /**
   * DATAPLANE_PUBLIC_URL: the address clients use when a load balancer or NAT fronts this data plane. Heartbeats
   * report it with the scheme, bind host and traffic port, so the dashboard can say where to send traffic.
   */
  publicUrl?: string;
  idleTimeoutMs?: number;
  /**
   * DATAPLANE_UPSTREAM_MAX_CONNECTIONS: most connections to one upstream origin; 0 or unset: no cap. A cap is a queue
   * in front of the upstream, and an open SSE stream (every MCP client holds one) keeps its connection busy for as
   * long as it is open, so a cap of N would leave client N+1's stream waiting with no answer.
   */
  upstreamMaxConnections?: number;
  /** Fixed heartbeat spacing; default: what the API's heartbeat answers suggest (30 s until the first one). */
  heartbeatIntervalMs?: number;
  maxBodyBytes?: number;
  /** The most of a JSON request body read to check it for MCP messages (413 above). Default 4 MiB. */
  mcpMaxBodyBytes?: number;
  hopLimit?: number;
  /**
   * This installation's RFC 8586 CDN-Loop id, appended to every forwarded request; a request arriving with it is a
   * loop (508 LOOP_DETECTED). `dataplaneOptionsFromEnv` derives it from the data-plane token, so every data plane of
   * an installation shares it; default: random for this process.
   */
  loopId?: string;
  /**
   * Opens the secrets sealed into synced policies; `dataplaneOptionsFromEnv` derives it from the data-plane token
   * (@gatehouse/runtime `deriveDataplaneSecretsKey`). Without it policies naming secrets fail those requests closed.
   */
  secretsKey?: Buffer;
  /** A request arriving with this many CDN-Loop entries or more is refused as a loop (default 10). */
  maxProxyHops?: number;
  /**
   * The operator's outbound rules (GATEHOUSE_UPSTREAM_ALLOW / _DENY), enforced when upstreams and JWKS URLs are
   * dialed. Default: `defaultOutboundRules()` (loopback and private networks allowed; link-local, metadata,
   * unspecified and reserved addresses refused). The data plane's own ports are always refused.
   */
  outboundRules?: OutboundRules;
  /** Further ports that are this gateway's own (the embedded shape's API port). */
  gatewayPorts?: readonly number[];
  /** Host names that reach this gateway (its public names): an upstream there is a loop. */
  gatewayHostNames?: readonly string[];
  jwks?: JwksFetcher;
  /** The sign-in actions' provider calls; default: over HTTP through the outbound rules. */
  identityProviders?: IdentityProviderClient;
  /**
   * Hosts (`host` or `host:port`) whose certificates verify-webhook's `sns` fetches besides AWS's own
   * (GATEHOUSE_SNS_CERT_HOSTS); the outbound rules still apply.
   */
  snsCertificateHosts?: readonly string[];
  /**
   * Secrets the sign-in actions (openid-connect, oauth) derive their cookie keys from: the first seals, all open, so
   * a new secret goes first while the old one still opens existing sessions. `dataplaneOptionsFromEnv` derives one
   * from the data-plane token (@gatehouse/runtime `deriveDataplaneSessionSecret`), shared by every data plane of an
   * installation. Absent: a random secret for this process (sessions end with it and are not shared).
   */
  sessionSecrets?: readonly Uint8Array[];
  clock?: Clock;
  /** On stop, how long in-flight requests may finish before their connections are cut (default 10 s). */
  shutdownGraceMs?: number;
  /**
   * On stop, how long SSE responses and WebSocket connections keep flowing before they are ended cleanly (SSE: the
   * response ends, the client reconnects with Last-Event-ID; WebSocket: close frame 1001 Going Away). Default 2 s:
   * short enough that a drain with open streams still ends within 5 s.
   */
  streamGraceMs?: number;
  /**
   * Requests started per event-loop turn; later arrivals of the same turn wait for the next turns, in order
   * (proxy/admission-turns.ts says why). Default 8; 0: no limit.
   */
  admissionsPerTurn?: number;
  /** Node process metrics (heap, event loop lag) on /metrics; off when several data planes share a process. */
  collectProcessMetrics?: boolean;
}

export interface Dataplane {
  readonly store: ConfigStore;
  readonly sync: ConfigSync;
  readonly metrics: DataplaneMetrics;
  /** Boots: last-known-good, then the API; listens once the first sync was attempted (traffic flows on LKG). */
  start(): Promise<{ port: number; adminPort: number | null }>;
  stop(): Promise<void>;
  /** What `/readyz` and `/status` answer; a cluster worker sends it to the primary, which answers for all workers. */
  report(): { readiness: ReadinessReport; status: StatusReport };
}

export function createDataplane(options: DataplaneOptions): Dataplane {
  const logger = options.logger ?? createLogger('info');
  const metrics = new DataplaneMetrics(options.collectProcessMetrics ?? false);
  const clock = options.clock ?? systemClock;

  // Shared ports: they outlive config swaps (counters and breakers must not reset when a policy changes).
  let redis: Redis | undefined;
  let rateLimits = options.rateLimitStore;
  if (rateLimits === undefined && options.redisUrl !== undefined) {
    // No offline queue and no retries: while Redis is away a check fails at once and falls back to local counters
    // instead of queueing behind a reconnect.
    redis = new Redis(options.redisUrl, {
      // Checks issued in the same tick go out in one write (one syscall instead of one per request under load).
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2_000),
    });
    redis.on('error', (error) => logger.debug({ err: error }, 'rate-limit Redis connection problem'));
    rateLimits = new RedisRateLimitStore(redis, {
      timeoutMs: options.rateLimitTimeoutMs ?? 100,
      ...(options.rateLimitKeyPrefix === undefined ? {} : { keyPrefix: options.rateLimitKeyPrefix }),
      onFallback: (reason) => metrics.rateLimitFallbacks.inc({ reason }),
    });
  }
  const outbound = new OutboundGuard(options.outboundRules, {
    ports: [
      ...(options.gatewayPorts ?? []),
      ...[options.port, options.adminPort].filter((port): port is number => port !== 0 && port !== null),
    ],
    hostNames: options.gatewayHostNames ?? [],
  });
  const idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
  // Every connection to an upstream or a JWKS URL is judged by the outbound rules after DNS (outbound-guard.ts).
  const dispatcher = new Agent({
    keepAliveTimeout: 30_000,
    connections: options.upstreamMaxConnections || null,
    pipelining: 1,
    headersTimeout: idleTimeoutMs,
    bodyTimeout: idleTimeoutMs,
    connect: outbound.connector(),
  });
  const clientIps = createClientIpResolver(options.trustedProxies ?? []);
  // Stable across restarts when the port is fixed; with port 0 (tests, embedded) the pid keeps processes apart.
  const dataplaneId =
    options.dataplaneId ?? `${hostname()}:${options.port === 0 ? `pid-${process.pid}` : options.port}`;
  const agentTunnels =
    options.agentSessionApi === undefined
      ? undefined
      : new AgentTunnels({
          api: options.agentSessionApi,
          dataplaneId,
          logger,
          clientIps,
          ...(options.agentPingIntervalMs === undefined ? {} : { pingIntervalMs: options.agentPingIntervalMs }),
          ...(options.agentDeadPeerMs === undefined ? {} : { deadPeerMs: options.agentDeadPeerMs }),
        });
  if (agentTunnels !== undefined) metrics.trackAgentTunnels(agentTunnels);
  let affinityRedis: Redis | undefined;
  if (agentTunnels !== undefined && options.redisUrl !== undefined) {
    affinityRedis =
      redis ??
      new Redis(options.redisUrl, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2_000),
      });
    affinityRedis.on('error', (error) => logger.debug({ err: error }, 'MCP affinity Redis connection problem'));
  }
  const mcpAffinity: McpAffinity =
    affinityRedis === undefined
      ? new MemoryMcpAffinity()
      : new RedisMcpAffinity(affinityRedis, `${options.rateLimitKeyPrefix ?? 'gatehouse:'}mcp-affinity:`);
  const loopId = options.loopId ?? randomLoopId();
  const hopLimit = options.hopLimit ?? 5;
  const shared: SharedPorts = {
    clock,
    sideCalls: new HttpSideCalls({ dispatcher, outbound, loopId, hopLimit, logger }),
    rateLimits: rateLimits ?? new MemoryRateLimitStore(),
    jwks: options.jwks ?? new HttpJwksFetcher({ dispatcher, logger, outbound }),
    identityProviders: options.identityProviders ?? new HttpIdentityProviderClient({ dispatcher, logger, outbound }),
    webhookCertificates: new HttpWebhookCertificates({
      dispatcher,
      logger,
      outbound,
      ...(options.snsCertificateHosts === undefined ? {} : { extraHosts: options.snsCertificateHosts }),
    }),
    sessionKeys: sessionKeyring(options.sessionSecrets, logger),
    circuitBreakers: new MemoryCircuitBreakers(),
    ...(options.ipIntelligence === undefined ? {} : { ipIntelligence: options.ipIntelligence }),
    aiProvidersFor: (internalByUrl) => createAiProviders({ dispatcher, agentTunnels, idleTimeoutMs }, internalByUrl),
    ...(agentTunnels === undefined ? {} : { agentPresence: agentTunnels }),
    ...(options.secretsKey === undefined ? {} : { secretsKey: options.secretsKey }),
  };

  const writer =
    options.dataDirectory === undefined || options.writeLastKnownGood === false
      ? undefined
      : new LastKnownGoodWriter(
          options.dataDirectory,
          (error) => logger.error({ err: error }, 'writing the last-known-good config failed'),
          options.lastKnownGoodIntervalMs ?? 1_000,
        );
  // After a whole snapshot or the background compile pass: its garbage is collected once config work is quiet.
  let requestsSeen = 0;
  const settle = createSettleCollection(settleCollection, {
    requests: () => requestsSeen,
    onCollected: (ms, youngBytes) =>
      logger.debug({ ms: Math.round(ms), youngBytes }, 'collected the garbage of a bulk config load'),
  });
  const store = new ConfigStore(
    shared,
    logger,
    writer,
    {
      onSwap: (config, buildSeconds) => {
        metrics.configRevision.set(config.revision);
        metrics.endpoints.set(config.endpointsById.size);
        metrics.failingEndpoints.set(config.failures.size);
        metrics.configBuildSeconds.observe(buildSeconds);
        metrics.configAppliedAt.set(Date.now() / 1000);
        // The fleet view's lag and last_error follow the swap at once, not one heartbeat interval later.
        sync.reportSoon();
      },
      onApplyError: () => metrics.configApplyErrors.inc(),
      onBulkWork: () => settle.schedule(),
    },
    options.compiledPolicies,
  );
  metrics.trackPolicyCache(store.policies);

  // The traffic port heartbeats report: with port 0 it is known only once listening (start() fills it in).
  let trafficPort = options.port === 0 ? undefined : options.port;
  const trafficAddress = (): DataplaneTraffic | undefined =>
    trafficPort === undefined
      ? undefined
      : {
          scheme: options.tls === undefined ? 'http' : 'https',
          host: options.host ?? '0.0.0.0',
          port: trafficPort,
          ...(options.publicUrl === undefined ? {} : { public_url: options.publicUrl }),
        };

  const sink: RequestEventSink = options.eventSink ?? new LoggingRequestEventSink(logger);
  metrics.trackSink(sink);

  const sync = new ConfigSync(
    store,
    options.configApi,
    options.changeFeed,
    {
      dataplaneId,
      hostname: hostname(),
      version: dataplaneVersion,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      traffic: trafficAddress,
      dataDirectory: options.dataDirectory,
      ...(options.bootSyncWaitMs === undefined ? {} : { bootSyncWaitMs: options.bootSyncWaitMs }),
      onConflict: () => metrics.configConflicts.inc(),
      ruleCounters: metrics.ruleCounters,
      requestEvents: () => requestEventsReport(sink),
      ...(agentTunnels === undefined
        ? {}
        : {
            agentSessions: () => agentTunnels.sessionIds(),
            onAgentDataplanes: (dataplanes) => agentTunnels.updateDataplanes(dataplanes),
            onAgentSessionEnded: (sessionId) => agentTunnels.endSession(sessionId, 'agent_session.ended'),
          }),
    },
    logger,
  );

  const streams = new LongLivedStreams();
  const proxyDependencies: ProxyDependencies = {
    streams,
    store,
    dispatcher,
    metrics,
    sink,
    logger,
    clientIps,
    serverRegion: options.serverRegion,
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    mcpMaxBodyBytes: options.mcpMaxBodyBytes ?? 4 * 1024 * 1024,
    idleTimeoutMs,
    hopLimit,
    loopId,
    maxProxyHops: options.maxProxyHops ?? 10,
    outbound,
    agentTunnels,
    mcpAffinity,
    shadows: new ShadowEvaluator(),
  };
  // Every request passes through the keep-alive bookkeeping first: it keeps a drain from resetting requests already on
  // the wire, and ends each connection with its next response once the drain began (keep-alive-connections.ts).
  // That happens as it arrives, so a request waiting for its turn (below) is one a drain waits for.
  // Then admission in slices per event-loop turn (admission-turns.ts).
  const admissions = new AdmissionTurns(options.admissionsPerTurn ?? 8);
  metrics.trackAdmissions(admissions);
  const tracked =
    (handler: AdmittedHandler) =>
    (req: IncomingMessage, res: ServerResponse): void => {
      requestsSeen++;
      connections.track(req, res);
      admissions.admit(handler, req, res);
    };
  const onRequest = tracked(createHttpProxy(proxyDependencies));
  const traffic: Server =
    options.tls === undefined
      ? createHttpServer(onRequest)
      : createHttpsServer(
          {
            cert: options.tls.cert,
            key: options.tls.key,
            ...(options.tls.clientCa === undefined
              ? {}
              : { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true }),
          },
          onRequest,
        );
  // `conn.ts.start`: HTTP sockets are the request's socket; HTTPS requests run on the TLSSocket, known after the handshake.
  traffic.on(options.tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) =>
    recordConnectionStart(socket),
  );
  const connections = new KeepAliveConnections(traffic, options.tls !== undefined);
  const upgradeProxy = createUpgradeProxy(proxyDependencies);
  traffic.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // The Upgrade token selects an agent tunnel (any Host); every other upgrade is a proxied WebSocket.
    if (isAgentTunnel(req)) {
      if (agentTunnels === undefined) refuseAgentTunnel(socket);
      else agentTunnels.accept(req, socket, head);
      return;
    }
    upgradeProxy(req, socket, head);
  });
  traffic.on('checkContinue', tracked(createContinueHandler(proxyDependencies)));
  traffic.on('checkExpectation', answerExpectationFailed);
  // Idle timeout: a connection (including a quiet stream) with no bytes either way for this long is closed. The
  // client side gets one more second than the upstream side, so a silent upstream is answered with a 504 first.
  traffic.setTimeout(idleTimeoutMs + 1_000);
  traffic.keepAliveTimeout = 65_000;
  traffic.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  const reportSources: AdminReportSources = {
    store,
    sync,
    dataplaneId,
    version: dataplaneVersion,
    startedAt: new Date(),
    isDraining: () => connections.draining,
  };
  const admin = options.adminPort === null ? undefined : createAdminServer({ ...reportSources, metrics });
  const shutdownGraceMs = options.shutdownGraceMs ?? 10_000;
  const streamGraceMs = Math.min(options.streamGraceMs ?? 2_000, shutdownGraceMs);

  return {
    store,
    sync,
    metrics,
    report: () => ({ readiness: readinessReport(reportSources), status: statusReport(reportSources) }),
    async start() {
      await sync.start();
      traffic.listen(options.port, options.host ?? '0.0.0.0');
      await once(traffic, 'listening');
      let adminPort: number | null = null;
      if (admin !== undefined && options.adminPort !== null) {
        admin.listen(options.adminPort, options.adminHost ?? '127.0.0.1');
        await once(admin, 'listening');
        adminPort = (admin.address() as AddressInfo).port;
      }
      const port = (traffic.address() as AddressInfo).port;
      // Port 0 (tests, e2e): the boot heartbeat went out without an address; the next periodic one carries it.
      trafficPort ??= port;
      // Known only now when the ports were 0: an upstream at either is this data plane itself.
      outbound.addGatewayPorts(port, ...(adminPort === null ? [] : [adminPort]));
      logger.info(
        { port, adminPort, revision: store.appliedRevision, endpoints: store.current.endpointsById.size },
        'data plane listening',
      );
      return { port, adminPort };
    },
    async stop() {
      // Not ready from here on (load balancers stop sending), then in-flight requests get the grace period to finish.
      connections.beginDrain();
      settle.stop();
      const streamGrace = setTimeout(() => streams.closeAll(), streamGraceMs);
      // Agents get GOAWAY now (they reconnect elsewhere); their in-flight streams finish within the grace.
      const tunnelsClosed = agentTunnels?.close(shutdownGraceMs);
      await sync.stop();
      await closeTraffic(traffic, connections, shutdownGraceMs, () => streams.destroyAll());
      clearTimeout(streamGrace);
      await tunnelsClosed;
      if (admin !== undefined) await closeServer(admin, 0);
      await dispatcher.destroy().catch(() => undefined);
      redis?.disconnect(false);
      if (affinityRedis !== redis) affinityRedis?.disconnect(false);
      await store.flush();
      await sink.close();
      options.ipIntelligence?.close?.();
    },
  };
}

function isAgentTunnel(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return (
    upgrade !== undefined &&
    upgrade.trim().toLowerCase() === AGENT_TUNNEL_PROTOCOL &&
    (req.url ?? '').split('?')[0] === AGENT_TUNNEL_PATH
  );
}

function refuseAgentTunnel(socket: Duplex): void {
  const body = JSON.stringify({
    error_code: 'AGENT_TUNNELS_DISABLED',
    message: 'this data plane has no control-plane route for agent sessions; agents cannot connect here.',
  });
  socket.end(
    `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * When the garbage of a bulk config load is collected, and how often the young generation gets another chance to
 * shrink (settle-collection.ts).
 */
const settleCollection = {
  quietMs: 2_000,
  shrinkAfterMs: 6_000,
  shrinkAttempts: 2,
  // An idle data plane (health checks, a request now and then) allocates well under V8's 1 MB/s "low" mark.
  busyRequestsPerSecond: 10,
  // V8's young generation at its smallest is 1 MB (two 512 KB semi-spaces); it grows to 32 MB under a boot's work.
  youngBytes: 4 * 1024 * 1024,
};

/**
 * How long a keep-alive connection must have been idle before a drain closes it (keep-alive-connections.ts). A busy
 * client's next request can be on the wire, or read by the kernel but not yet by a starved event loop, while the
 * connection looks idle; closing it then resets that request. 250 ms still reset 5 requests of a rolling restart at
 * load average 10-20; a second costs a drain at most that long for clients that really are idle.
 */
const idleSettleMs = 1_000;

/**
 * Stops accepting; closes keep-alive connections once they are settled idle (busy ones end with their next response's
 * `Connection: close`); lets busy ones finish for up to `graceMs`, then cuts them and the upgraded sockets.
 */
async function closeTraffic(
  server: Server,
  connections: KeepAliveConnections,
  graceMs: number,
  cutUntracked: () => void,
): Promise<void> {
  if (!server.listening) return;
  const closed = once(server, 'close');
  // http.Server's close also closes every idle connection at once (Node 19+), which resets the requests busy
  // keep-alive clients are sending at that moment (measured: 5-8 per rolling restart): that step is skipped here, the
  // rest (timeout checks stopped, listener closed) is kept.
  server.closeIdleConnections = () => undefined;
  try {
    server.close();
  } finally {
    delete (server as { closeIdleConnections?: unknown }).closeIdleConnections;
  }
  connections.closeSettled(idleSettleMs);
  const sweep = setInterval(() => connections.closeSettled(idleSettleMs), 50);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
  clearTimeout(timer);
  clearInterval(sweep);
  server.closeAllConnections();
  // Upgraded sockets are no longer the HTTP server's to close, yet `close` waits for them: cut them too.
  cutUntracked();
  await closed;
}

/**
 * Stops accepting, closes idle keep-alive connections — now and as busy ones turn idle — lets busy ones finish for up
 * to `graceMs`, then cuts them.
 */
async function closeServer(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = once(server, 'close');
  server.close();
  server.closeIdleConnections();
  // A response that was already being written when the drain began still said keep-alive: its connection turns idle
  // afterwards and must be closed then, not at the end of the grace period.
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
  clearTimeout(timer);
  clearInterval(sweep);
  server.closeAllConnections();
  await closed;
}

/** Each secret is named in cookies by a hash prefix, never by itself. */
function sessionKeyring(secrets: readonly Uint8Array[] | undefined, logger: Logger): SessionKeyring {
  let list = secrets ?? [];
  if (list.length === 0) {
    logger.warn('no session secret configured: sign-in sessions last as long as this process and are not shared');
    list = [randomBytes(32)];
  }
  return {
    secrets: list.map((secret) => ({
      id: createHash('sha256').update(secret).digest('base64url').slice(0, 12),
      secret,
    })),
  };
}
