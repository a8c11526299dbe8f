import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { crc32, crc64, xxhash64 } from './checksums.js';

const text = (value: string) => new TextEncoder().encode(value);

/** Published check values: CRC catalogue's "123456789" checks and xxHash's reference vectors. */
describe('checksums', () => {
  it('CRC-32/IEEE', () => {
    expect(bytesToHex(crc32(text('123456789')))).toBe('cbf43926');
    expect(bytesToHex(crc32(text('')))).toBe('00000000');
  });

  it('CRC-64/GO-ISO', () => {
    expect(bytesToHex(crc64(text('123456789')))).toBe('b90956c775a41001');
    expect(bytesToHex(crc64(text('')))).toBe('0000000000000000');
  });

  it('XXH64 with seed 0, on inputs below and above the 32-byte stripe', () => {
    expect(bytesToHex(xxhash64(text('')))).toBe('ef46db3751d8e999');
    expect(bytesToHex(xxhash64(text('a')))).toBe('d24ec4f1a98c6e5b');
    expect(bytesToHex(xxhash64(text('Nobody inspects the spammish repetition')))).toBe('fbcea83c8a378bf1');
  });
});
