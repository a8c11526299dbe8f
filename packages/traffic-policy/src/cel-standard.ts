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
