import { Transform, type TransformCallback } from 'node:stream';

/**
 * `Content-Encoding: compress`: the Unix compress(1) format (LZW, RFC 9110 §8.4.1.1), which ngrok's compress-response
 * offers and Node's zlib does not. Block mode, codes growing from 9 to 16 bits, least significant bit first; once the
 * table is full it stops growing and never sends CLEAR, which every decoder (ncompress, gzip's unlzw) accepts. Without
 * CLEAR, each width carries a whole number of eight-code groups, so compress(1)'s padding to a group boundary when the
 * width grows never applies. It cannot flush mid-stream (an LZW code cannot be ended early), so the data plane does
 * not use it for event streams.
 */

const MAX_BITS = 16;
const INIT_BITS = 9;
/** First free code in block mode (256 is CLEAR). */
const FIRST_CODE = 257;
const BLOCK_MODE = 0x80;

export class LzwCompressTransform extends Transform {
  /** (prefix code << 8 | byte) → code */
  readonly #table = new Map<number, number>();
  #nextCode = FIRST_CODE;
  #bits = INIT_BITS;
  #prefix = -1;
  /** Pending output bits, least significant first, and how many there are. */
  #bitBuffer = 0;
  #bitCount = 0;
  #out: number[] = [0x1f, 0x9d, MAX_BITS | BLOCK_MODE];

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (const byte of chunk) {
      if (this.#prefix < 0) {
        this.#prefix = byte;
        continue;
      }
      const key = (this.#prefix << 8) | byte;
      const known = this.#table.get(key);
      if (known !== undefined) {
        this.#prefix = known;
        continue;
      }
      this.#emit(this.#prefix);
      if (this.#nextCode < 1 << MAX_BITS) {
        this.#table.set(key, this.#nextCode++);
        // A decoder adds its entries one code behind, so the width grows only once the code after the next one would
        // not fit (checked against gzip's decoder across every width in lzw-compress.test.ts).
        if (this.#nextCode > 1 << this.#bits && this.#bits < MAX_BITS) this.#bits += 1;
      }
      this.#prefix = byte;
    }
    this.#drain();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#prefix >= 0) this.#emit(this.#prefix);
    if (this.#bitCount > 0) this.#out.push(this.#bitBuffer & 0xff);
    this.#bitBuffer = 0;
    this.#bitCount = 0;
    this.#drain();
    callback();
  }

  #emit(code: number): void {
    this.#bitBuffer |= code << this.#bitCount;
    this.#bitCount += this.#bits;
    while (this.#bitCount >= 8) {
      this.#out.push(this.#bitBuffer & 0xff);
      this.#bitBuffer >>>= 8;
      this.#bitCount -= 8;
    }
  }

  #drain(): void {
    if (this.#out.length === 0) return;
    this.push(Buffer.from(this.#out));
    this.#out = [];
  }
}
