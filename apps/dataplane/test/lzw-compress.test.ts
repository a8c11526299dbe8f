import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LzwCompressTransform } from '../src/proxy/lzw-compress.js';

/** Deterministic bytes that LZW cannot shrink much, so the table fills and codes pass through every width. */
function noise(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

async function compress(input: Buffer, chunkSize: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < input.length; offset += chunkSize)
    chunks.push(input.subarray(offset, offset + chunkSize));
  const output: Buffer[] = [];
  const stream = Readable.from(chunks).pipe(new LzwCompressTransform());
  for await (const chunk of stream) output.push(chunk as Buffer);
  return Buffer.concat(output);
}

/** gzip's LZW decoder (unlzw) reads compress(1) files: an independent implementation of the format. */
const decompress = (data: Buffer) => execFileSync('gzip', ['-dc'], { input: data, maxBuffer: 64 * 1024 * 1024 });

describe('LzwCompressTransform (Content-Encoding: compress)', () => {
  it.each([
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from('a')],
    ['repetitive text', Buffer.from('the quick brown fox jumps over the lazy dog. '.repeat(20_000))],
    // ~300k codes: every width from 9 to 16 bits, then a full table that stops growing.
    ['noise through every code width and a full table', noise(300_000, 7)],
    [
      'text after noise after text',
      Buffer.concat([Buffer.from('abc'.repeat(50_000)), noise(150_000, 11), Buffer.from('xyz'.repeat(50_000))]),
    ],
  ])('%s: gzip -d restores it exactly', async (_name, input) => {
    for (const chunkSize of [1, 7_919, 1 << 20]) {
      if (chunkSize === 1 && input.length > 10_000) continue;
      const compressed = await compress(input, chunkSize);
      expect(compressed.subarray(0, 3)).toEqual(Buffer.from([0x1f, 0x9d, 0x90]));
      expect(decompress(compressed).equals(input)).toBe(true);
    }
  });

  it('shrinks repetitive text', async () => {
    const input = Buffer.from('{"status":"ok","items":[1,2,3]}\n'.repeat(10_000));
    expect((await compress(input, 65_536)).length).toBeLessThan(input.length / 10);
  });
});
