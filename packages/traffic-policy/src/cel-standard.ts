/**
 * Overloads of CEL's standard library (cel-spec's language definition, as cel-go implements it) that cel-js 8 does
 * not ship. Only overloads cel-js has no declaration for can be added here: registering one it already has throws
 * ("overlaps"). The official conformance suite (test/conformance.test.ts) is what measures them.
 */
import { type Environment } from '@marcbachmann/cel-js';
import { Duration, type UnsignedInt } from '@marcbachmann/cel-js/evaluator';

const maxInt = 9223372036854775807n;
const timestampType = 'google.protobuf.Timestamp';
const durationType = 'google.protobuf.Duration';

export function registerStandardLibraryGaps(env: Environment): Environment {
  registerBytesOrdering(env);
  registerConversions(env);
  registerTimeAccessors(env);
  return env;
}

/** cel-go orders bytes lexicographically by unsigned byte value, a shorter prefix first (like Go's bytes.Compare). */
export function compareBytes(left: Uint8Array, right: Uint8Array): number {
  const length = Math.min(left.length, right.length);
  for (let i = 0; i < length; i++) {
    if (left[i] !== right[i]) return left[i]! - right[i]!;
  }
  return left.length - right.length;
}

function registerBytesOrdering(env: Environment): void {
  env
    .registerOperator('bytes < bytes', (a: Uint8Array, b: Uint8Array) => compareBytes(a, b) < 0)
    .registerOperator('bytes <= bytes', (a: Uint8Array, b: Uint8Array) => compareBytes(a, b) <= 0)
    .registerOperator('bytes > bytes', (a: Uint8Array, b: Uint8Array) => compareBytes(a, b) > 0)
    .registerOperator('bytes >= bytes', (a: Uint8Array, b: Uint8Array) => compareBytes(a, b) >= 0);
}

/** cel-go's RFC 3339 form of a timestamp: UTC, `Z`, fractional seconds only when present, without trailing zeros. */
export function formatTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.000Z$/, 'Z')
    .replace(/(\.\d*?)0+Z$/, '$1Z');
}

/**
 * `int()` and `duration()` as cel-go converts: cel-js's int(double) accepts -2^63 exactly (cel-go: out of range),
 * its int(string) takes `0b…`/`0o…` literals (cel-go: decimal only, like strconv.ParseInt), and its duration(string)
 * has no range (cel-go: Go's time.ParseDuration, at most 2^63-1 nanoseconds). Their overloads cannot be re-registered
 * ("overlaps"), so cel-functions' `renameBuiltins` renames the calls to these aliases, which implement every overload.
 */
export const conversionAliases: Readonly<Record<string, string>> = Object.freeze({
  int: 'gatehouseInt',
  duration: 'gatehouseDuration',
  // cel-js's string(bytes) replaces invalid UTF-8 with U+FFFD; cel-go fails.
  string: 'gatehouseString',
  // cel-js's timestamp(string) is JavaScript's Date parser (accepts '2024-1-2 3:04', …); cel-go takes RFC 3339 only.
  timestamp: 'gatehouseTimestamp',
});

/** float64(math.MaxInt64) = 2^63: cel-go refuses a double at or beyond ±2^63, both ends excluded. */
const intRangeLimit = 2 ** 63;
const decimalInt = /^[+-]?\d+$/;

function registerConversions(env: Environment): void {
  const int = conversionAliases.int!;
  const duration = conversionAliases.duration!;
  env
    .registerFunction(`${int}(int): int`, (value: bigint) => value)
    .registerFunction(`${int}(uint): int`, (value: UnsignedInt) => {
      const number = value.valueOf();
      if (number > maxInt) throw new Error(`int(): integer overflow, ${number}u is out of the int range`);
      return number;
    })
    .registerFunction(`${int}(double): int`, (value: number) => {
      if (!(value > -intRangeLimit && value < intRangeLimit))
        throw new Error(`int(): integer overflow, ${value} is out of the int range`);
      return BigInt(Math.trunc(value));
    })
    .registerFunction(`${int}(string): int`, (text: string) => {
      const number = decimalInt.test(text) ? BigInt(text) : undefined;
      if (number === undefined || number > maxInt || number < -maxInt - 1n) {
        throw new Error(`int(): '${text.slice(0, 40)}' is not a decimal int`);
      }
      return number;
    })
    // Seconds since the Unix epoch, rounded toward negative infinity as cel-go's time.Unix() does.
    .registerFunction(`${int}(${timestampType}): int`, (date: Date) => BigInt(Math.floor(date.getTime() / 1000)))
    .registerFunction(`${duration}(string): ${durationType}`, (text: string) => parseGoDuration(text))
    .registerFunction(`${duration}(${durationType}): ${durationType}`, (value: Duration) => value);
  const timestamp = conversionAliases.timestamp!;
  env
    .registerFunction(`${timestamp}(string): ${timestampType}`, (text: string) => parseRfc3339(text))
    .registerFunction(`${timestamp}(int): ${timestampType}`, (seconds: bigint) =>
      inTimestampRange(new Date(Number(seconds) * 1000), `timestamp(${seconds})`),
    )
    .registerFunction(`${timestamp}(${timestampType}): ${timestampType}`, (date: Date) => date);
  const string = conversionAliases.string!;
  env
    .registerFunction(`${string}(string): string`, (text: string) => text)
    .registerFunction(`${string}(bool): string`, (value: boolean) => String(value))
    .registerFunction(`${string}(int): string`, (value: bigint) => String(value))
    .registerFunction(`${string}(uint): string`, (value: UnsignedInt) => String(value.valueOf()))
    // As cel-js formats doubles (the conformance suite's string(double) tests pass with it), with Go's infinities.
    .registerFunction(`${string}(double): string`, (value: number) =>
      value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : String(value),
    )
    .registerFunction(`${string}(bytes): string`, (bytes: Uint8Array) => {
      try {
        return strictUtf8.decode(bytes);
      } catch {
        throw new Error('string(): the bytes are not valid UTF-8');
      }
    })
    .registerFunction(`${string}(${timestampType}): string`, (date: Date) => formatTimestamp(date))
    .registerFunction(`${string}(${durationType}): string`, (value: Duration) => value.toString());
}

