/**
 * The list and string functions of cel-go's `ext` libraries that ngrok documents (TRAFFIC-POLICY "Macros"):
 * `s.charAt(i)`, `s.format([args])`, `s.reverse()`, `l.slice(from, to)`, `l.flatten()`, `l.flatten(depth)`,
 * `l.sort()`, `l.sortBy(x, key)`, `l.distinct()`.
 *
 * Errors follow cel-go: an index out of range, a negative depth, a sort over values that do not compare are runtime
 * errors (the rule fails closed). Work proportional to the list or string is charged to the evaluation budget, and
 * results the input does not bound (`flatten` of nested lists, `format`) are size-checked before they are returned.
 */
import { type Environment } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { charge, checkSize } from './cel-cost.js';
import { celToJson, encodeJson } from './codecs.js';

function chargeLinear(size: number): void {
  if (size >= 100) charge(Math.floor(size / 100));
}

export function registerListAndStringExtensions(env: Environment): void {
  env
    .registerFunction('string.charAt(int): string', (text: string, index: bigint) => charAt(text, index))
    .registerFunction('string.reverse(): string', (text: string) => reverse(text))
    .registerFunction('string.format(list): string', (text: string, args: readonly unknown[]) => format(text, args))
    .registerFunction('list<A>.slice(int, int): list<A>', (list: readonly unknown[], from: bigint, to: bigint) =>
      slice(list, from, to),
    )
    .registerFunction('list.flatten(): list', (list: readonly unknown[]) => flatten(list, 1n))
    .registerFunction('list.flatten(int): list', (list: readonly unknown[], depth: bigint) => flatten(list, depth))
    .registerFunction('list<A>.sort(): list<A>', (list: readonly unknown[]) => sortValues(list))
    .registerFunction('list<A>.distinct(): list<A>', (list: readonly unknown[]) => distinct(list));
  registerSortBy(env);
}

function codePoints(text: string): string[] {
  chargeLinear(text.length);
  return Array.from(text);
}

/** The code point at `index`; `''` at the end of the string (cel-go), an error past it or below zero. */
export function charAt(text: string, index: bigint): string {
  const points = codePoints(text);
  if (index < 0n || index > BigInt(points.length))
    throw new Error(`charAt(): index ${index} out of range for a string of ${points.length} characters`);
  return points[Number(index)] ?? '';
}

export function reverse(text: string): string {
  return codePoints(text).reverse().join('');
}

export function slice(list: readonly unknown[], from: bigint, to: bigint): unknown[] {
  if (from < 0n || to < 0n) throw new Error(`slice(): negative index ${from < 0n ? from : to}`);
  if (from > to) throw new Error(`slice(): start index ${from} is greater than end index ${to}`);
  if (to > BigInt(list.length)) throw new Error(`slice(): end index ${to} out of range for a list of ${list.length}`);
  chargeLinear(Number(to - from));
  return list.slice(Number(from), Number(to));
}

/** cel-go's `flatten`: one level by default, `depth` levels when given; a negative depth is an error. */
export function flatten(list: readonly unknown[], depth: bigint): unknown[] {
  if (depth < 0n) throw new Error('flatten(): the depth must not be negative');
  const flat: unknown[] = [];
  const visit = (items: readonly unknown[], remaining: bigint) => {
    for (const item of items) {
      if (Array.isArray(item) && remaining > 0n) visit(item, remaining - 1n);
      else {
        flat.push(item);
        checkSize('list', flat.length);
      }
    }
  };
  visit(list, depth);
  chargeLinear(flat.length);
  return flat;
}

/** Orders two CEL values of the same comparable type; anything else is an error, as in cel-go's `sort`. */
export function compareValues(left: unknown, right: unknown): number {
  if (typeof left === 'bigint' && typeof right === 'bigint') return left < right ? -1 : left > right ? 1 : 0;
  if (typeof left === 'number' && typeof right === 'number') return left < right ? -1 : left > right ? 1 : 0;
  if (typeof left === 'string' && typeof right === 'string') return compareCodePoints(left, right);
  if (typeof left === 'boolean' && typeof right === 'boolean') return Number(left) - Number(right);
  if (left instanceof UnsignedInt && right instanceof UnsignedInt) return compareValues(left.value, right.value);
  if (left instanceof Date && right instanceof Date) return compareValues(left.getTime(), right.getTime());
  if (left instanceof Duration && right instanceof Duration) {
    const bySeconds = compareValues(left.seconds, right.seconds);
    return bySeconds !== 0 ? bySeconds : compareValues(left.nanos, right.nanos);
  }
  if (left instanceof Uint8Array && right instanceof Uint8Array) {
    const length = Math.min(left.length, right.length);
    for (let index = 0; index < length; index++) if (left[index] !== right[index]) return left[index]! - right[index]!;
    return left.length - right.length;
  }
  throw new Error(`sort(): cannot compare ${describe(left)} with ${describe(right)}`);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Map) return 'a map';
  if (typeof value === 'bigint') return 'an int';
  if (typeof value === 'number') return 'a double';
  return typeof value === 'object' ? (value?.constructor.name ?? 'null') : `a ${typeof value}`;
}

