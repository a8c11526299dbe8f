import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createServer, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import {
  AGENT_CONTROL_PATHS,
  AGENT_DATAPLANE_HEADER,
  AGENT_DEAD_PEER_MS,
  AGENT_HEADERS,
  AGENT_PING_INTERVAL_MS,
  AGENT_TUNNEL_PATH,
  AGENT_TUNNEL_PROTOCOL,
  AGENT_TUNNEL_WINDOWS,
  AgentDataplanesSchema,
  AgentSessionRegistrationSchema,
  type AgentDataplane,
  type AgentDeclaration,
  type AgentSessionRegistration,
} from '@gatehouse/contracts';
import { http2Transport, pingUntilDead, replaceStreamTables } from '@gatehouse/runtime/http2-transport';
import type { UpstreamForwarder } from './upstream.js';

/**
 * One connection of the agent to one data plane. The agent dials out (so its machine needs no inbound port), asks to
 * upgrade to AGENT_TUNNEL_PROTOCOL, and on 101 becomes the HTTP/2 *server* on that socket: the data plane opens a
 * stream per proxied request, which HTTP/2 multiplexes with real flow control and no framing of ours.
 */

export interface TunnelHandlers {
  onRegistration(registration: AgentSessionRegistration): void;
  onDataplanes(dataplanes: AgentDataplane[]): void;
}

export type TunnelEnd =
  | { kind: 'refused-upgrade'; status: number; errorCode: string; message: string }
  | { kind: 'refused-registration'; errorCode: string; message: string }
  | { kind: 'closed'; registered: boolean; reason: string }
  /** The connection landed on a data plane other than the one wanted (a worker already held): dial again. */
  | { kind: 'wrong-dataplane'; landedOn: string };

export interface TunnelOptions {
  dataplaneUrl: string;
  /**
   * Decides from the 101's AGENT_DATAPLANE_HEADER whether to keep the connection (false: closed before HTTP/2
   * starts, so the data plane registers nothing). Absent: any data plane will do.
   */
  accept?: (dataplaneId: string | undefined) => boolean;
  authtoken: string;
  declaration: AgentDeclaration;
  forwarder: UpstreamForwarder;
  handlers: TunnelHandlers;
  /** Extra TLS trust for a data plane with a private CA (besides NODE_EXTRA_CA_CERTS). */
  ca?: string | Buffer;
  pingIntervalMs?: number;
  deadPeerMs?: number;
}

