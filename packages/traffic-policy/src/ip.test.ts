import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cidrContains,
  compileCidrSet,
  parseClientIpFilter,
  createIpCategoryIndex,
  inCidrRange,
  inCidrRanges,
  isPrivateIp,
  parseCidr,
  parseIp,
  type ParsedIp,
} from './ip.js';

function wordsOf(text: string): number[] | undefined {
  const parsed = parseIp(text);
  return parsed === undefined ? undefined : [...parsed.words];
}

/** Independent reference: the address as one big integer, from an address built out of known groups. */
function toBigInt(parsed: ParsedIp): bigint {
  let value = 0n;
  for (const word of parsed.words) value = (value << 32n) | BigInt(word);
  return value;
}

function referenceContains(address: bigint, network: bigint, prefix: number, bits: number): boolean {
  const shift = BigInt(bits - prefix);
  return address >> shift === network >> shift;
}

function formatV4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

function formatV6Full(groups: readonly number[]): string {
  return groups.map((group) => group.toString(16)).join(':');
}

function groupsToBigInt(groups: readonly number[]): bigint {
  return groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

describe('parseIp: IPv4', () => {
  it.each([
    ['0.0.0.0', [0]],
    ['255.255.255.255', [0xffffffff]],
    ['1.2.3.4', [0x01020304]],
    ['10.0.0.1', [0x0a000001]],
    ['192.168.100.200', [0xc0a864c8]],
  ])('parses %s', (text, words) => {
    expect(parseIp(text)?.version).toBe(4);
    expect(wordsOf(text)).toEqual(words);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.0',
    '1.2.3.256',
    '1.2.3.1000',
    '1..2.3',
    '.1.2.3.4',
    '1.2.3.4.',
    '01.2.3.4',
    '1.2.3.04',
    '1.2.3.00',
    '0x1.2.3.4',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1.2.3.-4',
    '+1.2.3.4',
    '1.2.3.4/32',
    'a.b.c.d',
    '1.2.3.4\n',
    'localhost',
    '1234',
  ])('rejects %j', (text) => {
    expect(parseIp(text)).toBeUndefined();
  });

  it('round-trips every formatted 32-bit value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (value) => {
        expect(wordsOf(formatV4(value))).toEqual([value]);
      }),
    );
  });
});

