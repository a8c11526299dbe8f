import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { type Duplex } from 'node:stream';
import {
  AGENT_CONTROL_PATHS,
  AGENT_DATAPLANE_HEADER,
  AGENT_TUNNEL_PROTOCOL,
  AGENT_TUNNEL_WINDOWS,
  AGENT_DEAD_PEER_MS,
  AGENT_HEADERS,
  AGENT_PING_INTERVAL_MS,
  AgentDeclarationSchema,
  type AgentDataplane,
  type AgentDeclaration,
  type AgentSessionApi,
  type AgentSessionRegistration,
  type SyncAgentEndpoint,
} from '@gatehouse/contracts';
import { http2Transport, pingUntilDead, replaceStreamTables } from '@gatehouse/runtime/http2-transport';
import type { Logger } from 'pino';
import { normalizeSocketAddress, type ClientIpResolver } from '../proxy/client-ip.js';

/**
 * The data plane's side of agent tunnels (agent-tunnel.ts in @gatehouse/contracts has the protocol): accepting the
 * upgrade on the traffic port, the reversed HTTP/2 connection (this side is the HTTP/2 *client*), registering the
 * session with the control plane, and the registry of live connections by session id that the request path picks
 * from. A session may hold several connections here (the agent reconnected before the old one was noticed dead);
 * each is a member until it closes.
 */

export interface AgentConnection {
  readonly sessionId: string;
  readonly session: ClientHttp2Session;
  readonly remoteAddress: string;
  /** Streams open right now (a drain waits for them). */
  readonly connectedAt: Date;
}

export interface AgentTunnelOptions {
  api: AgentSessionApi;
  dataplaneId: string;
  logger: Logger;
  clientIps: ClientIpResolver;
  pingIntervalMs?: number;
  deadPeerMs?: number;
}

const maxDeclarationBytes = 2 * 1024 * 1024;

export class AgentTunnels {
  readonly #bySession = new Map<string, Set<AgentConnection>>();
  /** Round-robin position per endpoint id. */
  readonly #cursor = new Map<string, number>();
  /** Connections still being set up (declaration, registration): a drain closes them too. */
  readonly #pending = new Set<ClientHttp2Session>();
  #dataplanes: AgentDataplane[] = [];
  #closing = false;

  constructor(private readonly options: AgentTunnelOptions) {}

