import type { Duplex } from 'node:stream';

/**
 * Entries that come and go with requests, in an array with swap-remove: a removed entry's slot is overwritten or
 * cleared at once. Not a Set: V8 keeps a Set's replaced tables linked to their successors, and once the current one is
 * old every scavenge keeps alive everything the dead ones held (ARCHITECTURE.md, "Garbage"), here every SSE response
 * and the request behind it.
 */
class Registry<T> {
  readonly #items: T[] = [];
  /** Each entry's handle, at the same index: it knows where its entry is as entries move. */
  readonly #handles: { index: number }[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** Adds an entry; the answer removes it (once; later calls do nothing). */
  add(item: T): () => void {
    const handle = { index: this.#items.length };
    this.#items.push(item);
    this.#handles.push(handle);
    return () => this.#remove(handle);
  }

  /** Empties the registry and answers what it held. */
  takeAll(): T[] {
    for (const handle of this.#handles) handle.index = -1;
    this.#handles.length = 0;
    return this.#items.splice(0);
  }

  #remove(handle: { index: number }): void {
    const index = handle.index;
    if (index < 0) return;
    handle.index = -1;
    const lastItem = this.#items.pop()!;
    const lastHandle = this.#handles.pop()!;
    if (lastHandle === handle) return;
    this.#items[index] = lastItem;
    this.#handles[index] = lastHandle;
    lastHandle.index = index;
  }
}

/**
 * The long-lived streams a data plane holds (SSE responses, spliced WebSocket/Upgrade connections), so a drain can end
 * them on purpose instead of waiting for them: they never finish by themselves, so without this a shutdown either
 * waited its whole limit and then cut them, or — for a spliced socket, which node:http no longer tracks — waited
 * forever (`closeAllConnections` does not see upgraded sockets, so `server.close()` never completed).
 */
export class LongLivedStreams {
  readonly #closers = new Registry<() => void>();
  readonly #sockets = new Registry<Duplex>();
  #closing = false;

  /**
   * Registers a stream; `close` ends it cleanly (SSE: end the response; WebSocket: close frames). Returns the
   * unregister function for when the stream ends by itself. Registered while closing: closed at once.
   */
  add(close: () => void): () => void {
    if (this.#closing) {
      close();
      return () => undefined;
    }
    return this.#closers.add(close);
  }

  /** A socket that no HTTP server tracks any more (after an upgrade): destroyed by `destroyAll` at the drain's end. */
  track(socket: Duplex): void {
    socket.once('close', this.#sockets.add(socket));
  }

  get size(): number {
    return this.#closers.size;
  }

  /** Ends every stream cleanly, now and any that is registered later. */
  closeAll(): void {
    this.#closing = true;
    for (const close of this.#closers.takeAll()) close();
  }

  /** The last resort: whatever did not close after its close frames is cut. */
  destroyAll(): void {
    for (const socket of this.#sockets.takeAll()) socket.destroy();
  }
}

/**
 * Relays one direction of a WebSocket connection and knows where its frames begin and end (RFC 6455 §5.2), so it can
 * stop between two frames: a close frame injected in the middle of a frame would corrupt the stream. Only frame
 * headers are parsed; payload bytes are counted and passed on untouched.
 */
export class WebSocketFrameRelay {
  /** Header bytes of the frame being read (at most 14). */
  #header: number[] = [];
  /** Payload bytes still to come in the current frame; -1 while its header is incomplete. */
  #payloadLeft = -1;
  #stopAtBoundary: (() => void) | undefined;
  #stopped = false;

  constructor(
    private readonly source: Duplex,
    private readonly destination: Duplex,
  ) {
    source.on('data', this.#onData);
    // Backpressure: the source waits while the destination's buffer is full.
    destination.on('drain', () => {
      if (!this.#stopped) source.resume();
    });
    source.once('end', () => {
      if (!this.#stopped) destination.end();
    });
  }

  /** Stops relaying at the next frame boundary (now, when between frames), then calls `onStopped` once. */
  stop(onStopped: () => void): void {
    if (this.#stopped || this.#stopAtBoundary !== undefined) return;
    this.#stopAtBoundary = onStopped;
    if (this.#atBoundary()) this.#halt();
  }

  #atBoundary(): boolean {
    return this.#payloadLeft === -1 && this.#header.length === 0;
  }

  #halt(): void {
    this.#stopped = true;
    this.source.off('data', this.#onData);
    const onStopped = this.#stopAtBoundary;
    this.#stopAtBoundary = undefined;
    onStopped?.();
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#stopped) return;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#payloadLeft === -1) {
        this.#header.push(chunk[offset]!);
        offset++;
        const needed = headerLength(this.#header);
        if (needed !== undefined && this.#header.length === needed) {
          this.#payloadLeft = payloadLength(this.#header);
          this.#header = [];
        }
      } else {
        const taken = Math.min(this.#payloadLeft, chunk.length - offset);
        offset += taken;
        this.#payloadLeft -= taken;
      }
      if (this.#payloadLeft === 0) this.#payloadLeft = -1;
      if (this.#stopAtBoundary !== undefined && this.#atBoundary()) {
        this.#write(chunk.subarray(0, offset));
        this.#halt();
        return;
      }
    }
    this.#write(chunk);
  };

  #write(bytes: Buffer): void {
    if (bytes.length === 0 || this.destination.destroyed) return;
    if (!this.destination.write(bytes)) this.source.pause();
  }
}

/** The full header length once its first two bytes are known (2 + extended length + mask key). */
function headerLength(header: readonly number[]): number | undefined {
  if (header.length < 2) return undefined;
  const length7 = header[1]! & 0x7f;
  const extended = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
  const mask = (header[1]! & 0x80) !== 0 ? 4 : 0;
  return 2 + extended + mask;
}

function payloadLength(header: readonly number[]): number {
  const length7 = header[1]! & 0x7f;
  if (length7 < 126) return length7;
  const bytes = length7 === 126 ? header.slice(2, 4) : header.slice(2, 10);
  // Up to 2^53 is exact in a double; larger frames do not exist in practice (and would only delay the boundary).
  return bytes.reduce((total, byte) => total * 256 + byte, 0);
}

/** Close frame with status 1001 Going Away, as a server sends it (unmasked) or a client (masked, RFC 6455 §5.3). */
export function goingAwayFrame(masked: boolean): Buffer {
  const payload = Buffer.from([0x03, 0xe9]);
  if (!masked) return Buffer.concat([Buffer.from([0x88, payload.length]), payload]);
  // The mask only keeps intermediaries from mistaking frames for HTTP; a fixed key is as good as any here.
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const maskedPayload = Buffer.from(payload.map((byte, index) => byte ^ key[index % 4]!));
  return Buffer.concat([Buffer.from([0x88, 0x80 | payload.length]), key, maskedPayload]);
}
