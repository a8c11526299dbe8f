import { Environment, Optional } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientIp, RequestUrl } from './cel-values.js';
import {
  base64ToBytes,
  bytesToBase64,
  bytesToHex,
  celToJson,
  decodeBase64,
  decodeJson,
  encodeBase64,
  encodeJson,
  escapeUrl,
  jsonToCel,
  parseUrlToMap,
  sha256Digest,
  sha256Hex,
  unescapeUrl,
} from './codecs.js';

const encoder = new TextEncoder();

/** WebCrypto is the platform's own SHA-256 (OpenSSL under Node), so it is an independent oracle. */
async function referenceSha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes.slice().buffer);
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** `btoa` over a binary string is the platform's base64, again independent of ours. */
function referenceBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65_536)
    crypto.getRandomValues(bytes.subarray(offset, offset + 65_536));
  return bytes;
}

describe('sha256Hex', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
    [
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    ],
  ])('matches the FIPS 180-2 vector for %j', (input, expected) => {
    expect(sha256Hex(input)).toBe(expected);
    expect(sha256Hex(encoder.encode(input))).toBe(expected);
  });

  it('hashes one million "a" (many blocks)', () => {
    expect(sha256Hex('a'.repeat(1_000_000))).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('hashes strings as UTF-8', async () => {
    const text = 'héllo wörld ✓ 😀 日本語';
    expect(sha256Hex(text)).toBe(await referenceSha256(encoder.encode(text)));
  });

  it('returns 32 raw bytes from sha256Digest', () => {
    const digest = sha256Digest('abc');
    expect(digest).toBeInstanceOf(Uint8Array);
    expect(digest.length).toBe(32);
    expect(bytesToHex(digest)).toBe(sha256Hex('abc'));
  });

  it('agrees with WebCrypto on 500 random inputs, covering every padding boundary', async () => {
    // Lengths around 55/56/64 bytes decide whether the length fits in the last block; cover them explicitly.
    const boundaryLengths = [0, 1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 191, 192, 1000, 4096];
    for (let run = 0; run < 500; run++) {
      const length = run < boundaryLengths.length ? boundaryLengths[run]! : Math.floor(Math.random() * 600);
      const bytes = randomBytes(length);
      expect(sha256Hex(bytes), `length ${length}`).toBe(await referenceSha256(bytes));
    }
  });

  it('agrees with WebCrypto on random Unicode strings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 200 }), async (text) => {
        expect(sha256Hex(text)).toBe(await referenceSha256(encoder.encode(text)));
      }),
      { numRuns: 200 },
    );
  });

  it('does not modify its input', () => {
    const bytes = randomBytes(100);
    const copy = bytes.slice();
    sha256Hex(bytes);
    expect(bytes).toEqual(copy);
  });
});

describe('hex and base64 bytes', () => {
  it('formats hex in lower case with leading zeros', () => {
    expect(bytesToHex(Uint8Array.of(0, 1, 15, 16, 171, 255))).toBe('00010f10abff');
    expect(bytesToHex(new Uint8Array())).toBe('');
  });

  it('encodes like btoa for random bytes of every remainder', () => {
    for (let length = 0; length < 300; length++) {
      const bytes = randomBytes(length);
      expect(bytesToBase64(bytes)).toBe(referenceBase64(bytes));
    }
  });

  it('round-trips random bytes through standard, URL-safe and unpadded forms', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const standard = bytesToBase64(bytes);
        const urlSafe = standard.replaceAll('+', '-').replaceAll('/', '_');
        expect(base64ToBytes(standard)).toEqual(bytes);
        expect(base64ToBytes(urlSafe)).toEqual(bytes);
        expect(base64ToBytes(standard.replace(/=+$/, ''))).toEqual(bytes);
        expect(base64ToBytes(urlSafe.replace(/=+$/, ''))).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes both alphabets to the same bytes', () => {
    expect([...base64ToBytes('+/+/')]).toEqual([0xfb, 0xff, 0xbf]);
    expect([...base64ToBytes('-_-_')]).toEqual([0xfb, 0xff, 0xbf]);
  });
});

