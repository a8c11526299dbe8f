import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { goingAwayFrame, LongLivedStreams, WebSocketFrameRelay } from './long-lived-streams.js';

/** An unmasked binary frame with `length` payload bytes (7-bit, 16-bit or 64-bit length form). */
function frame(length: number, fill: number): Buffer {
  const header =
    length < 126
      ? Buffer.from([0x82, length])
      : length < 65_536
        ? Buffer.from([0x82, 126, length >> 8, length & 0xff])
        : Buffer.concat([Buffer.from([0x82, 127]), Buffer.from(new BigUint64Array([BigInt(length)]).buffer).reverse()]);
  return Buffer.concat([header, Buffer.alloc(length, fill)]);
}

function relay() {
  const source = new PassThrough();
  const destination = new PassThrough();
  const received: Buffer[] = [];
  destination.on('data', (chunk: Buffer) => received.push(chunk));
  return { source, relay: new WebSocketFrameRelay(source, destination), output: () => Buffer.concat(received) };
}

describe('WebSocketFrameRelay', () => {
  it('passes frames through untouched and stops only at a frame boundary', async () => {
    const { source, relay: frames, output } = relay();
    const first = frame(10, 1);
    const second = frame(300, 2);
    const third = frame(70_000, 3);
    const bytes = Buffer.concat([first, second, third]);
    // Split inside the second frame's extended length, then stop while the second frame is incomplete.
    source.write(bytes.subarray(0, first.length + 3));
    await new Promise((resolve) => setImmediate(resolve));
    let stopped = false;
    frames.stop(() => (stopped = true));
    expect(stopped).toBe(false);
    source.write(bytes.subarray(first.length + 3));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(true);
    expect(output().equals(Buffer.concat([first, second]))).toBe(true);
  });

  it('stops at once between frames', () => {
    const { relay: frames } = relay();
    let stopped = false;
    frames.stop(() => (stopped = true));
    expect(stopped).toBe(true);
  });

  it('writes close 1001 unmasked for clients and masked for upstreams', () => {
    expect([...goingAwayFrame(false)]).toEqual([0x88, 0x02, 0x03, 0xe9]);
    const masked = goingAwayFrame(true);
    expect(masked[1]).toBe(0x82);
    const key = masked.subarray(2, 6);
    expect([masked[6]! ^ key[0]!, masked[7]! ^ key[1]!]).toEqual([0x03, 0xe9]);
  });
});

describe('LongLivedStreams', () => {
  it('unregisters streams in any order, each once, and closes the rest at the drain', () => {
    const streams = new LongLivedStreams();
    const closed: number[] = [];
    const unregister = Array.from({ length: 6 }, (_, index) => streams.add(() => closed.push(index)));
    expect(streams.size).toBe(6);
    // Out of order, and twice: the second call does nothing (swap-remove must not drop another entry).
    unregister[1]!();
    unregister[1]!();
    unregister[5]!();
    unregister[0]!();
    expect(streams.size).toBe(3);
    streams.closeAll();
    expect(closed.sort()).toEqual([2, 3, 4]);
    expect(streams.size).toBe(0);
    // Unregistering after the drain took them, and registering during it (closed at once).
    unregister[3]!();
    streams.add(() => closed.push(9));
    expect(closed).toContain(9);
    expect(streams.size).toBe(0);
  });

  it('destroyAll cuts the tracked sockets still open; a socket that closed by itself is no longer tracked', async () => {
    const streams = new LongLivedStreams();
    const open = new PassThrough();
    const gone = new PassThrough();
    streams.track(open);
    streams.track(gone);
    gone.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    const destroyed: PassThrough[] = [];
    for (const socket of [open, gone]) {
      const destroy = socket.destroy.bind(socket);
      socket.destroy = (error?: Error) => {
        destroyed.push(socket);
        return destroy(error);
      };
    }
    streams.destroyAll();
    expect(destroyed).toEqual([open]);
    expect(open.destroyed).toBe(true);
  });
});