  /** Session ids with at least one live connection here (sent with every heartbeat). */
  sessionIds(): string[] {
    return [...this.#bySession.keys()];
  }

  get sessionCount(): number {
    return this.#bySession.size;
  }

  get connectionCount(): number {
    let count = 0;
    for (const connections of this.#bySession.values()) count += connections.size;
    return count;
  }

  /** True when at least one member of the endpoint's pool has a connection on this data plane. */
  serves(agent: SyncAgentEndpoint): boolean {
    return agent.members.some((member) => this.#bySession.has(member.session_id));
  }

  /**
   * The connection a request goes over: the preferred session when it is held here (MCP session affinity), else the
   * next held member in round-robin order. Undefined: no member is connected here (502 ENDPOINT_OFFLINE).
   */
  pick(endpointId: string, agent: SyncAgentEndpoint, preferredSession?: string): AgentConnection | undefined {
    if (preferredSession !== undefined && agent.members.some((member) => member.session_id === preferredSession)) {
      const preferred = this.#liveConnectionOf(preferredSession);
      if (preferred !== undefined) return preferred;
    }
    const members = agent.members;
    if (members.length === 0) return undefined;
    const start = this.#cursor.get(endpointId) ?? 0;
    for (let offset = 0; offset < members.length; offset++) {
      const index = (start + offset) % members.length;
      const connection = this.#liveConnectionOf(members[index]!.session_id);
      if (connection !== undefined) {
        this.#cursor.set(endpointId, index + 1);
        return connection;
      }
    }
    return undefined;
  }

  /**
   * The newest live connection of a session: an agent renewing its registration (a retried endpoint) opens a second
   * connection and then closes the first, so new streams go to the new one as soon as it is registered and the old
   * one only finishes what it carries. A stream opened on the old one after the agent's GOAWAY would be refused.
   */
  #liveConnectionOf(sessionId: string): AgentConnection | undefined {
    const connections = this.#bySession.get(sessionId);
    if (connections === undefined) return undefined;
    let newest: AgentConnection | undefined;
    for (const connection of connections)
      if (!connection.session.closed && !connection.session.destroyed) newest = connection;
    return newest;
  }

  /** The control plane ended the session (revoked authtoken, grace over): its connections close at once. */
  endSession(sessionId: string, reason: string): void {
    const connections = this.#bySession.get(sessionId);
    if (connections === undefined) return;
    this.options.logger.info({ session_id: sessionId, reason }, 'agent session ended by the control plane');
    for (const connection of connections) connection.session.destroy();
  }

  /** The heartbeat's list of data planes; pushed to every agent when it changes. */
  updateDataplanes(dataplanes: readonly AgentDataplane[]): void {
    const key = (list: readonly AgentDataplane[]) =>
      JSON.stringify([...list].map((entry) => `${entry.id} ${entry.url}`).sort());
    if (key(dataplanes) === key(this.#dataplanes)) return;
    this.#dataplanes = [...dataplanes];
    const body = JSON.stringify({ dataplanes: this.#dataplanes });
    for (const connections of this.#bySession.values())
      for (const connection of connections)
        void postJson(connection.session, AGENT_CONTROL_PATHS.dataplanes, body).catch(() => undefined);
  }

  /**
   * `Upgrade: gatehouse-agent/1` on AGENT_TUNNEL_PATH. Refuses a missing or garbled Authorization before 101 (the
   * agent prints the JSON reason); after 101 the rest happens over HTTP/2.
   */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const authtoken = /^Bearer ([\x21-\x7e]{1,256})$/.exec(req.headers.authorization ?? '')?.[1];
    if (this.#closing) {
      refuse(socket, 503, 'DATAPLANE_DRAINING', 'this data plane is shutting down; connect to another one.');
      return;
    }
    if (authtoken === undefined) {
      refuse(
        socket,
        401,
        'AUTHTOKEN_INVALID',
        'the tunnel needs `Authorization: Bearer <authtoken>` (an authtoken created in Gatehouse).',
      );
      return;
    }
    const sessionKey = req.headers[AGENT_HEADERS.sessionKey];
    if (typeof sessionKey !== 'string' || !/^[A-Za-z0-9_-]{22,128}$/.test(sessionKey)) {
      refuse(
        socket,
        400,
        'AGENT_SESSION_KEY_INVALID',
        `the ${AGENT_HEADERS.sessionKey} header must be 22-128 base64url characters.`,
      );
      return;
    }
    // node:http sockets allow half-open: an agent that died (its kernel sent FIN) must end the tunnel at once, not
    // at the next failed ping.
    socket.once('end', () => socket.destroy());
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${AGENT_TUNNEL_PROTOCOL}\r\n` +
        `${AGENT_DATAPLANE_HEADER}: ${this.options.dataplaneId}\r\n\r\n`,
    );
    if (head.length > 0) socket.unshift(head);
    const peer = normalizeSocketAddress(req.socket.remoteAddress);
    const forwarded = req.headers['x-forwarded-for'];
    const remoteAddress = this.options.clientIps.clientIpOf(
      peer,
      forwarded === undefined ? undefined : [forwarded].flat(),
    );
    void this.#establish(socket, authtoken, sessionKey, remoteAddress);
  }

  async #establish(socket: Duplex, authtoken: string, sessionKey: string, remoteAddress: string): Promise<void> {
    const logger = this.options.logger;
    // Reversed roles: this side speaks the client half of HTTP/2 over the socket the agent dialled.
    const transport = http2Transport(socket);
    const session = http2Connect('http://agent.tunnel', {
      createConnection: () => transport,
      settings: { initialWindowSize: AGENT_TUNNEL_WINDOWS.stream },
    });
    // Every tunnelled request is a stream of this session: node's own stream tables kept closed ones alive.
    replaceStreamTables(session);
    session.once('connect', () => {
      // The connection window only grows by WINDOW_UPDATE; a session already torn down has none to grow.
      if (!session.destroyed) session.setLocalWindowSize(AGENT_TUNNEL_WINDOWS.connection);
    });
    session.on('error', (error) => logger.debug({ err: error, remote: remoteAddress }, 'agent tunnel error'));
    this.#pending.add(session);
    const timeout = setTimeout(() => session.destroy(new Error('agent tunnel setup timed out')), 15_000);
    let declaration: AgentDeclaration;
    try {
      const text = await getText(session, AGENT_CONTROL_PATHS.declaration);
      const parsed = AgentDeclarationSchema.safeParse(safeJson(text));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        logger.warn(
          { remote: remoteAddress, path: issue?.path.join('.'), problem: issue?.message },
          'agent tunnel closed: the agent declaration breaks the contract',
        );
        session.destroy();
        return;
      }
      declaration = parsed.data;
      if (declaration.session_key !== sessionKey) {
        logger.warn({ remote: remoteAddress }, 'agent tunnel closed: the declaration names another session key');
        session.destroy();
        return;
      }
    } catch (error) {
      logger.warn({ err: error, remote: remoteAddress }, 'agent tunnel closed: no valid declaration');
      session.destroy();
      return;
    } finally {
      clearTimeout(timeout);
    }
    let registration: AgentSessionRegistration;
    try {
      registration = await this.options.api.registerAgentSession({
        authtoken,
        declaration,
        remote_address: remoteAddress.slice(0, 64),
        dataplane_id: this.options.dataplaneId,
      });
    } catch (error) {
      logger.error({ err: error, remote: remoteAddress }, 'registering an agent session failed');
      registration = {
        status: 'refused',
        error_code: 'CONTROL_PLANE_UNAVAILABLE',
        message: 'the data plane could not reach the control plane to register the session; retrying later.',
      };
    }
    try {
      await postJson(session, AGENT_CONTROL_PATHS.session, JSON.stringify(registration));
    } catch {
      // The agent went away meanwhile: the close below tells the control plane.
    }
    this.#pending.delete(session);
    if (registration.status === 'refused') {
      logger.info(
        { remote: remoteAddress, error_code: registration.error_code, hostname: declaration.hostname },
        'agent session refused',
      );
      session.close();
      setTimeout(() => session.destroy(), 1_000).unref();
      return;
    }
    if (session.closed || session.destroyed || this.#closing) {
      if (!session.destroyed) session.close();
      await this.#leave(registration.session_id, this.#closing ? 'dataplane-shutdown' : 'agent-closed');
      return;
    }
    const connection: AgentConnection = {
      sessionId: registration.session_id,
      session,
      remoteAddress,
      connectedAt: new Date(),
    };
    let connections = this.#bySession.get(connection.sessionId);
    if (connections === undefined) this.#bySession.set(connection.sessionId, (connections = new Set()));
    connections.add(connection);
    logger.info(
      {
        session_id: connection.sessionId,
        remote: remoteAddress,
        hostname: declaration.hostname,
        endpoints: registration.endpoints.map((endpoint) => `${endpoint.url} ${endpoint.status}`),
      },
      'agent connected',
    );
    // The agent is closing this connection (a drain, a renewal): take no new stream on it, finish the open ones.
    session.once('goaway', () => {
      if (!session.closed && !session.destroyed) session.close();
    });
    let reason = 'agent-closed';
    // HTTP/2 pings both ways; an agent silent for deadPeerMs is dropped (its requests fail, the agent reconnects).
    const pinger = pingUntilDead(session, {
      intervalMs: this.options.pingIntervalMs ?? AGENT_PING_INTERVAL_MS,
      deadAfterMs: this.options.deadPeerMs ?? AGENT_DEAD_PEER_MS,
      onDead: () => (reason = 'dead-peer'),
    });
    session.once('close', () => {
      clearInterval(pinger);
      const held = this.#bySession.get(connection.sessionId);
      held?.delete(connection);
      if (held?.size === 0) this.#bySession.delete(connection.sessionId);
      if (this.#closing) reason = 'dataplane-shutdown';
      logger.info({ session_id: connection.sessionId, remote: remoteAddress, reason }, 'agent disconnected');
      // The hold is this data plane's, not this connection's: while another connection of the session is up here,
      // the control plane must not start the session's grace period (it would end a session that is still served).
      if (held === undefined || held.size === 0) void this.#leave(connection.sessionId, reason);
    });
    // The list may have changed while registering.
    if (this.#dataplanes.length > 0 && !sameDataplanes(this.#dataplanes, registration.dataplanes))
      void postJson(session, AGENT_CONTROL_PATHS.dataplanes, JSON.stringify({ dataplanes: this.#dataplanes })).catch(
        () => undefined,
      );
  }

  async #leave(sessionId: string, reason: string): Promise<void> {
    try {
      await this.options.api.leaveAgentSession({
        session_id: sessionId,
        dataplane_id: this.options.dataplaneId,
        reason,
      });
    } catch (error) {
      // The control plane ends the session after its grace anyway once no heartbeat lists it.
      this.options.logger.warn({ err: error, session_id: sessionId }, 'telling the control plane an agent left failed');
    }
  }

  /**
   * Drain: GOAWAY to every agent (no new streams; in-flight ones finish), then after `graceMs` whatever is left is
   * cut. The agents reconnect to another data plane (or this one, restarted).
   */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    for (const session of this.#pending) session.destroy();
    const sessions = [...this.#bySession.values()].flatMap((connections) => [...connections].map((c) => c.session));
    const closed = sessions.map((session) =>
      session.closed && session.destroyed ? Promise.resolve() : once(session, 'close').then(() => undefined),
    );
    for (const session of sessions) session.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const session of sessions) session.destroy();
    await Promise.all(closed);
  }
}

function refuse(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error_code: code, message });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 503 ? 'Service Unavailable' : 'Bad Request'}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

async function getText(session: ClientHttp2Session, path: string): Promise<string> {
  const stream = session.request({ ':method': 'GET', ':path': path }, { endStream: true });
  const [headers] = (await once(stream, 'response')) as [Record<string, string | number>];
  if (headers[':status'] !== 200) {
    stream.close();
    throw new Error(`GET ${path} answered ${headers[':status']}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxDeclarationBytes) {
      stream.close();
      throw new Error(`GET ${path} answered more than ${maxDeclarationBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function postJson(session: ClientHttp2Session, path: string, body: string): Promise<void> {
  if (session.closed || session.destroyed) return;
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json' });
  stream.end(body);
  const [headers] = (await once(stream, 'response')) as [Record<string, string | number>];
  // The answer is its status; the stream's own end is not waited for.
  stream.resume();
  if (headers[':status'] !== 204) throw new Error(`POST ${path} answered ${headers[':status']}`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function sameDataplanes(a: readonly AgentDataplane[], b: readonly AgentDataplane[]): boolean {
  const key = (list: readonly AgentDataplane[]) =>
    list
      .map((entry) => `${entry.id} ${entry.url}`)
      .sort()
      .join('\n');
  return key(a) === key(b);
}
