/**
 * IP addresses and CIDR ranges for `restrict-ips`, IP categories and the CEL functions `inCidrRange`/`isPrivateIp`.
 *
 * This sits on the per-request path, so addresses are parsed by hand into 32-bit words (no regex, no string splitting)
 * and CIDR sets are compiled once into flat typed arrays; a match is a few integer compares.
 */
import { type IpCategoryResolver } from './cel-values.js';

/** An address as 32-bit words, most significant first: 1 word for IPv4, 4 for IPv6. */
export interface ParsedIp {
  readonly version: 4 | 6;
  readonly words: Uint32Array;
}

/** A compiled range; `network` already has the host bits masked off. */
export interface Cidr {
  /** The text the range was parsed from, reported back by `CidrSet.match`. */
  readonly text: string;
  readonly version: 4 | 6;
  readonly prefix: number;
  readonly network: Uint32Array;
  readonly mask: Uint32Array;
}

export interface CidrSet {
  /** The text of the first CIDR (in input order) containing the address; undefined when none does or it is invalid. */
  match(ip: string | ParsedIp): string | undefined;
  contains(ip: string | ParsedIp): boolean;
  /** Inputs that did not parse; they never match. */
  readonly invalid: readonly string[];
  /** Number of valid CIDRs. */
  readonly size: number;
}

export type IpCategoryIndex = IpCategoryResolver & {
  /** Number of distinct category names. */
  readonly size: number;
  /** CIDRs (from any category) that did not parse; they never match. */
  readonly invalid: readonly string[];
};

const CHAR_0 = 48;
const CHAR_9 = 57;
const CHAR_A_LOWER = 97;
const CHAR_F_LOWER = 102;
const CHAR_A_UPPER = 65;
const CHAR_F_UPPER = 70;
const CHAR_DOT = 46;
const CHAR_COLON = 58;

/** IPv6 groups scratch, reused between calls: parsing is synchronous, and this keeps the per-address cost to the
 * result array. Declared before anything at module level parses an address. */
const groups = new Uint16Array(8);

/** Longest textual IPv6 address: `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`. */
const MAX_IPV6_TEXT_LENGTH = 45;

/**
 * Parses an IPv4 dotted quad or an IPv6 address. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) comes back as IPv4 so it matches
 * IPv4 ranges: dual-stack sockets report IPv4 clients that way and an allow-list written in IPv4 must still apply.
 * Rejects zone ids (`fe80::1%eth0`), brackets, surrounding whitespace and octets with leading zeros (`01.2.3.4` is
 * octal to some parsers and decimal to others, so accepting it would let two components disagree about an address).
 */
export function parseIp(text: string): ParsedIp | undefined {
  const parsed = parseIpExact(text);
  return parsed === undefined ? undefined : unmapIpv4(parsed);
}

/**
 * Parses `address/prefix` or a bare address (a /32 or /128). Host bits may be set (`10.1.2.3/8` is `10.0.0.0/8`)
 * because people paste an address and widen it. An IPv4-mapped IPv6 range with a prefix of at least 96 becomes the
 * equivalent IPv4 range, matching how `parseIp` normalizes addresses.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = parseIpExact(slash === -1 ? text : text.slice(0, slash));
  if (address === undefined) return undefined;
  const maxPrefix = address.version === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (slash !== -1) {
    prefix = parsePrefixLength(text, slash + 1, maxPrefix);
    if (prefix < 0) return undefined;
  }
  if (address.version === 6 && prefix >= 96 && isIpv4Mapped(address.words)) {
    return buildCidr(text, 4, prefix - 96, singleWord(address.words[3]!));
  }
  return buildCidr(text, address.version, prefix, address.words);
}

/** True when `cidr` contains `ip`; different address families never match. */
export function cidrContains(cidr: Cidr, ip: ParsedIp): boolean {
  if (cidr.version !== ip.version) return false;
  const { network, mask } = cidr;
  const words = ip.words;
  for (let index = 0; index < network.length; index++) {
    if ((words[index]! & mask[index]!) >>> 0 !== network[index]) return false;
  }
  return true;
}

/**
 * Compiles CIDR texts once into flat arrays per family. Within a family the input order is kept, and an address only
 * ever matches its own family, so the first hit in that family is the first matching CIDR of the whole input.
 */
