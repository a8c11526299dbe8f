import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** One connection of the traffic port, from its accept until it closes or is upgraded. */
interface Connection {
  readonly socket: Duplex;
  /** Responses not closed yet, oldest first: more than one only while pipelined requests wait their turn. */
  readonly open: ServerResponse[];
  /** When `open` last became empty. */
  idleSince: number;
  previous: Connection | undefined;
  next: Connection | undefined;
}

const kConnection = Symbol('gatehouse.keepAliveConnection');
type TrackedSocket = Duplex & { [kConnection]?: Connection };

/**
 * The traffic port's keep-alive connections and whether each is busy, so a drain can close the idle ones without the
 * race `server.closeIdleConnections()` has: node:http counts a connection as idle as soon as a response is written,
 * while a busy keep-alive client may already have its next request on the wire — closing then resets that request
 * (measured: a few per rolling restart under keep-alive load). Here a connection is closed only once it has been
 * idle for `settleMs` and has no bytes waiting; a busy one gets its next request answered with `Connection: close`
 * instead, and the client closes it.
 *
 * Why a list through the sockets and an array per connection, not a Map of connections and a Set of open responses:
 * V8 keeps a Map's or Set's replaced hash tables linked to their successors (for live iterators), and once the current
 * table is in the old generation (after any full collection, or an idle spell) every scavenge treats those dead tables
 * as live. A Set that every request passes through then kept each response — and the request graph behind it — alive
 * until the next full collection: measured on the direct path at 50 connections (bench/agent-tunnel-ab.ts), 1.6 MB
 * promoted per scavenge and scavenges of 2.3 ms, against 54 KB and 0.6 ms with this list (data plane CPU per request
 * 59 → 43 µs, 18.8k → 23.5k requests/s). An array slot and a list link are cleared when their entry leaves, so nothing
 * outlives its request.
 */
export class KeepAliveConnections {
  #first: Connection | undefined;
  #size = 0;
  #draining = false;

  constructor(server: Server, secure: boolean) {
    server.on(secure ? 'secureConnection' : 'connection', (socket: Duplex) => {
      const connection: Connection = {
        socket,
        open: [],
        idleSince: Date.now(),
        previous: undefined,
        next: this.#first,
      };
      if (this.#first !== undefined) this.#first.previous = connection;
      this.#first = connection;
      this.#size++;
      (socket as TrackedSocket)[kConnection] = connection;
      socket.once('close', () => this.#forget(socket));
    });
    // After an upgrade the socket is a stream (long-lived-streams.ts), not a keep-alive connection.
    server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => this.#forget(socket));
  }

  /** True once beginDrain ran: readiness reports it, and load balancers stop sending. */
  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Called for every request (before the handler): the connection is busy until its response closes. While draining,
   * the response ends its connection (`Connection: close`): a keep-alive client could otherwise keep sending requests
   * on a connection it already holds, so the connection never turns idle and the shutdown would wait for its grace
   * period and then cut whatever is in flight.
   */
  track(req: IncomingMessage, res: ServerResponse): void {
    if (this.#draining) res.shouldKeepAlive = false;
    const connection = (req.socket as TrackedSocket)[kConnection];
    if (connection === undefined) return;
    const open = connection.open;
    open.push(res);
    // A response closes once: `on` spares the wrapper `once` would add.
    res.on('close', () => {
      // Responses close in order: the oldest is almost always the one.
      const index = open[0] === res ? 0 : open.indexOf(res);
      if (index === 0) open.shift();
      else if (index > 0) open.splice(index, 1);
      if (open.length === 0) connection.idleSince = Date.now();
    });
  }

  /**
   * The drain begins: every response from now on ends its connection, and so does every response under way whose
   * headers are not written yet.
   */
  beginDrain(): void {
    this.#draining = true;
    for (let connection = this.#first; connection !== undefined; connection = connection.next)
      for (const res of connection.open) if (!res.headersSent) res.shouldKeepAlive = false;
  }

  /** Ends every connection idle for `settleMs` or longer with nothing unread; returns how many are left. */
  closeSettled(settleMs: number): number {
    const now = Date.now();
    let connection = this.#first;
    while (connection !== undefined) {
      const { socket, next } = connection;
      if (connection.open.length === 0 && now - connection.idleSince >= settleMs && socket.readableLength === 0) {
        this.#forget(socket);
        socket.end();
        // A client that never answers our FIN must not hold the drain.
        setTimeout(() => socket.destroy(), 1_000).unref();
      }
      connection = next;
    }
    return this.#size;
  }

  #forget(socket: TrackedSocket): void {
    const connection = socket[kConnection];
    if (connection === undefined) return;
    socket[kConnection] = undefined;
    if (connection.previous === undefined) this.#first = connection.next;
    else connection.previous.next = connection.next;
    if (connection.next !== undefined) connection.next.previous = connection.previous;
    connection.previous = undefined;
    connection.next = undefined;
    this.#size--;
  }
}
