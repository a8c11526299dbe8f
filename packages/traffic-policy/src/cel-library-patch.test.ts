import { Environment } from '@marcbachmann/cel-js';
import { UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { describe, expect, it } from 'vitest';
import { registerPolicyFunctions, renameBuiltins } from './cel-functions.js';
import { instrumentCelAst, metered } from './cel-cost.js';
import { registerValueTypes } from './cel-values.js';

/**
 * Behaviour of cel-js that Gatehouse patches (patches/@marcbachmann+cel-js+8.0.0.patch, ARCHITECTURE.md) and the
 * conformance suite does not pin, each as cel-go has it. Expressions are checked first, as every policy expression
 * is, then evaluated with the metering the engine adds. A clean install without the patch fails these.
 */
function evaluate(expression: string, vars: Record<string, unknown> = {}): unknown {
  const env = registerPolicyFunctions(
    registerValueTypes(new Environment({ homogeneousAggregateLiterals: false })).registerVariable(
      'vars',
      'map<string, dyn>',
    ),
    { current: undefined },
  );
  const program = env.parse(expression);
  renameBuiltins(program.ast);
  const check = program.check();
  if (!check.valid) throw new Error(`check: ${String(check.error)}`);
  instrumentCelAst(program.ast);
  return metered({}, () => program({ vars }) as unknown);
}

describe('patched cel-js', () => {
  it('adds and subtracts negative durations exactly (cel-js mixed floor and remainder: -0.75s + -0.75s was -2.5s)', () => {
    expect(evaluate("string(duration('-0.75s') + duration('-0.75s'))")).toBe('-1.5s');
    expect(evaluate("duration('-1.25s') + duration('0.5s') == duration('-0.75s')")).toBe(true);
    expect(evaluate("string(duration('1s') - duration('1.5s'))")).toBe('-0.5s');
    expect(evaluate("duration('1s') - duration('1.5s') > duration('-1s')")).toBe(true);
  });

  it("prints negative durations with the sign in front ('-1.5s', not '-10.5s')", () => {
    expect(evaluate("string(timestamp('2020-01-01T00:00:00Z') - timestamp('2020-01-01T00:00:01.5Z'))")).toBe('-1.5s');
    expect(evaluate("string(duration('-0.25s'))")).toBe('-0.25s');
    expect(evaluate("duration('-1.5s').getMilliseconds()")).toBe(-1500n);
  });

  it('compares list and map elements across int, uint and double by value', () => {
    expect(evaluate('[vars.u] == [3]', { u: new UnsignedInt(3n) })).toBe(true);
    expect(evaluate('[vars.u] != [3.0]', { u: new UnsignedInt(3n) })).toBe(false);
    expect(evaluate("{'k': vars.u} == {'k': 3}", { u: new UnsignedInt(3n) })).toBe(true);
  });

  it('finds numbers across int, uint and double in lists and map keys', () => {
    expect(evaluate('vars.u in [1, 2, 3]', { u: new UnsignedInt(3n) })).toBe(true);
    expect(evaluate("{1: 'a'}[vars.u]", { u: new UnsignedInt(1n) })).toBe('a');
    expect(evaluate("vars.u in {1: 'a'}", { u: new UnsignedInt(1n) })).toBe(true);
  });

  it('fails timestamp arithmetic outside 0001-01-01..9999-12-31 and durations beyond int64 nanoseconds', () => {
    expect(() => evaluate("timestamp('9999-12-31T23:59:59Z') + duration('1s')")).toThrow(/range/);
    expect(() => evaluate("timestamp('0001-01-01T00:00:00Z') - duration('1s')")).toThrow(/range/);
    expect(() => evaluate("timestamp('2500-01-01T00:00:00Z') - timestamp('2000-01-01T00:00:00Z')")).toThrow(/range/);
    expect(evaluate("timestamp('2200-01-01T00:00:00Z') - timestamp('2000-01-01T00:00:00Z') > duration('1h')")).toBe(
      true,
    );
  });

  it('types duration + timestamp as a timestamp and type-checks operators on an empty list element', () => {
    expect(evaluate("duration('60s') + timestamp('2024-01-01T00:00:00Z') == timestamp('2024-01-01T00:01:00Z')")).toBe(
      true,
    );
    expect(evaluate('[].all(e, e > 0)')).toBe(true);
  });
});