export function compileCidrSet(cidrs: readonly string[]): CidrSet {
  const v4: Cidr[] = [];
  const v6: Cidr[] = [];
  const invalid: string[] = [];
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (cidr === undefined) invalid.push(text);
    else if (cidr.version === 4) v4.push(cidr);
    else v6.push(cidr);
  }

  const v4Networks = Uint32Array.from(v4, (cidr) => cidr.network[0]!);
  const v4Masks = Uint32Array.from(v4, (cidr) => cidr.mask[0]!);
  const v4Texts = v4.map((cidr) => cidr.text);
  const v6Networks = new Uint32Array(v6.length * 4);
  const v6Masks = new Uint32Array(v6.length * 4);
  v6.forEach((cidr, index) => {
    v6Networks.set(cidr.network, index * 4);
    v6Masks.set(cidr.mask, index * 4);
  });
  const v6Texts = v6.map((cidr) => cidr.text);

  function match(ip: string | ParsedIp): string | undefined {
    const parsed = typeof ip === 'string' ? parseIp(ip) : ip;
    if (parsed === undefined) return undefined;
    const words = parsed.words;
    if (parsed.version === 4) {
      const word = words[0]!;
      for (let index = 0; index < v4Texts.length; index++) {
        if ((word & v4Masks[index]!) >>> 0 === v4Networks[index]) return v4Texts[index];
      }
      return undefined;
    }
    const w0 = words[0]!;
    const w1 = words[1]!;
    const w2 = words[2]!;
    const w3 = words[3]!;
    for (let index = 0, base = 0; index < v6Texts.length; index++, base += 4) {
      if (
        (w0 & v6Masks[base]!) >>> 0 === v6Networks[base] &&
        (w1 & v6Masks[base + 1]!) >>> 0 === v6Networks[base + 1] &&
        (w2 & v6Masks[base + 2]!) >>> 0 === v6Networks[base + 2] &&
        (w3 & v6Masks[base + 3]!) >>> 0 === v6Networks[base + 3]
      ) {
        return v6Texts[index];
      }
    }
    return undefined;
  }

  return {
    match,
    contains: (ip) => match(ip) !== undefined,
    invalid: Object.freeze(invalid),
    size: v4.length + v6.length,
  };
}

/**
 * Ranges that never identify a public client: RFC 1918, loopback, link-local, IPv6 unique-local, carrier-grade NAT
 * (RFC 6598) and the unspecified addresses.
 */
const privateRanges = compileCidrSet([
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '100.64.0.0/10',
  '0.0.0.0/32',
  '::1/128',
  '::/128',
  'fe80::/10',
  'fc00::/7',
]);

/** Invalid input is not private: callers use this to trust an address, and garbage must not earn trust. */
export function isPrivateIp(ip: string | ParsedIp): boolean {
  return privateRanges.contains(ip);
}

/** Bounds the per-address memo so a flood of distinct client addresses cannot grow memory without limit. */
const CATEGORY_MEMO_LIMIT = 10_000;
const noCategories: readonly string[] = Object.freeze([]);

/**
 * Indexes named CIDR lists so `conn.client_ip.categories` costs one Map lookup for a returning client. Categories
 * sharing a name are merged; names come back sorted (by UTF-16 code unit, so the order does not depend on a locale).
 */
export function createIpCategoryIndex(
  categories: readonly { readonly name: string; readonly cidrs: readonly string[] }[],
): IpCategoryIndex {
  const cidrsByName = new Map<string, string[]>();
  for (const category of categories) {
    const cidrs = cidrsByName.get(category.name);
    if (cidrs === undefined) cidrsByName.set(category.name, [...category.cidrs]);
    else cidrs.push(...category.cidrs);
  }
  const compiled = [...cidrsByName.entries()]
    .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
    .map(([name, cidrs]) => ({ name, set: compileCidrSet(cidrs) }));
  const invalid = Object.freeze(compiled.flatMap((category) => category.set.invalid));
  const memo = new Map<string, readonly string[]>();

  function resolveCategories(address: string): readonly string[] {
    const parsed = parseIp(address);
    if (parsed === undefined) return noCategories;
    let names: string[] | undefined;
    for (const category of compiled) {
      if (category.set.contains(parsed)) (names ??= []).push(category.name);
    }
    return names === undefined ? noCategories : Object.freeze(names);
  }

  return {
    size: compiled.length,
    invalid,
    categoriesOf(address: string): readonly string[] {
      const known = memo.get(address);
      if (known !== undefined) return known;
      const names = resolveCategories(address);
      if (memo.size >= CATEGORY_MEMO_LIMIT) memo.clear();
      memo.set(address, names);
      return names;
    },
  };
}