export class Tunnel {
  #session: ServerHttp2Session | undefined;
  #closing = false;
  #registration: AgentSessionRegistration | undefined;
  #settle: (accepted: boolean) => void = () => undefined;
  /** The data plane (worker) that took the connection, from the 101. */
  dataplaneId: string | undefined;
  /** Resolves when the data plane tells the registration's outcome: true when accepted. */
  readonly settled = new Promise<boolean>((resolve) => (this.#settle = resolve));

  constructor(private readonly options: TunnelOptions) {}

  get registered(): boolean {
    return this.#registration?.status === 'accepted';
  }

  /** Dials, serves until the connection ends, and says how it ended. Never rejects. */
  async run(): Promise<TunnelEnd> {
    let socket: Socket;
    try {
      const upgraded = await this.#upgrade();
      if ('kind' in upgraded) return upgraded;
      socket = upgraded.socket;
    } catch (error) {
      return { kind: 'closed', registered: false, reason: error instanceof Error ? error.message : String(error) };
    }
    if (this.#closing) {
      socket.destroy();
      return { kind: 'closed', registered: false, reason: 'agent stopping' };
    }
    return this.#serve(socket);
  }

  /** GOAWAY after the in-flight streams (the agent is stopping, or the data plane left the list). */
  close(): void {
    this.#closing = true;
    const session = this.#session;
    if (session === undefined) return;
    session.close();
    const timer = setTimeout(() => session.destroy(), 5_000);
    timer.unref();
  }

  async #upgrade(): Promise<{ socket: Socket } | TunnelEnd> {
    const url = new URL(AGENT_TUNNEL_PATH, this.options.dataplaneUrl);
    const secure = url.protocol === 'https:';
    const { declaration } = this.options;
    const request = (secure ? httpsRequest : httpRequest)(url, {
      method: 'GET',
      headers: {
        connection: 'Upgrade',
        upgrade: AGENT_TUNNEL_PROTOCOL,
        authorization: `Bearer ${this.options.authtoken}`,
        [AGENT_HEADERS.version]: declaration.agent_version,
        [AGENT_HEADERS.hostname]: declaration.hostname,
        [AGENT_HEADERS.sessionKey]: declaration.session_key,
      },
      // SNI and certificate checks against the connect_url's host name (node:https does both from the URL).
      ...(secure && this.options.ca !== undefined ? { ca: this.options.ca } : {}),
      timeout: 15_000,
    });
    request.on('timeout', () => request.destroy(new Error('the data plane did not answer the upgrade within 15 s')));
    request.end();
    const outcome = await Promise.race([
      once(request, 'upgrade').then((args) => ({
        upgraded: true as const,
        response: args[0] as IncomingMessage,
        socket: args[1] as Socket,
        head: args[2] as Buffer,
      })),
      once(request, 'response').then((args) => ({ upgraded: false as const, response: args[0] as IncomingMessage })),
    ]);
    if (!outcome.upgraded) {
      const { response } = outcome;
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8').slice(0, 2_000);
      let errorCode = `HTTP_${response.statusCode}`;
      let message = text.trim() || `the data plane answered ${response.statusCode} instead of 101`;
      try {
        const body = JSON.parse(text) as { error_code?: unknown; message?: unknown };
        if (typeof body.error_code === 'string') errorCode = body.error_code;
        if (typeof body.message === 'string') message = body.message;
      } catch {
        // Not our data plane (a proxy's HTML page, say): the text itself is the best message.
      }
      return { kind: 'refused-upgrade', status: response.statusCode ?? 0, errorCode, message };
    }
    const { socket, head, response } = outcome;
    const landedOn = response.headers[AGENT_DATAPLANE_HEADER];
    const dataplaneId = typeof landedOn === 'string' ? landedOn : undefined;
    this.dataplaneId = dataplaneId;
    if (this.options.accept !== undefined && !this.options.accept(dataplaneId)) {
      socket.destroy();
      return { kind: 'wrong-dataplane', landedOn: dataplaneId ?? '(unnamed)' };
    }
    if (head.length > 0) socket.unshift(head);
    socket.setNoDelay(true);
    // A data plane that went away (FIN) ends the tunnel now; the reconnect loop takes over.
    socket.once('end', () => socket.destroy());
    return { socket };
  }

  async #serve(socket: Socket): Promise<TunnelEnd> {
    const server = createServer({
      settings: { enableConnectProtocol: true, initialWindowSize: AGENT_TUNNEL_WINDOWS.stream },
    });
    let end: TunnelEnd | undefined;
    const ended = new Promise<TunnelEnd>((resolve) => {
      server.once('session', (session: ServerHttp2Session) => {
        // Every request is a stream of this session: node's own stream tables kept closed ones alive.
        replaceStreamTables(session);
        this.#session = session;
        if (this.#closing) session.close();
        else session.setLocalWindowSize(AGENT_TUNNEL_WINDOWS.connection);
        // A data plane that answers no ping for deadPeerMs is gone (a NAT dropped the flow, the host died): reconnect.
        const deadAfterMs = this.options.deadPeerMs ?? AGENT_DEAD_PEER_MS;
        const pinger = pingUntilDead(session, {
          intervalMs: this.options.pingIntervalMs ?? AGENT_PING_INTERVAL_MS,
          deadAfterMs,
          onDead: () => {
            end ??= {
              kind: 'closed',
              registered: this.registered,
              reason: `the data plane answered no ping for ${deadAfterMs / 1000} s`,
            };
          },
        });
        session.on('error', () => undefined);
        session.once('close', () => {
          clearInterval(pinger);
          resolve(end ?? { kind: 'closed', registered: this.registered, reason: 'connection closed' });
        });
        session.once('goaway', () => {
          end ??= { kind: 'closed', registered: this.registered, reason: 'the data plane sent GOAWAY' };
        });
      });
    });
    server.on('stream', (stream: ServerHttp2Stream, headers) => {
      stream.on('error', ignoreError);
      const path = headers[':path'];
      if (path === AGENT_CONTROL_PATHS.declaration) {
        const body = JSON.stringify(this.options.declaration);
        stream.respond({ ':status': 200, 'content-type': 'application/json' });
        stream.end(body);
        return;
      }
      if (path === AGENT_CONTROL_PATHS.session) {
        void readJson(stream).then((json) => {
          const parsed = AgentSessionRegistrationSchema.safeParse(json);
          if (!parsed.success) {
            stream.respond({ ':status': 400 });
            stream.end();
            return;
          }
          this.#registration = parsed.data;
          if (parsed.data.status === 'refused')
            end = { kind: 'refused-registration', errorCode: parsed.data.error_code, message: parsed.data.message };
          stream.respond({ ':status': 204 });
          stream.end();
          this.options.handlers.onRegistration(parsed.data);
          this.#settle(parsed.data.status === 'accepted');
        });
        return;
      }
      if (path === AGENT_CONTROL_PATHS.dataplanes) {
        void readJson(stream).then((json) => {
          const parsed = AgentDataplanesSchema.safeParse(json);
          stream.respond({ ':status': parsed.success ? 204 : 400 });
          stream.end();
          if (parsed.success) this.options.handlers.onDataplanes(parsed.data.dataplanes);
        });
        return;
      }
      if (!this.registered) {
        // Traffic before the session was accepted is a confused or hostile peer: nothing is forwarded.
        stream.close(0x1 /* PROTOCOL_ERROR */);
        return;
      }
      this.options.forwarder.handle(stream, headers);
    });
    server.emit('connection', http2Transport(socket));
    socket.once('close', () => {
      const session = this.#session;
      if (session !== undefined && !session.destroyed) session.destroy();
    });
    const result = await ended;
    server.close();
    return result;
  }
}

/** A stream's errors end up in its close (reset code) or its upstream exchange; one function for all of them. */
function ignoreError(): void {}

async function readJson(stream: ServerHttp2Stream): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
