import { randomFillSync } from 'node:crypto';

/**
 * Random ids for the request record: an event id (UUID v4) and a trace id (32 hex digits) per request. Both come from
 * one pool of CSPRNG bytes refilled in blocks (as node:crypto's randomUUID does), and each id is written into a small
 * buffer and read out as one flat string: randomUUID builds its text from ~20 string concatenations, and the trace
 * id then took a second UUID with its dashes replaced — together ~1 KB of garbage per request (allocation profile).
 */
const pool = Buffer.allocUnsafeSlow(16 * 256);
let poolOffset = pool.length;
const text = Buffer.allocUnsafeSlow(36);
const hexDigits = Buffer.from('0123456789abcdef', 'latin1');

/** The offset of 16 fresh random bytes in `pool`. */
function take16(): number {
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const offset = poolOffset;
  poolOffset += 16;
  return offset;
}

/** Writes `pool[from..from+count)` as hex into `text` at `at`; returns the position after. */
function writeHex(from: number, count: number, at: number): number {
  for (let index = from; index < from + count; index++) {
    const byte = pool[index]!;
    text[at++] = hexDigits[byte >> 4]!;
    text[at++] = hexDigits[byte & 15]!;
  }
  return at;
}

/** A random (version 4, RFC 9562) UUID in its lower-case 8-4-4-4-12 form, like node:crypto's randomUUID(). */
export function randomUuid(): string {
  const offset = take16();
  pool[offset + 6] = (pool[offset + 6]! & 0x0f) | 0x40;
  pool[offset + 8] = (pool[offset + 8]! & 0x3f) | 0x80;
  let at = writeHex(offset, 4, 0);
  text[at++] = 0x2d;
  at = writeHex(offset + 4, 2, at);
  text[at++] = 0x2d;
  at = writeHex(offset + 6, 2, at);
  text[at++] = 0x2d;
  at = writeHex(offset + 8, 2, at);
  text[at++] = 0x2d;
  writeHex(offset + 10, 6, at);
  return text.toString('latin1', 0, 36);
}

/** 16 random bytes as 32 lower-case hex digits (a W3C trace id; all zero is invalid, and has odds of 2^-128). */
export function randomTraceId(): string {
  writeHex(take16(), 16, 0);
  return text.toString('latin1', 0, 32);
}