/** CEL expressions usually pass literal CIDRs, so each distinct text is parsed once; bounded like the category memo. */
const CIDR_CACHE_LIMIT = 1_000;
const cidrCache = new Map<string, Cidr | null>();

function lookupCidr(text: string): Cidr | undefined {
  let cidr = cidrCache.get(text);
  if (cidr === undefined) {
    cidr = parseCidr(text) ?? null;
    if (cidrCache.size >= CIDR_CACHE_LIMIT) cidrCache.clear();
    cidrCache.set(text, cidr);
  }
  return cidr ?? undefined;
}

/** An invalid address is in no range; an invalid CIDR contains nothing. */
export function inCidrRange(ip: string, cidr: string): boolean {
  const parsed = parseIp(ip);
  if (parsed === undefined) return false;
  const range = lookupCidr(cidr);
  return range !== undefined && cidrContains(range, parsed);
}

/** True when any valid CIDR of the list contains the address; invalid entries are skipped, not fatal. */
export function inCidrRanges(ip: string, cidrs: readonly string[]): boolean {
  const parsed = parseIp(ip);
  if (parsed === undefined) return false;
  for (const text of cidrs) {
    const range = lookupCidr(text);
    if (range !== undefined && cidrContains(range, parsed)) return true;
  }
  return false;
}

function buildCidr(text: string, version: 4 | 6, prefix: number, address: Uint32Array): Cidr {
  const wordCount = version === 4 ? 1 : 4;
  const mask = new Uint32Array(wordCount);
  const network = new Uint32Array(wordCount);
  for (let index = 0; index < wordCount; index++) {
    const bits = Math.min(32, Math.max(0, prefix - index * 32));
    // `<< 32` is `<< 0` in JavaScript, so a zero-bit mask has to be spelled out.
    mask[index] = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    network[index] = (address[index]! & mask[index]!) >>> 0;
  }
  return { text, version, prefix, network, mask };
}

/** Decimal prefix length without sign, whitespace or leading zeros (Go's netip rejects those too); -1 when invalid. */
function parsePrefixLength(text: string, start: number, max: number): number {
  const length = text.length - start;
  if (length < 1 || length > 3) return -1;
  if (length > 1 && text.charCodeAt(start) === CHAR_0) return -1;
  let value = 0;
  for (let index = start; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < CHAR_0 || code > CHAR_9) return -1;
    value = value * 10 + (code - CHAR_0);
  }
  return value <= max ? value : -1;
}

function parseIpExact(text: string): ParsedIp | undefined {
  if (text.indexOf(':') === -1) {
    const word = parseIpv4Word(text, 0, text.length);
    return word < 0 ? undefined : { version: 4, words: singleWord(word) };
  }
  const words = new Uint32Array(4);
  return parseIpv6Into(text, words) ? { version: 6, words } : undefined;
}

/** `Uint32Array.of` is markedly slower than allocate-and-store in V8, and this runs once per parsed IPv4 address. */
function singleWord(value: number): Uint32Array {
  const words = new Uint32Array(1);
  words[0] = value;
  return words;
}

function isIpv4Mapped(words: Uint32Array): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff;
}

function unmapIpv4(ip: ParsedIp): ParsedIp {
  return ip.version === 6 && isIpv4Mapped(ip.words) ? { version: 4, words: singleWord(ip.words[3]!) } : ip;
}