/** `ignoreBOM`: a leading U+FEFF is content, as in Go's string([]byte). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const durationUnits: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 MICRO SIGN
  μs: 1_000n, // U+03BC GREEK SMALL LETTER MU
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const durationPart = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;
const maxDurationNanos = (1n << 63n) - 1n;

/** Go's time.ParseDuration (`-1.5h`, `2h45m`, `300ms`, `0`), exact to the nanosecond and bounded like Go's. */
export function parseGoDuration(text: string): Duration {
  const invalid = () => new Error(`duration(): '${text.slice(0, 40)}' is not a duration such as '1.5h' or '300ms'`);
  let rest = text;
  const negative = rest.startsWith('-');
  if (negative || rest.startsWith('+')) rest = rest.slice(1);
  if (rest === '0') return new Duration(0n, 0);
  if (rest === '') throw invalid();
  let nanos = 0n;
  durationPart.lastIndex = 0;
  while (durationPart.lastIndex < rest.length) {
    const match = durationPart.exec(rest);
    if (match === null) throw invalid();
    const [, whole = '', fraction = '', unit = ''] = match;
    if (whole === '' && fraction === '') throw invalid();
    const scale = durationUnits[unit]!;
    nanos += BigInt(whole || '0') * scale;
    if (fraction !== '') nanos += (BigInt(fraction) * scale) / 10n ** BigInt(fraction.length);
    if (nanos > maxDurationNanos + (negative ? 1n : 0n)) {
      throw new Error(`duration(): '${text.slice(0, 40)}' is out of the duration range (about 292 years)`);
    }
  }
  const signed = negative ? -nanos : nanos;
  // cel-js's Duration keeps seconds and nanos with the same sign.
  return new Duration(signed / 1_000_000_000n, Number(signed % 1_000_000_000n));
}

/**
 * cel-js's timestamp accessors take only IANA zone names (through `toLocaleString`), so cel-go's fixed offsets
 * (`'+11:00'`, `'-02:30'`, `'02:00'`) throw. `getHours` and its siblings cannot be re-registered ("overlaps"), so
 * cel-functions' `renameBuiltins` renames their calls to these aliases, which implement every overload: timestamp
 * with and without a time zone, and duration.
 */
export const timeAccessorAliases: Readonly<Record<string, string>> = Object.freeze({
  getDate: 'gatehouseGetDate',
  getDayOfMonth: 'gatehouseGetDayOfMonth',
  getDayOfWeek: 'gatehouseGetDayOfWeek',
  getDayOfYear: 'gatehouseGetDayOfYear',
  getFullYear: 'gatehouseGetFullYear',
  getHours: 'gatehouseGetHours',
  getMilliseconds: 'gatehouseGetMilliseconds',
  getMinutes: 'gatehouseGetMinutes',
  getMonth: 'gatehouseGetMonth',
  getSeconds: 'gatehouseGetSeconds',
});

const dayMilliseconds = 86_400_000;

/** Each accessor reads the UTC fields of a Date whose UTC wall clock is the local time of the zone asked for. */
const timestampAccessors: Readonly<Record<keyof typeof timeAccessorAliases, (local: Date) => number>> = {
  getDate: (local) => local.getUTCDate(),
  getDayOfMonth: (local) => local.getUTCDate() - 1,
  getDayOfWeek: (local) => local.getUTCDay(),
  getDayOfYear: (local) => {
    const startOfYear = new Date(0);
    startOfYear.setUTCFullYear(local.getUTCFullYear(), 0, 1);
    return Math.floor((local.getTime() - startOfYear.getTime()) / dayMilliseconds);
  },
  getFullYear: (local) => local.getUTCFullYear(),
  getHours: (local) => local.getUTCHours(),
  getMilliseconds: (local) => local.getUTCMilliseconds(),
  getMinutes: (local) => local.getUTCMinutes(),
  getMonth: (local) => local.getUTCMonth(),
  getSeconds: (local) => local.getUTCSeconds(),
};

