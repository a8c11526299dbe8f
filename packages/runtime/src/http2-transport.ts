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
