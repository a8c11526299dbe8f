/**
 * Overloads of CEL's standard library (cel-spec's language definition, as cel-go implements it) that cel-js 8 does
 * not ship. Only overloads cel-js has no declaration for can be added here: registering one it already has throws
 * ("overlaps"). The official conformance suite (test/conformance.test.ts) is what measures them.
 */
import { type Environment } from '@marcbachmann/cel-js';

export function registerStandardLibraryGaps(env: Environment): Environment {
  registerBytesOrdering(env);
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