/** UTF-8 byte order (cel-go compares strings as Go does), which is code point order, not UTF-16 unit order. */
function compareCodePoints(left: string, right: string): number {
  if (left === right) return 0;
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) {
    const a = left.codePointAt(index)!;
    const b = right.codePointAt(index)!;
    if (a !== b) return a - b;
    if (a > 0xffff) index++;
  }
  return left.length - right.length;
}

function chargeSort(size: number): void {
  // n log n comparisons, one unit per 100 like every other linear charge.
  if (size > 1) chargeLinear(Math.ceil(size * Math.log2(size)));
}

export function sortValues(list: readonly unknown[]): unknown[] {
  chargeSort(list.length);
  // A stable sort; every pair is compared at least once for lists of two or more, so mixed types are always caught.
  if (list.length === 1) compareValues(list[0], list[0]);
  return [...list].sort(compareValues);
}

/** The first occurrence of each value, in order; equality is CEL's (`1 == 1.0`, structural for lists and maps). */
export function distinct(list: readonly unknown[]): unknown[] {
  chargeSort(list.length);
  const seen = new Set<string>();
  const kept: unknown[] = [];
  for (const item of list) {
    const key = distinctKey(item);
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(item);
  }
  return kept;
}

function distinctKey(value: unknown): string {
  if (typeof value === 'bigint' || typeof value === 'number') return `n:${Number(value)}`;
  if (value instanceof UnsignedInt) return `n:${Number(value.value)}`;
  if (typeof value === 'string') return `s:${value}`;
  if (typeof value === 'boolean') return `b:${value}`;
  if (value instanceof Date) return `t:${value.getTime()}`;
  try {
    return `j:${encodeJson(value)}`;
  } catch {
    return `o:${String(value)}`;
  }
}

interface CelChecker {
  check(node: unknown, context: unknown): { kind: string; valueType?: unknown };
  createError(code: string, message: string, node: unknown): Error;
}

interface CelCheckContext {
  forkWithVariable(name: string, type: unknown): CelCheckContext;
  reuse(context: unknown): { setIterValue(value: unknown, evaluator: unknown): unknown };
}

interface CelEvaluator {
  run(node: unknown, context: unknown): unknown;
}

interface SortByMacro {
  receiver: unknown;
  variable: string;
  key: unknown;
  keyContext: CelCheckContext | undefined;
  typeCheck(checker: CelChecker, macro: SortByMacro, context: CelCheckContext): unknown;
  evaluate(evaluator: CelEvaluator, macro: SortByMacro, context: unknown): unknown;
  async: false;
}

/**
 * `l.sortBy(x, key)`: a macro, because `key` is an expression over the bound variable `x` (like `map(x, …)`). It is
 * typed in a scope where `x` has the element type and evaluated once per element; the list is ordered by those keys
 * (stable), which must compare as `sort()` requires. Built like cel-js's own `cel.bind` macro.
 */
