import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The traffic port's keep-alive connections and whether each is busy, so a drain can close the idle ones without the
 * race `server.closeIdleConnections()` has: node:http counts a connection as idle as soon as a response is written,
 * while a busy keep-alive client may already have its next request on the wire — closing then resets that request
 * (measured: a few per rolling restart under keep-alive load). Here a connection is closed only once it has been
 * idle for `settleMs` and has no bytes waiting; a busy one gets its next request answered with `Connection: close`
 * instead, and the client closes it.
 */
export class KeepAliveConnections {
  readonly #connections = new Map<Duplex, { active: number; idleSince: number }>();

  constructor(server: Server, secure: boolean) {
    server.on(secure ? 'secureConnection' : 'connection', (socket: Duplex) => {
      this.#connections.set(socket, { active: 0, idleSince: Date.now() });
      socket.once('close', () => this.#connections.delete(socket));
    });
    // After an upgrade the socket is a stream (long-lived-streams.ts), not a keep-alive connection.
    server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => this.#connections.delete(socket));
  }

  /**
   * Called for every request (before the handler): the connection is busy until its response closes. `inFlight`, when
   * given, holds the response until then too — through the same listener, because every 'close' listener is a closure
   * and a once-wrapper allocated per request.
   */
  track(req: IncomingMessage, res: ServerResponse, inFlight?: Set<ServerResponse>): void {
    const state = this.#connections.get(req.socket);
    if (state === undefined && inFlight === undefined) return;
    if (state !== undefined) state.active++;
    inFlight?.add(res);
    // A response closes once: `on` spares the wrapper `once` would add.
    res.on('close', () => {
      inFlight?.delete(res);
      if (state === undefined) return;
      state.active--;
      state.idleSince = Date.now();
    });
  }

  /** Ends every connection idle for `settleMs` or longer with nothing unread; returns how many are left. */
  closeSettled(settleMs: number): number {
    const now = Date.now();
    for (const [socket, state] of this.#connections) {
      if (state.active > 0 || now - state.idleSince < settleMs || socket.readableLength > 0) continue;
      this.#connections.delete(socket);
      socket.end();
      // A client that never answers our FIN must not hold the drain.
      setTimeout(() => socket.destroy(), 1_000).unref();
    }
    return this.#connections.size;
  }
}
