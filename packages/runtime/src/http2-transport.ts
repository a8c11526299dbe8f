import type { Http2Session } from 'node:http2';
import { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';

/**
 * The transport to hand node:http2 for a socket that arrived through an HTTP upgrade (both ends of the agent tunnel).
 *
 * node:http2 over a TLSSocket that an HTTP server (or client) already used hits a native assertion
 * (`Http2Session::OnStreamAfterWrite: is_write_in_progress()`, aborting the process) on this Node version. Behind a
 * plain Duplex, http2 drives the socket through its JS stream wrapper instead; plain TCP sockets are used as they are.
 * Back-pressure is kept: the TLS socket pauses while the wrapper's read buffer is full.
 *
 * The peer's FIN is not passed on as an end of stream. On EOF, the JS stream wrapper's socket (not allowed to be half
 * open) starts a shutdown that the native HTTP/2 session does not know about; the GOAWAY the session writes while it
 * tears down then trips `assert(this[kCurrentShutdownRequest] === null)` in `JSStreamSocket.doWrite`, an uncaught
 * ERR_INTERNAL_ASSERTION. A tunnel whose peer sent FIN is over (HTTP/2 has no half-closed connection), so the wrapper
 * is destroyed instead, once http2 has read what arrived before the FIN.
 */
export function http2Transport(socket: Duplex): Duplex {
  if (!(socket instanceof TLSSocket)) return socket;
  let peerEnded = false;
  const destroyWhenRead = (): void => {
    if (peerEnded && wrapped.readableLength === 0) wrapped.destroy();
  };
  const wrapped = new Duplex({
    read() {
      socket.resume();
      // http2 asks for more once it has taken the buffered bytes: the moment a FIN that waited behind them applies.
      if (peerEnded) process.nextTick(destroyWhenRead);
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(error, callback) {
      socket.destroy(error ?? undefined);
      callback(error);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!wrapped.push(chunk)) socket.pause();
  });
  socket.once('end', () => {
    peerEnded = true;
    // After the 'data' listeners of this tick have run: the bytes just pushed reach http2 first.
    process.nextTick(destroyWhenRead);
  });
  socket.once('close', () => wrapped.destroy());
  socket.on('error', (error: Error) => wrapped.destroy(error));
  return wrapped;
}

/**
 * HTTP/2 PINGs every `intervalMs` on a tunnel session (either end); a peer that has answered none for `deadAfterMs`
 * (a NAT dropped the flow, its host died, the link black-holes) is declared dead: `onDead` runs and the session is
 * destroyed, failing its streams at once instead of at the next write's TCP timeout. Clear the timer on close.
 */
export function pingUntilDead(
  session: Http2Session,
  { intervalMs, deadAfterMs, onDead }: { intervalMs: number; deadAfterMs: number; onDead?: () => void },
): NodeJS.Timeout {
  let lastAnswer = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - lastAnswer > deadAfterMs) {
      onDead?.();
      session.destroy();
      return;
    }
    try {
      session.ping((error) => {
        if (error === null) lastAnswer = Date.now();
      });
    } catch {
      // Too many pings outstanding on a stalled connection: the deadline above decides.
    }
  }, intervalMs);
  timer.unref();
  return timer;
}

export { PendingStreamSet, replaceStreamTables, StreamIdTable } from './http2-stream-tables.js';