describe('parseIp: IPv6', () => {
  it.each([
    ['::', [0, 0, 0, 0]],
    ['::1', [0, 0, 0, 1]],
    ['1::', [0x00010000, 0, 0, 0]],
    ['2001:db8::1', [0x20010db8, 0, 0, 1]],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', [0x20010db8, 0, 0, 1]],
    ['FE80::ABCD', [0xfe800000, 0, 0, 0xabcd]],
    ['1:2:3:4:5:6:7:8', [0x00010002, 0x00030004, 0x00050006, 0x00070008]],
    ['1:2:3:4:5:6:7::', [0x00010002, 0x00030004, 0x00050006, 0x00070000]],
    ['::2:3:4:5:6:7:8', [0x00000002, 0x00030004, 0x00050006, 0x00070008]],
    ['1:2:3::6:7:8', [0x00010002, 0x00030000, 0x00000006, 0x00070008]],
    ['1:2:3:4:5:6:1.2.3.4', [0x00010002, 0x00030004, 0x00050006, 0x01020304]],
    ['64:ff9b::192.0.2.33', [0x0064ff9b, 0, 0, 0xc0000221]],
    ['::1.2.3.4', [0, 0, 0, 0x01020304]],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]],
  ])('parses %s', (text, words) => {
    expect(parseIp(text)?.version).toBe(6);
    expect(wordsOf(text)).toEqual(words);
  });

  it.each([
    'fe80::1%eth0',
    'fe80::1%25eth0',
    '[::1]',
    '[::1]:80',
    ':::',
    ':',
    '1:::2',
    '1::2::3',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    '12345::',
    'g::1',
    '1:',
    ':1',
    '1:2:3:4:5:6:7:',
    '::1.2.3',
    '::1.2.3.4:5',
    '::01.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    '::ffff:256.1.1.1',
    ' ::1',
    '::1 ',
    '::1/128',
    '2001:db8::1::',
  ])('rejects %j', (text) => {
    expect(parseIp(text)).toBeUndefined();
  });

  it('normalizes IPv4-mapped addresses to IPv4, in dotted and hex form', () => {
    expect(parseIp('::ffff:1.2.3.4')).toEqual({ version: 4, words: Uint32Array.of(0x01020304) });
    expect(parseIp('::FFFF:0102:0304')).toEqual({ version: 4, words: Uint32Array.of(0x01020304) });
    expect(parseIp('0:0:0:0:0:ffff:a00:1')).toEqual({ version: 4, words: Uint32Array.of(0x0a000001) });
    // IPv4-compatible (deprecated) and NAT64 addresses are real IPv6 addresses and stay IPv6.
    expect(parseIp('::1.2.3.4')?.version).toBe(6);
    expect(parseIp('64:ff9b::1.2.3.4')?.version).toBe(6);
  });

  it('parses full-form addresses built from random groups', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), (groups) => {
        const parsed = parseIp(formatV6Full(groups));
        expect(parsed).toBeDefined();
        const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
        expect(parsed?.version).toBe(mapped ? 4 : 6);
        if (!mapped) expect(toBigInt(parsed!)).toBe(groupsToBigInt(groups));
      }),
    );
  });

  it('agrees with the URL parser on every generated IPv6 address', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
        const parsed = parseIp(text);
        expect(parsed).toBeDefined();
        expect(parseIp(canonical)).toEqual(parsed);
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseCidr', () => {
  it('parses IPv4 ranges and masks host bits', () => {
    const cidr = parseCidr('10.1.2.3/8');
    expect(cidr).toMatchObject({ text: '10.1.2.3/8', version: 4, prefix: 8 });
    expect([...cidr!.network]).toEqual([0x0a000000]);
    expect([...cidr!.mask]).toEqual([0xff000000]);
  });

  it('reads a bare address as a single-host range', () => {
    expect(parseCidr('1.2.3.4')).toMatchObject({ version: 4, prefix: 32 });
    expect(parseCidr('2001:db8::1')).toMatchObject({ version: 6, prefix: 128 });
  });

  it('parses IPv6 ranges across word boundaries', () => {
    const cidr = parseCidr('2001:db8:ffff:ffff::/33');
    expect(cidr).toMatchObject({ version: 6, prefix: 33 });
    expect([...cidr!.network]).toEqual([0x20010db8, 0x80000000, 0, 0]);
    expect([...cidr!.mask]).toEqual([0xffffffff, 0x80000000, 0, 0]);
  });

  it('handles /0 for both families', () => {
    expect([...parseCidr('1.2.3.4/0')!.mask]).toEqual([0]);
    expect([...parseCidr('1.2.3.4/0')!.network]).toEqual([0]);
    expect([...parseCidr('::1/0')!.mask]).toEqual([0, 0, 0, 0]);
  });

  it('turns IPv4-mapped ranges of prefix ≥ 96 into IPv4 ranges', () => {
    expect(parseCidr('::ffff:10.0.0.0/104')).toMatchObject({ version: 4, prefix: 8 });
    expect(parseCidr('::ffff:0:0/96')).toMatchObject({ version: 4, prefix: 0 });
    expect(parseCidr('::ffff:1.2.3.4')).toMatchObject({ version: 4, prefix: 32 });
    expect(parseCidr('::ffff:0:0/95')).toMatchObject({ version: 6, prefix: 95 });
  });

  it.each([
    '',
    '/8',
    '1.2.3.4/',
    '1.2.3.4/33',
    '1.2.3.4/-1',
    '1.2.3.4/+8',
    '1.2.3.4/ 8',
    '1.2.3.4/8 ',
    '1.2.3.4/08',
    '1.2.3.4/8/9',
    '1.2.3.4/1000',
    '1.2.3.4/a',
    '::/129',
    '01.2.3.4/8',
    'fe80::%eth0/64',
    '[::1]/128',
    'not-a-cidr',
  ])('rejects %j', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });
});