/** The dotted quad in `text[start, end)` as an unsigned 32-bit number, or -1. */
function parseIpv4Word(text: string, start: number, end: number): number {
  if (end - start < 7 || end - start > 15) return -1;
  let result = 0;
  let octets = 0;
  let index = start;
  while (index < end) {
    const octetStart = index;
    let value = 0;
    while (index < end) {
      const code = text.charCodeAt(index);
      if (code < CHAR_0 || code > CHAR_9) break;
      value = value * 10 + (code - CHAR_0);
      index++;
    }
    const digits = index - octetStart;
    if (digits === 0 || digits > 3 || value > 255) return -1;
    if (digits > 1 && text.charCodeAt(octetStart) === CHAR_0) return -1;
    result = result * 256 + value;
    octets++;
    if (index === end) break;
    if (text.charCodeAt(index) !== CHAR_DOT || octets === 4) return -1;
    index++;
    if (index === end) return -1;
  }
  return octets === 4 ? result : -1;
}

function hexValue(code: number): number {
  if (code >= CHAR_0 && code <= CHAR_9) return code - CHAR_0;
  if (code >= CHAR_A_LOWER && code <= CHAR_F_LOWER) return code - CHAR_A_LOWER + 10;
  if (code >= CHAR_A_UPPER && code <= CHAR_F_UPPER) return code - CHAR_A_UPPER + 10;
  return -1;
}

/** RFC 4291 text form: up to eight 1–4 digit hex groups, at most one `::`, optionally ending in a dotted quad. */
function parseIpv6Into(text: string, words: Uint32Array): boolean {
  const length = text.length;
  if (length < 2 || length > MAX_IPV6_TEXT_LENGTH) return false;
  let count = 0;
  let compressAt = -1;
  let index = 0;
  if (text.charCodeAt(0) === CHAR_COLON) {
    if (text.charCodeAt(1) !== CHAR_COLON) return false;
    compressAt = 0;
    index = 2;
  }
  while (index < length) {
    const groupStart = index;
    let value = 0;
    while (index < length && index - groupStart < 5) {
      const digit = hexValue(text.charCodeAt(index));
      if (digit < 0) break;
      value = value * 16 + digit;
      index++;
    }
    if (index < length && text.charCodeAt(index) === CHAR_DOT) {
      // An embedded dotted quad fills the last two groups and must end the text.
      if (count > 6) return false;
      const word = parseIpv4Word(text, groupStart, length);
      if (word < 0) return false;
      groups[count++] = word >>> 16;
      groups[count++] = word & 0xffff;
      break;
    }
    const digits = index - groupStart;
    if (digits === 0 || digits > 4 || count === 8) return false;
    groups[count++] = value;
    if (index === length) break;
    if (text.charCodeAt(index) !== CHAR_COLON) return false;
    index++;
    if (index === length) return false;
    if (text.charCodeAt(index) === CHAR_COLON) {
      if (compressAt >= 0) return false;
      compressAt = count;
      index++;
    }
  }

  if (compressAt < 0 ? count !== 8 : count > 7) return false; // `::` stands for at least one zero group.
  const gap = 8 - count;
  for (let word = 0; word < 4; word++) {
    words[word] = ((groupAt(word * 2, compressAt, gap) << 16) | groupAt(word * 2 + 1, compressAt, gap)) >>> 0;
  }
  return true;
}

/** Group `position` of the full eight, reading the `::` gap as zeros without building an expanded copy. */
function groupAt(position: number, compressAt: number, gap: number): number {
  if (compressAt < 0 || position < compressAt) return groups[position]!;
  return position < compressAt + gap ? 0 : groups[position - gap]!;
}

/**
 * A client filter of the request log (issue 19): an address matches itself; a CIDR or the leading octets of an IPv4
 * address (`160.79` = 160.79.0.0/16, `203.0.113.` = 203.0.113.0/24) match the range. Undefined when the text is none of
 * these, so a filter is refused with a message instead of silently matching nothing. The API and the dashboard both
 * use this one rule.
 */
export function parseClientIpFilter(text: string): { address: string } | { range: string } | undefined {
  if (parseIp(text) !== undefined) return { address: text };
  if (text.includes('/')) return parseCidr(text) === undefined ? undefined : { range: text };
  const octets = (text.endsWith('.') ? text.slice(0, -1) : text).split('.');
  if (octets.length > 3 || !octets.every((octet) => /^(0|[1-9][0-9]{0,2})$/.test(octet) && Number(octet) <= 255)) {
    return undefined;
  }
  return { range: `${[...octets, '0', '0', '0'].slice(0, 4).join('.')}/${octets.length * 8}` };
}
