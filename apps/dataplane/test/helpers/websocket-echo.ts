import { createHash } from 'node:crypto';
import { request as httpRequest, type Agent } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { listen, type RunningServer } from './upstreams.js';

/** How the gateway answered an upgrade request: switched protocols (the spliced socket), or a plain response. */
export type UpgradeResult =
  { kind: 'upgraded'; status: number; socket: Socket } | { kind: 'answered'; status: number; body: string };

/**
 * Sends a WebSocket upgrade request (over TLS with `tls`, SNI = `host`; on `agent`'s kept-alive connection when one is
 * given) and resolves with the gateway's answer; rejects when the connection is dropped without one.
 */
export function requestUpgrade(options: {
  port: number;
  host: string;
  path: string;
  headers?: Record<string, string>;
  tls?: boolean;
  agent?: Agent;
}): Promise<UpgradeResult> {
  return new Promise((resolve, reject) => {
    const send = options.tls === true ? httpsRequest : httpRequest;
    const req = send({
      host: '127.0.0.1',
      port: options.port,
      path: options.path,
      headers: {
        host: options.host,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...options.headers,
      },
      agent: options.agent ?? false,
      ...(options.tls === true ? { servername: options.host, rejectUnauthorized: false } : {}),
      timeout: 10_000,
    });
    req.on('upgrade', (res, socket) => resolve({ kind: 'upgraded', status: res.statusCode ?? 0, socket }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ kind: 'answered', status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('test upgrade request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * A small but real WebSocket server (RFC 6455 handshake, masked client frames, unmasked server frames) that echoes
 * text messages back prefixed with "echo:", and reports the Host it saw. Enough to prove the gateway splices an
 * upgraded connection byte for byte.
 */
export async function startWebSocketEcho(): Promise<RunningServer & { hosts: string[] }> {
  const hosts: string[] = [];
  const running = await listen(
    (_req, res) => res.writeHead(426).end('upgrade required'),
    (server) => {
      server.on('upgrade', (req, socket: Duplex) => {
        hosts.push(req.headers.host ?? '');
        const key = req.headers['sec-websocket-key'] ?? '';
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        let buffer = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => {
          buffer = Buffer.concat([buffer, chunk]);
          for (;;) {
            const frame = readFrame(buffer);
            if (frame === undefined) return;
            buffer = buffer.subarray(frame.length);
            if (frame.opcode === 0x8) {
              socket.end(Buffer.from([0x88, 0x00]));
              return;
            }
            if (frame.opcode === 0x1) socket.write(textFrame(`echo:${frame.payload.toString('utf8')}`));
          }
        });
        socket.on('error', () => socket.destroy());
      });
    },
  );
  return Object.assign(running, { hosts });
}

/**
 * Ends an upgraded connection the way a client should: a (masked, empty) close frame, then waits until the echo
 * server's close comes back through the gateway and the socket closes. Destroying the socket instead only
 * half-closes the splice, which keeps the gateway's connection open.
 */
export async function closeWebSocket(socket: Socket): Promise<void> {
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.resume();
  socket.write(Buffer.from([0x88, 0x80, 0, 0, 0, 0]));
  await closed;
}

export function readFrame(buffer: Buffer): { opcode: number; payload: Buffer; length: number } | undefined {
  if (buffer.length < 2) return undefined;
  const opcode = buffer[0]! & 0x0f;
  const masked = (buffer[1]! & 0x80) !== 0;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const maskOffset = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return undefined;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (masked) for (let index = 0; index < payload.length; index++) payload[index]! ^= buffer[maskOffset + (index % 4)]!;
  return { opcode, payload, length: offset + length };
}

export function textFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  if (payload.length >= 126) throw new Error('test frames are short');
  return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
}

/** A client's (masked) text frame. */
export function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  if (payload.length >= 126) throw new Error('test frames are short');
  const key = Buffer.from([1, 2, 3, 4]);
  return Buffer.concat([
    Buffer.from([0x81, 0x80 | payload.length]),
    key,
    Buffer.from(payload.map((byte, index) => byte ^ key[index % 4]!)),
  ]);
}

/** Every frame the socket receives until it closes (text and close frames decoded), and how it ended. */
export function collectFrames(socket: Socket): {
  frames: { opcode: number; payload: Buffer }[];
  closed: Promise<{ hadError: boolean }>;
} {
  const frames: { opcode: number; payload: Buffer }[] = [];
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const frame = readFrame(buffer);
      if (frame === undefined) return;
      buffer = buffer.subarray(frame.length);
      frames.push({ opcode: frame.opcode, payload: frame.payload });
    }
  });
  let hadError = false;
  socket.on('error', () => (hadError = true));
  const closed = new Promise<{ hadError: boolean }>((resolve) => socket.once('close', () => resolve({ hadError })));
  return { frames, closed };
}