const durationAccessors: Partial<Record<keyof typeof timeAccessorAliases, (duration: Duration) => bigint>> = {
  getHours: (duration) => duration.getHours(),
  getMilliseconds: (duration) => duration.getMilliseconds(),
  getMinutes: (duration) => duration.getMinutes(),
  getSeconds: (duration) => duration.getSeconds(),
};

function registerTimeAccessors(env: Environment): void {
  for (const [name, alias] of Object.entries(timeAccessorAliases)) {
    const read = timestampAccessors[name]!;
    env
      .registerFunction(`${timestampType}.${alias}(): int`, (date: Date) => BigInt(read(date)))
      .registerFunction(`${timestampType}.${alias}(string): int`, (date: Date, zone: string) =>
        BigInt(read(inTimeZone(date, zone))),
      );
    const readDuration = durationAccessors[name];
    if (readDuration !== undefined) env.registerFunction(`${durationType}.${alias}(): int`, readDuration);
  }
}

/** cel-go's fixed offset: `[+|-]HH:MM`, the sign applying to both parts (`-02:30` is 150 minutes west). */
const fixedOffset = /^([+-]?)(\d{1,2}):(\d{2})$/;

/**
 * The instant moved by the zone's UTC offset at that instant, so its UTC fields are the local wall clock. A zone with
 * a `:` is a fixed offset (as in cel-go's `timeZone`); anything else is an IANA name, resolved by Intl (in Node and
 * in the browser alike).
 */
export function inTimeZone(date: Date, zone: string): Date {
  if (zone.includes(':')) {
    const match = fixedOffset.exec(zone);
    if (match === null) throw new Error(`invalid time zone offset '${zone}': use [+|-]HH:MM, such as '-02:30'`);
    const [hours, minutesPart] = [Number(match[2]), Number(match[3])];
    if (hours > 23 || minutesPart > 59) throw new Error(`invalid time zone offset '${zone}'`);
    const minutes = hours * 60 + minutesPart;
    return new Date(date.getTime() + (match[1] === '-' ? -minutes : minutes) * 60_000);
  }
  const parts: Record<string, number> = {};
  for (const part of zoneFormatter(zone).formatToParts(date)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const local = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  local.setUTCFullYear(parts.year!, parts.month! - 1, parts.day);
  local.setUTCHours(parts.hour!, parts.minute, parts.second, date.getUTCMilliseconds());
  return local;
}

const zoneFormatters = new Map<string, Intl.DateTimeFormat>();
const maxZoneFormatters = 64;

function zoneFormatter(zone: string): Intl.DateTimeFormat {
  let formatter = zoneFormatters.get(zone);
  if (formatter !== undefined) return formatter;
  try {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw new Error(
      `unknown time zone '${zone}': use an IANA name such as 'Europe/Paris' or an offset such as '+02:00'`,
    );
  }
  // Zone names come from policies: a bounded cache, cleared rather than grown.
  if (zoneFormatters.size >= maxZoneFormatters) zoneFormatters.clear();
  zoneFormatters.set(zone, formatter);
  return formatter;
}

/** cel-go's timestamp range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z. */
const minTimestampMs = -62135596800000;
const maxTimestampMs = 253402300799999;

function inTimestampRange(date: Date, what: string): Date {
  const time = date.getTime();
  if (!(time >= minTimestampMs && time <= maxTimestampMs)) {
    throw new Error(`${what}: out of the timestamp range 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z`);
  }
  return date;
}

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * Go's time.Parse(time.RFC3339, …) as cel-go uses it: `T` and `Z` upper-case, a numeric offset `±HH:MM`, any number
 * of fractional digits (JavaScript Dates keep milliseconds; the rest is truncated), every field range-checked.
 */
export function parseRfc3339(text: string): Date {
  const shown = `timestamp('${text.slice(0, 40)}')`;
  const match = rfc3339.exec(text);
  if (match === null) throw new Error(`${shown}: not an RFC 3339 timestamp such as '2024-01-02T15:04:05Z'`);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [offsetHours, offsetMinutes] = [Number(match[9] ?? 0), Number(match[10] ?? 0)];
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0);
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    offsetHours > 23 ||
    offsetMinutes > 59
  ) {
    throw new Error(`${shown}: a field is out of range`);
  }
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Number((match[7] ?? '').slice(0, 3).padEnd(3, '0')));
  const offset = (offsetHours * 60 + offsetMinutes) * (match[8] === '-' ? -1 : 1);
  return inTimestampRange(new Date(date.getTime() - offset * 60_000), shown);
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}