describe('encodeBase64 / decodeBase64', () => {
  it.each([
    ['', ''],
    ['f', 'Zg=='],
    ['fo', 'Zm8='],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg=='],
    ['fooba', 'Zm9vYmE='],
    ['foobar', 'Zm9vYmFy'],
    ['héllo', 'aMOpbGxv'],
    ['😀', '8J+YgA=='],
  ])('%j ↔ %j (RFC 4648 vectors and UTF-8)', (text, encoded) => {
    expect(encodeBase64(text)).toBe(encoded);
    expect(decodeBase64(encoded)).toBe(text);
  });

  it('round-trips arbitrary Unicode text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), (text) => {
        expect(decodeBase64(encodeBase64(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('accepts URL-safe and unpadded input', () => {
    expect(decodeBase64('8J-YgA')).toBe('😀');
    expect(decodeBase64('8J-YgA==')).toBe('😀');
    expect(decodeBase64('Zm9vYg')).toBe('foob');
  });

  it('keeps a leading byte-order mark as text', () => {
    expect(decodeBase64(encodeBase64('\uFEFFx'))).toBe('\uFEFFx');
  });

  it.each([
    'a',
    'Zm9vY',
    'Zg=',
    'Zg===',
    '=Zg=',
    'Zg==Zg==',
    'Zm9v\n',
    ' Zm9v',
    'Zm 9v',
    'Zm9v!',
    '====',
    '=',
    'é',
    'Zm9v\u0000',
  ])('rejects %j', (text) => {
    expect(() => decodeBase64(text)).toThrow('invalid base64');
    expect(() => base64ToBytes(text)).toThrow('invalid base64');
  });

  it('rejects bytes that are not UTF-8 text', () => {
    expect(() => decodeBase64('/w==')).toThrow('not valid UTF-8');
    expect([...base64ToBytes('/w==')]).toEqual([0xff]);
  });
});

describe('jsonToCel / decodeJson', () => {
  it('turns objects into Maps, recursively', () => {
    const value = decodeJson('{"a":{"b":[1,2.5,"x",true,null,{"c":{}}]},"constructor":"y"}');
    expect(value).toEqual(
      new Map<string, unknown>([
        ['a', new Map([['b', [1, 2.5, 'x', true, null, new Map([['c', new Map()]])]]])],
        ['constructor', 'y'],
      ]),
    );
  });

  it('keeps scalars and numbers as JS numbers (CEL double)', () => {
    expect(jsonToCel(1)).toBe(1);
    expect(typeof jsonToCel(1)).toBe('number');
    expect(jsonToCel('s')).toBe('s');
    expect(jsonToCel(false)).toBe(false);
    expect(jsonToCel(null)).toBeNull();
    expect(jsonToCel([1, [2]])).toEqual([1, [2]]);
  });

  it('keeps a __proto__ key as data', () => {
    const value = decodeJson('{"__proto__":{"polluted":true}}') as Map<string, unknown>;
    expect(value.get('__proto__')).toEqual(new Map([['polluted', true]]));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each(['', '{', '{a:1}', "{'a':1}", '[1,]', 'undefined', 'NaN'])('throws on invalid JSON %j', (text) => {
    expect(() => decodeJson(text)).toThrow(/^invalid JSON/);
  });

  it('evaluates correctly in a real cel-js environment, including awkward keys', () => {
    const env = new Environment().registerVariable('doc', 'dyn');
    const doc = decodeJson('{"a":{"b":[1,2]},"constructor":"c","n":3,"list":["x","y"],"empty":{}}');
    expect(env.evaluate('doc.a.b[1] == 2', { doc })).toBe(true);
    expect(env.evaluate('doc.a.b[1] == 2.0', { doc })).toBe(true);
    expect(env.evaluate('doc.constructor', { doc })).toBe('c');
    expect(env.evaluate('doc["n"] + 1.5', { doc })).toBe(4.5);
    expect(env.evaluate('"x" in doc.list && "a" in doc && !("z" in doc)', { doc })).toBe(true);
    expect(env.evaluate('size(doc) == 5 && size(doc.empty) == 0', { doc })).toBe(true);
    expect(env.evaluate('doc.list.exists(v, v == "y")', { doc })).toBe(true);
  });
});

describe('celToJson / encodeJson', () => {
  it('maps integers to numbers when safe and to strings otherwise', () => {
    expect(celToJson(42n)).toBe(42);
    expect(celToJson(BigInt(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(celToJson(BigInt(Number.MAX_SAFE_INTEGER) + 1n)).toBe('9007199254740992');
    expect(celToJson(-9223372036854775808n)).toBe('-9223372036854775808');
    expect(celToJson(new UnsignedInt(7n))).toBe(7);
    expect(celToJson(new UnsignedInt(18446744073709551615n))).toBe('18446744073709551615');
  });

  it('spells non-finite doubles as strings', () => {
    expect(celToJson(1.5)).toBe(1.5);
    expect(celToJson(Number.NaN)).toBe('NaN');
    expect(celToJson(Number.POSITIVE_INFINITY)).toBe('Infinity');
    expect(celToJson(Number.NEGATIVE_INFINITY)).toBe('-Infinity');
  });

  it('converts maps, lists, bytes, timestamps, durations and optionals', () => {
    const value = new Map<unknown, unknown>([
      ['list', [1n, 'x', null, true]],
      ['bytes', Uint8Array.of(104, 105)],
      ['when', new Date('2024-01-02T03:04:05.678Z')],
      ['took', new Duration(1n, 500_000_000)],
      ['some', Optional.of(3n)],
      ['none', Optional.none()],
      ['set', new Set([1n])],
      [5n, 'int key'],
      [true, 'bool key'],
    ]);
    expect(celToJson(value)).toEqual({
      list: [1, 'x', null, true],
      bytes: 'aGk=',
      when: '2024-01-02T03:04:05.678Z',
      took: '1.5s',
      some: 3,
      none: null,
      set: [1],
      '5': 'int key',
      true: 'bool key',
    });
  });

  it('renders string-like custom values as their string form', () => {
    const ip = new ClientIp('10.1.2.3', { categoriesOf: () => ['x'] });
    const url = new RequestUrl('https', 'example.com', '443', '/p', 'q=1');
    expect(celToJson(ip)).toBe('10.1.2.3');
    expect(celToJson(url)).toBe('https://example.com/p?q=1');
    expect(encodeJson(new Map([['ip', ip]]))).toBe('{"ip":"10.1.2.3"}');
  });

  it('keeps plain objects (cel-js map literals) and a __proto__ key as data', () => {
    expect(celToJson({ a: 1n, b: { c: [2n] } })).toEqual({ a: 1, b: { c: [2] } });
    const encoded = encodeJson(new Map([['__proto__', 1n]]));
    expect(encoded).toBe('{"__proto__":1}');
  });

  it('throws for values JSON cannot carry', () => {
    expect(() => celToJson(undefined)).toThrow(/cannot be encoded/);
    expect(() => celToJson(() => 1)).toThrow(/cannot be encoded/);
    expect(() => celToJson(Symbol('s'))).toThrow(/cannot be encoded/);
    expect(() => celToJson(new Date(Number.NaN))).toThrow(/invalid timestamp/);
    expect(() => celToJson(new Map([[{}, 1]]))).toThrow(/map key/);
  });

  it('refuses absurdly deep values instead of overflowing the stack', () => {
    let deep: unknown[] = [];
    for (let level = 0; level < 1000; level++) deep = [deep];
    expect(() => encodeJson(deep)).toThrow(/nested too deeply/);
  });

  it('round-trips JSON documents through the CEL representation', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        const normalized: unknown = JSON.parse(JSON.stringify(value));
        expect(JSON.parse(encodeJson(decodeJson(JSON.stringify(value))))).toEqual(normalized);
      }),
      { numRuns: 300 },
    );
  });

  it('encodes what a real cel-js environment produces', () => {
    // Mixed literals need the option the policy environments use.
    const env = new Environment({ homogeneousAggregateLiterals: false }).registerFunction(
      'encode(dyn): string',
      (value: unknown) => encodeJson(value),
    );
    expect(env.evaluate('encode({"a": [1, 2], "b": {"c": 3}})')).toBe('{"a":[1,2],"b":{"c":3}}');
    expect(env.evaluate('encode(timestamp("2024-01-02T03:04:05Z"))')).toBe('"2024-01-02T03:04:05.000Z"');
    expect(env.evaluate('encode(duration("90s"))')).toBe('"90s"');
    expect(env.evaluate('encode(b"hi")')).toBe('"aGk="');
    expect(env.evaluate('encode(9223372036854775807)')).toBe('"9223372036854775807"');
    expect(env.evaluate('encode(2u)')).toBe('2');
    expect(env.evaluate('encode(null)')).toBe('null');
    expect(env.evaluate('encode({1: "one"})')).toBe('{"1":"one"}');
  });
});

describe('parseUrlToMap', () => {
  it('splits a full URL into its parts', () => {
    const parts = parseUrlToMap('https://us%20er:p%40ss@Example.COM:8443/a/b%20c?x=1&x=2&y=%20&z#frag');
    expect(Object.fromEntries(parts)).toEqual({
      scheme: 'https',
      host: 'example.com',
      port: '8443',
      path: '/a/b%20c',
      query: 'x=1&x=2&y=%20&z',
      query_params: new Map([
        ['x', ['1', '2']],
        ['y', [' ']],
        ['z', ['']],
      ]),
      fragment: 'frag',
      user: 'us er',
      password: 'p@ss',
    });
  });

  it('leaves absent parts empty and drops default ports', () => {
    const parts = parseUrlToMap('http://example.com:80');
    expect(parts.get('port')).toBe('');
    expect(parts.get('path')).toBe('/');
    expect(parts.get('query')).toBe('');
    expect(parts.get('query_params')).toEqual(new Map());
    expect(parts.get('fragment')).toBe('');
    expect(parts.get('user')).toBe('');
    expect(parts.get('password')).toBe('');
  });

  it('strips the brackets of an IPv6 host', () => {
    const parts = parseUrlToMap('http://[2001:db8::1]:8080/x');
    expect(parts.get('host')).toBe('2001:db8::1');
    expect(parts.get('port')).toBe('8080');
  });

  it.each(['', 'not a url', '/relative/path', 'http://', 'http://exa mple.com/'])('throws on %j', (text) => {
    expect(() => parseUrlToMap(text)).toThrow('invalid URL');
  });
});

describe('escapeUrl / unescapeUrl', () => {
  it('percent-encodes like encodeURIComponent', () => {
    expect(escapeUrl('a b&c=d/é?#+')).toBe('a%20b%26c%3Dd%2F%C3%A9%3F%23%2B');
    expect(escapeUrl("-_.!~*'()")).toBe("-_.!~*'()");
    expect(escapeUrl('')).toBe('');
  });

  it('decodes percent escapes and leaves + alone', () => {
    expect(unescapeUrl('a%20b%26c%3Dd%2F%C3%A9')).toBe('a b&c=d/é');
    expect(unescapeUrl('a+b')).toBe('a+b');
  });

  it('round-trips arbitrary well-formed text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), (text) => {
        expect(unescapeUrl(escapeUrl(text))).toBe(text);
      }),
    );
  });

  it('throws instead of guessing', () => {
    expect(() => unescapeUrl('%E0%A4%A')).toThrow('invalid percent-encoding');
    expect(() => unescapeUrl('%')).toThrow('invalid percent-encoding');
    expect(() => unescapeUrl('%ff')).toThrow('invalid percent-encoding');
    expect(() => escapeUrl('\uD800')).toThrow(/lone surrogate/);
  });
});
