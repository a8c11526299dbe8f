import { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';

/**
 * The transport to hand node:http2 for a socket that arrived through an HTTP upgrade (both ends of the agent tunnel).
 *
 * node:http2 over a TLSSocket that an HTTP server (or client) already used hits a native assertion
 * (`Http2Session::OnStreamAfterWrite: is_write_in_progress()`, aborting the process) on this Node version. Behind a
 * plain Duplex, http2 drives the socket through its JS stream wrapper instead; plain TCP sockets are used as they are.
 * Back-pressure is kept: the TLS socket pauses while the wrapper's read buffer is full.
 */
export function http2Transport(socket: Duplex): Duplex {
  if (!(socket instanceof TLSSocket)) return socket;
  const wrapped = new Duplex({
    read() {
      socket.resume();
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
  socket.once('end', () => wrapped.push(null));
  socket.once('close', () => wrapped.destroy());
  socket.on('error', (error: Error) => wrapped.destroy(error));
  return wrapped;
}