describe('inCidrRange', () => {
  it.each([
    ['10.1.2.3', '10.0.0.0/8', true],
    ['11.0.0.0', '10.0.0.0/8', false],
    ['9.255.255.255', '10.0.0.0/8', false],
    ['1.2.3.4', '0.0.0.0/0', true],
    ['255.255.255.255', '0.0.0.0/0', true],
    ['1.2.3.4', '1.2.3.4/32', true],
    ['1.2.3.5', '1.2.3.4/32', false],
    ['1.2.3.4', '1.2.3.4', true],
    ['1.2.3.5', '1.2.3.4/31', true],
    ['1.2.3.6', '1.2.3.4/31', false],
    ['10.200.0.1', '10.1.2.3/8', true],
    ['::ffff:10.1.2.3', '10.0.0.0/8', true],
    ['10.1.2.3', '::ffff:10.0.0.0/104', true],
    ['::1', '0.0.0.0/0', false],
    ['1.2.3.4', '::/0', false],
    ['2001:db8::1', '::/0', true],
    ['2001:db8::1', '2001:db8::/32', true],
    ['2001:db9::1', '2001:db8::/32', false],
    ['2001:db8::1', '2001:db8::1/128', true],
    ['2001:db8::2', '2001:db8::1/128', false],
    ['2001:db8::1', '2001:db8::/127', true],
    ['2001:db8::2', '2001:db8::/127', false],
    ['2001:db8:8000::1', '2001:db8:ffff::/33', true],
    ['2001:db8:7fff::1', '2001:db8:ffff::/33', false],
    ['2001:db8::ffff:ffff', '2001:db8::/96', true],
    ['2001:db8::1:0:0', '2001:db8::/96', false],
    ['not-an-ip', '0.0.0.0/0', false],
    ['', '::/0', false],
    ['1.2.3.4', 'garbage', false],
    ['1.2.3.4', '1.2.3.4/33', false],
  ])('%s in %s → %s', (ip, cidr, expected) => {
    expect(inCidrRange(ip, cidr)).toBe(expected);
    // The second call hits the CIDR cache and must agree.
    expect(inCidrRange(ip, cidr)).toBe(expected);
  });

  it('agrees with a big-integer reference for random IPv4 ranges', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 32 }),
        fc.boolean(),
        (address, network, prefix, sharePrefix) => {
          // Half the cases share the prefix so both outcomes are exercised.
          const shift = BigInt(32 - prefix);
          const candidate = sharePrefix
            ? Number(((BigInt(network) >> shift) << shift) | (BigInt(address) & ((1n << shift) - 1n)))
            : address;
          const expected = referenceContains(BigInt(candidate), BigInt(network), prefix, 32);
          expect(inCidrRange(formatV4(candidate), `${formatV4(network)}/${prefix}`)).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('agrees with a big-integer reference for random IPv6 ranges', () => {
    const groups = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(
        groups,
        groups,
        fc.integer({ min: 0, max: 128 }),
        fc.boolean(),
        (address, generated, prefix, share) => {
          // Keep clear of ::ffff:0:0/96, which is normalized to IPv4 on purpose (on a copy: fast-check reuses its values).
          const network = [generated[0]! | 0x2000, ...generated.slice(1)];
          const shift = BigInt(128 - prefix);
          const networkValue = groupsToBigInt(network);
          const candidate = share
            ? ((networkValue >> shift) << shift) | (groupsToBigInt(address) & ((1n << shift) - 1n))
            : groupsToBigInt(address) | (1n << 127n);
          const candidateGroups = Array.from({ length: 8 }, (_, index) =>
            Number((candidate >> BigInt(112 - index * 16)) & 0xffffn),
          );
          const expected = referenceContains(candidate, networkValue, prefix, 128);
          expect(inCidrRange(formatV6Full(candidateGroups), `${formatV6Full(network)}/${prefix}`)).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('inCidrRanges', () => {
  it('is true when any valid range matches and skips invalid ones', () => {
    expect(inCidrRanges('10.1.2.3', ['garbage', '192.168.0.0/16', '10.0.0.0/8'])).toBe(true);
    expect(inCidrRanges('10.1.2.3', ['garbage', '192.168.0.0/16'])).toBe(false);
    expect(inCidrRanges('2001:db8::1', ['10.0.0.0/8', '2001:db8::/32'])).toBe(true);
    expect(inCidrRanges('10.1.2.3', [])).toBe(false);
    expect(inCidrRanges('bad', ['0.0.0.0/0', '::/0'])).toBe(false);
  });
});

describe('compileCidrSet', () => {
  const set = compileCidrSet([
    '10.0.0.0/8',
    'nope',
    '2001:db8::/32',
    '10.1.0.0/16',
    '::ffff:192.168.0.0/112',
    '1.2.3.4/40',
  ]);

  it('reports invalid inputs and counts valid ones', () => {
    expect(set.invalid).toEqual(['nope', '1.2.3.4/40']);
    expect(set.size).toBe(4);
    expect(Object.isFrozen(set.invalid)).toBe(true);
  });

  it('returns the original text of the first matching CIDR', () => {
    expect(set.match('10.1.2.3')).toBe('10.0.0.0/8');
    expect(set.match('2001:db8:1::5')).toBe('2001:db8::/32');
    expect(set.match('192.168.4.4')).toBe('::ffff:192.168.0.0/112');
    expect(set.match('::ffff:192.168.4.4')).toBe('::ffff:192.168.0.0/112');
    expect(set.match('11.0.0.1')).toBeUndefined();
    expect(set.match('2001:db9::1')).toBeUndefined();
    expect(set.match('garbage')).toBeUndefined();
  });

  it('keeps input order within a family', () => {
    const narrowFirst = compileCidrSet(['10.1.0.0/16', '10.0.0.0/8']);
    expect(narrowFirst.match('10.1.2.3')).toBe('10.1.0.0/16');
    expect(narrowFirst.match('10.2.0.0')).toBe('10.0.0.0/8');
  });

  it('accepts an already parsed address', () => {
    const parsed = parseIp('10.9.9.9')!;
    expect(set.contains(parsed)).toBe(true);
    expect(set.contains(parseIp('8.8.8.8')!)).toBe(false);
  });

  it('handles /0 and exact-host ranges', () => {
    const everything = compileCidrSet(['0.0.0.0/0', '::/0']);
    expect(everything.contains('1.2.3.4')).toBe(true);
    expect(everything.contains('ffff::')).toBe(true);
    const hosts = compileCidrSet(['1.2.3.4/32', '::1/128']);
    expect(hosts.contains('1.2.3.4')).toBe(true);
    expect(hosts.contains('1.2.3.5')).toBe(false);
    expect(hosts.contains('::1')).toBe(true);
    expect(hosts.contains('::2')).toBe(false);
  });

  it('matches nothing when empty', () => {
    const empty = compileCidrSet([]);
    expect(empty.contains('1.2.3.4')).toBe(false);
    expect(empty.contains('::1')).toBe(false);
    expect(empty.size).toBe(0);
  });

  it('agrees with cidrContains on random IPv4 input', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })), { maxLength: 8 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (ranges, address) => {
          const texts = ranges.map(([network, prefix]) => `${formatV4(network)}/${prefix}`);
          const ip = parseIp(formatV4(address))!;
          const expected = texts.find((text) => cidrContains(parseCidr(text)!, ip));
          expect(compileCidrSet(texts).match(ip)).toBe(expected);
        },
      ),
    );
  });
});

describe('isPrivateIp', () => {
  it.each([
    ['10.0.0.1', true],
    ['10.255.255.255', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.0', false],
    ['172.15.255.255', false],
    ['192.168.1.1', true],
    ['192.169.0.0', false],
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['100.127.255.255', true],
    ['100.128.0.0', false],
    ['100.63.255.255', false],
    ['0.0.0.0', true],
    ['0.0.0.1', false],
    ['8.8.8.8', false],
    ['160.79.104.1', false],
    ['::1', true],
    ['::', true],
    ['::2', false],
    ['fe80::1', true],
    ['febf:ffff::1', true],
    ['fec0::1', false],
    ['fc00::1', true],
    ['fd12:3456::1', true],
    ['fe00::1', false],
    ['2001:4860:4860::8888', false],
    ['::ffff:192.168.0.1', true],
    ['::ffff:8.8.8.8', false],
    ['not-an-ip', false],
    ['', false],
    ['10.0.0.1/8', false],
  ])('%s → %s', (ip, expected) => {
    expect(isPrivateIp(ip)).toBe(expected);
  });
});

describe('createIpCategoryIndex', () => {
  const index = createIpCategoryIndex([
    { name: 'com.anthropic.api', cidrs: ['160.79.104.0/21', '2607:6bc0::/48'] },
    { name: 'private', cidrs: ['10.0.0.0/8', '192.168.0.0/16', 'bogus'] },
    { name: 'a.first', cidrs: ['160.79.104.0/24'] },
    { name: 'private', cidrs: ['172.16.0.0/12'] },
  ]);

  it('finds the Anthropic API ranges', () => {
    expect(index.categoriesOf('160.79.104.1')).toContain('com.anthropic.api');
    expect(index.categoriesOf('160.79.111.255')).toEqual(['com.anthropic.api']);
    expect(index.categoriesOf('160.79.112.0')).toEqual([]);
    expect(index.categoriesOf('160.79.103.255')).toEqual([]);
    expect(index.categoriesOf('2607:6bc0::1')).toEqual(['com.anthropic.api']);
    expect(index.categoriesOf('2607:6bc0:0:ffff::1')).toEqual(['com.anthropic.api']);
    expect(index.categoriesOf('2607:6bc0:1::1')).toEqual([]);
    expect(index.categoriesOf('::ffff:160.79.104.1')).toContain('com.anthropic.api');
  });

  it('returns every containing category, sorted by name', () => {
    expect(index.categoriesOf('160.79.104.1')).toEqual(['a.first', 'com.anthropic.api']);
  });

  it('merges categories that share a name and reports invalid CIDRs', () => {
    expect(index.size).toBe(3);
    expect(index.categoriesOf('172.20.0.1')).toEqual(['private']);
    expect(index.categoriesOf('10.0.0.1')).toEqual(['private']);
    expect(index.invalid).toEqual(['bogus']);
  });

  it('returns [] for invalid addresses', () => {
    expect(index.categoriesOf('')).toEqual([]);
    expect(index.categoriesOf('160.79.104.1/32')).toEqual([]);
    expect(index.categoriesOf('2607:6bc0::1%eth0')).toEqual([]);
  });

  it('returns frozen arrays and serves repeat callers from the memo', () => {
    const first = index.categoriesOf('160.79.105.7');
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(index.categoriesOf('8.8.8.8'))).toBe(true);
    expect(index.categoriesOf('160.79.105.7')).toBe(first);
  });

  it('clears the memo when it is full and still answers correctly', () => {
    const fresh = createIpCategoryIndex([{ name: 'ten', cidrs: ['10.0.0.0/8'] }]);
    const first = fresh.categoriesOf('10.0.0.1');
    for (let host = 0; host < 10_000; host++) fresh.categoriesOf(formatV4(0x0b000000 + host));
    const again = fresh.categoriesOf('10.0.0.1');
    expect(again).toEqual(['ten']);
    expect(again).not.toBe(first);
  });

  it('is empty without categories', () => {
    const empty = createIpCategoryIndex([]);
    expect(empty.size).toBe(0);
    expect(empty.categoriesOf('1.2.3.4')).toEqual([]);
  });
});

describe('parseClientIpFilter (the request log client filter)', () => {
  it('takes an address, a CIDR or leading IPv4 octets and refuses anything else', () => {
    expect(parseClientIpFilter('160.79.104.10')).toEqual({ address: '160.79.104.10' });
    expect(parseClientIpFilter('2607:6bc0::10')).toEqual({ address: '2607:6bc0::10' });
    expect(parseClientIpFilter('160.79.104.0/21')).toEqual({ range: '160.79.104.0/21' });
    expect(parseClientIpFilter('2607:6bc0::/48')).toEqual({ range: '2607:6bc0::/48' });
    expect(parseClientIpFilter('160')).toEqual({ range: '160.0.0.0/8' });
    expect(parseClientIpFilter('160.79')).toEqual({ range: '160.79.0.0/16' });
    expect(parseClientIpFilter('203.0.113.')).toEqual({ range: '203.0.113.0/24' });
    for (const bad of ['', 'office', '10.0.0.0/33', '160.79.104.300', '160.79.104.10.5', '010.1', '1..2', '160.79.']) {
      expect(parseClientIpFilter(bad), bad).toEqual(bad === '160.79.' ? { range: '160.79.0.0/16' } : undefined);
    }
  });
});
