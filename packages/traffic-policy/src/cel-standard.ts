/**
 * Overloads of CEL's standard library (cel-spec's language definition, as cel-go implements it) that cel-js 8 does
 * not ship. Only overloads cel-js has no declaration for can be added here: registering one it already has throws
 * ("overlaps"). The official conformance suite (test/conformance.test.ts) is what measures them.
 */
import { type Environment } from '@marcbachmann/cel-js';
import { type Duration, type UnsignedInt } from '@marcbachmann/cel-js/evaluator';

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

function registerConversions(env: Environment): void {
  env
    .registerFunction('int(uint): int', (value: UnsignedInt) => {
      const number = value.valueOf();
      if (number > maxInt) throw new Error(`int(): ${number}u is out of the int range`);
      return number;
    })
    // Seconds since the Unix epoch, rounded toward negative infinity as cel-go's time.Unix() does.
    .registerFunction(`int(${timestampType}): int`, (date: Date) => BigInt(Math.floor(date.getTime() / 1000)))
    .registerFunction(`string(${timestampType}): string`, (date: Date) => formatTimestamp(date))
    .registerFunction(`string(${durationType}): string`, (duration: Duration) => duration.toString())
    .registerFunction(`timestamp(${timestampType}): ${timestampType}`, (date: Date) => date)
    .registerFunction(`duration(${durationType}): ${durationType}`, (duration: Duration) => duration);
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