function registerSortBy(env: Environment): void {
  env.registerFunction('list.sortBy(ast, ast): list', (({
    args,
    receiver,
  }: {
    args: { op: string; args: unknown }[];
    receiver: unknown;
  }): SortByMacro => {
    const variable = args[0]!;
    if (variable.op !== 'id' || typeof variable.args !== 'string') {
      throw new Error('sortBy(var, key): the first argument must be a variable name');
    }
    return {
      receiver,
      variable: variable.args,
      key: args[1],
      keyContext: undefined,
      async: false,
      typeCheck(checker, macro, context) {
        const listType = checker.check(macro.receiver, context);
        if (listType.kind !== 'list' && listType.kind !== 'dyn') {
          throw checker.createError('invalid_macro_argument', 'sortBy() applies to a list', macro.receiver);
        }
        const elementType = listType.kind === 'list' ? listType.valueType : listType;
        macro.keyContext = context.forkWithVariable(macro.variable, elementType);
        checker.check(macro.key, macro.keyContext);
        return listType;
      },
      evaluate(evaluator, macro, context) {
        const list = evaluator.run(macro.receiver, context);
        if (!Array.isArray(list)) throw new Error('sortBy() applies to a list');
        const keyContext = macro.keyContext!;
        const keyed = list.map((item: unknown, index) => {
          const key = evaluator.run(macro.key, keyContext.reuse(context).setIterValue(item, evaluator));
          if (key instanceof Promise) throw new Error('sortBy(): asynchronous keys are not supported');
          return { item, key, index };
        });
        chargeSort(keyed.length);
        if (keyed.length === 1) compareValues(keyed[0]!.key, keyed[0]!.key);
        keyed.sort((left, right) => compareValues(left.key, right.key) || left.index - right.index);
        return keyed.map((entry) => entry.item);
      },
    };
  }) as unknown as (...args: unknown[]) => unknown);
}

/**
 * cel-go's `format`: `%s`, `%d`, `%f`, `%e`, `%b`, `%x`, `%X`, `%o` and `%%`, with an optional precision for `%f` and
 * `%e` (`%.2f`). Too few arguments, an argument of the wrong type or an unknown clause is an error.
 */
export function format(template: string, args: readonly unknown[]): string {
  chargeLinear(template.length);
  let result = '';
  let next = 0;
  for (let index = 0; index < template.length; index++) {
    const character = template[index]!;
    if (character !== '%') {
      result += character;
      continue;
    }
    const clause = /^%(?:\.(\d+))?([sdfebxXo%])/.exec(template.slice(index));
    if (clause === null)
      throw new Error(`format(): unknown clause at position ${index} of ${JSON.stringify(template)}`);
    index += clause[0].length - 1;
    const verb = clause[2]!;
    if (verb === '%') {
      result += '%';
      continue;
    }
    if (next >= args.length) throw new Error(`format(): too few arguments for ${JSON.stringify(template)}`);
    result += formatClause(verb, clause[1] === undefined ? undefined : Number(clause[1]), args[next++]);
    checkSize('string', result.length);
  }
  return result;
}

function formatClause(verb: string, precision: number | undefined, value: unknown): string {
  const integer = value instanceof UnsignedInt ? value.value : value;
  switch (verb) {
    case 's':
      return formatString(value);
    case 'd':
      // Integers only, as in cel-go: a double would be silently truncated.
      if (typeof integer === 'bigint') return integer.toString();
      break;
    case 'f':
    case 'e': {
      const number = typeof integer === 'bigint' ? Number(integer) : integer;
      if (typeof number !== 'number') break;
      if (Number.isNaN(number)) return 'NaN';
      if (!Number.isFinite(number)) return number > 0 ? 'Infinity' : '-Infinity';
      return verb === 'f' ? number.toFixed(precision ?? 6) : exponential(number, precision ?? 6);
    }
    case 'b':
      if (typeof integer === 'boolean') return integer ? '1' : '0';
      if (typeof integer === 'bigint') return integer.toString(2);
      break;
    case 'x':
    case 'X':
    case 'o': {
      let text: string | undefined;
      if (typeof integer === 'bigint') text = integer.toString(verb === 'o' ? 8 : 16);
      else if (typeof integer === 'string' && verb !== 'o')
        text = [...new TextEncoder().encode(integer)].map(hex2).join('');
      else if (integer instanceof Uint8Array && verb !== 'o') text = [...integer].map(hex2).join('');
      if (text !== undefined) return verb === 'X' ? text.toUpperCase() : text;
      break;
    }
  }
  throw new Error(`format(): %${verb} cannot format ${describe(value)}`);
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/** Go's `%e`: at least two exponent digits (`1.000000e+00`). */
function exponential(number: number, precision: number): string {
  return number.toExponential(precision).replace(/e([+-])(\d)$/, 'e$10$2');
}

function formatString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Number.isInteger(value) ? value.toString() : String(value);
  if (value === null) return 'null';
  if (value instanceof UnsignedInt) return value.value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  if (Array.isArray(value)) return `[${value.map(formatString).join(', ')}]`;
  if (value instanceof Map)
    return `{${[...value.entries()].map(([key, item]) => `${formatString(key)}: ${formatString(item)}`).join(', ')}}`;
  // Durations, conn.client_ip, req.url, …: their CEL text form.
  const json = celToJson(value);
  return typeof json === 'string' ? json : JSON.stringify(json);
}
