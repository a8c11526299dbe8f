/**
 * The non-cryptographic checksums behind `hash.crc32`, `hash.crc64` and `hash.xxhash64` (ngrok's macros), written out
 * because they are a few lines each and the engine must stay pure JavaScript (it runs in the browser). Each returns
 * the big-endian bytes of the checksum, as Go's hash.Hash `Sum` does, so hex and base64 renderings match ngrok's.
 */

/** CRC-32 with the IEEE polynomial (reflected 0xEDB88320), as Go's `crc32.ChecksumIEEE`. */
export function crc32(bytes: Uint8Array): Uint8Array {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crc32Table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  crc = (crc ^ 0xffffffff) >>> 0;
  return new Uint8Array([crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff]);
}

const crc32Table = (() => {
  const table = new Uint32Array(256);
  for (let index = 0; index < 256; index++) {
    let value = index;
    for (let bit = 0; bit < 8; bit++) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
    table[index] = value >>> 0;
  }
  return table;
})();

const mask64 = (1n << 64n) - 1n;

/** CRC-64 with the ISO polynomial (reflected 0xD800000000000000), as Go's `crc64.Checksum(b, crc64.MakeTable(ISO))`. */
export function crc64(bytes: Uint8Array): Uint8Array {
  let crc = mask64;
  for (const byte of bytes) crc = crc64Table[Number((crc ^ BigInt(byte)) & 0xffn)]! ^ (crc >> 8n);
  return bigEndian64(crc ^ mask64);
}

const crc64Table = (() => {
  const table: bigint[] = [];
  for (let index = 0; index < 256; index++) {
    let value = BigInt(index);
    for (let bit = 0; bit < 8; bit++) value = value & 1n ? 0xd800000000000000n ^ (value >> 1n) : value >> 1n;
    table.push(value);
  }
  return table;
})();

const prime1 = 11400714785074694791n;
const prime2 = 14029467366897019727n;
const prime3 = 1609587929392839161n;
const prime4 = 9650029242287828579n;
const prime5 = 2870177450012600261n;

function rotl(value: bigint, bits: bigint): bigint {
  return ((value << bits) | (value >> (64n - bits))) & mask64;
}

function round(accumulator: bigint, lane: bigint): bigint {
  return (rotl((accumulator + lane * prime2) & mask64, 31n) * prime1) & mask64;
}

function mergeRound(accumulator: bigint, value: bigint): bigint {
  return ((accumulator ^ round(0n, value)) * prime1 + prime4) & mask64;
}

function readLane64(bytes: Uint8Array, offset: number): bigint {
  let value = 0n;
  for (let index = 7; index >= 0; index--) value = (value << 8n) | BigInt(bytes[offset + index]!);
  return value;
}

function readLane32(bytes: Uint8Array, offset: number): bigint {
  return BigInt(
    (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0,
  );
}

/** XXH64 with seed 0, as Go's `github.com/cespare/xxhash/v2` `Sum64`. */
export function xxhash64(bytes: Uint8Array): Uint8Array {
  const length = bytes.length;
  let offset = 0;
  let hash: bigint;
  if (length >= 32) {
    let v1 = (prime1 + prime2) & mask64;
    let v2 = prime2;
    let v3 = 0n;
    let v4 = -prime1 & mask64;
    for (; offset + 32 <= length; offset += 32) {
      v1 = round(v1, readLane64(bytes, offset));
      v2 = round(v2, readLane64(bytes, offset + 8));
      v3 = round(v3, readLane64(bytes, offset + 16));
      v4 = round(v4, readLane64(bytes, offset + 24));
    }
    hash = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & mask64;
    hash = mergeRound(hash, v1);
    hash = mergeRound(hash, v2);
    hash = mergeRound(hash, v3);
    hash = mergeRound(hash, v4);
  } else {
    hash = prime5;
  }
  hash = (hash + BigInt(length)) & mask64;
  for (; offset + 8 <= length; offset += 8) {
    hash ^= round(0n, readLane64(bytes, offset));
    hash = (rotl(hash, 27n) * prime1 + prime4) & mask64;
  }
  if (offset + 4 <= length) {
    hash ^= (readLane32(bytes, offset) * prime1) & mask64;
    hash = (rotl(hash, 23n) * prime2 + prime3) & mask64;
    offset += 4;
  }
  for (; offset < length; offset++) {
    hash ^= (BigInt(bytes[offset]!) * prime5) & mask64;
    hash = (rotl(hash, 11n) * prime1) & mask64;
  }
  hash ^= hash >> 33n;
  hash = (hash * prime2) & mask64;
  hash ^= hash >> 29n;
  hash = (hash * prime3) & mask64;
  hash ^= hash >> 32n;
  return bigEndian64(hash);
}

function bigEndian64(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  for (let index = 7; index >= 0; index--) {
    bytes[index] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes;
}
