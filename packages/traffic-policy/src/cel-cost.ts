import {
  maxCelListLength,
  maxCelStringLength,
  maxEvaluationCost,
  maxExpressionCost,
  maxRequestEvaluationCost,
  assumedIterableSize,
} from './limits.js';

/**
 * Bounds the work of CEL evaluation (issue 12, item 3). cel-js has no cost model, so Gatehouse meters it from outside:
 *
 * - every node of a checked program gets its own `evaluate` that charges one unit per evaluation, plus one unit per
 *   100 characters or elements of the strings and lists that calls and `+` produce, and refuses a string or list
 *   over the size caps (limits.ts);
 * - the allocating functions Gatehouse implements (`replace`, `join`, regex replacements) check their result size
 *   before they build it;
 * - a static estimate rejects at save time expressions whose nested comprehensions could run too long;
 * - a budget per expression and a budget per request (across every expression and interpolation of all phases)
 *   turn an overrun into `CelLimitError`, which the evaluator reports as `POLICY_COST_EXCEEDED`.
 *
 * The meter relies on cel-js 8.0.0 internals (an AST node's `meta` and its own-property `evaluate`): the version is
 * pinned and `cel-cost.test.ts` fails if the metering stops seeing evaluations.
 */

/**
 * Benchmark only (bench/evaluate.bench.ts imports it from dist; it is not exported by the package): when set while a
 * policy compiles, its expressions are compiled as before issue 12 (cel-js's JavaScript-RegExp `matches`, no
 * metering, no size caps), so the benchmark can put the cost of RE2 and metering as a ratio in one run.
 */
export const benchmarkSwitches = { legacyCel: false };

/** An evaluation ran out of budget or produced a value over a size cap. Sticky: see `CostMeter`. */
export class CelLimitError extends Error {
  readonly code = 'POLICY_COST_EXCEEDED';
  constructor(message: string) {
    super(message);
    this.name = 'CelLimitError';
  }
}

/** The budget of one request. Once exceeded it stays exceeded: CEL's `||`/`&&` would otherwise absorb the error. */
export interface CostMeter {
  /** Units left for the whole request. */
  requestRemaining: number;
  /** Units left for the expression being evaluated. */
  expressionRemaining: number;
  /** Units charged so far in the current expression (tests read it to assert linear behaviour). */
  spent: number;
  exceeded: string | undefined;
}

const meters = new WeakMap<object, CostMeter>();
let active: CostMeter | undefined;

/** The meter of a request (any object that lives as long as the request: the PolicyContext). */
export function costMeter(owner: object): CostMeter {
  let meter = meters.get(owner);
  if (meter === undefined) {
    meter = { requestRemaining: maxRequestEvaluationCost, expressionRemaining: 0, spent: 0, exceeded: undefined };
    meters.set(owner, meter);
  }
  return meter;
}

/** True once `owner`'s request has run over its evaluation budget or a size cap. */
export function costExceeded(owner: object): string | undefined {
  return meters.get(owner)?.exceeded;
}

/**
 * Runs `run` with `owner`'s meter active and a fresh per-expression budget. Throws `CelLimitError` when the budget
 * ran out, even if CEL absorbed the error inside `||` and produced a value.
 */
export function metered<T>(owner: object, run: () => T): T {
  const meter = costMeter(owner);
  if (meter.exceeded !== undefined) throw new CelLimitError(meter.exceeded);
  const previous = active;
  active = meter;
  meter.expressionRemaining = maxEvaluationCost;
  meter.spent = 0;
  try {
    const result = run();
    if (meter.exceeded !== undefined) throw new CelLimitError(meter.exceeded);
    return result;
  } catch (error) {
    if (meter.exceeded !== undefined && !(error instanceof CelLimitError)) throw new CelLimitError(meter.exceeded);
    throw error;
  } finally {
    active = previous;
  }
}

/** Charges `units` to the active evaluation (no-op outside one, e.g. when a test calls a helper directly). */
export function charge(units: number): void {
  const meter = active;
  if (meter === undefined) return;
  meter.spent += units;
  meter.expressionRemaining -= units;
  meter.requestRemaining -= units;
  if (meter.expressionRemaining < 0) {
    exceed(meter, `the expression exceeded its evaluation budget of ${maxEvaluationCost} steps`);
  } else if (meter.requestRemaining < 0) {
    exceed(meter, `the request exceeded its evaluation budget of ${maxRequestEvaluationCost} steps`);
  }
}

/** Refuses a string or list that would exceed the caps; `size` is its length in UTF-16 units or elements. */
export function checkSize(kind: 'string' | 'list', size: number): void {
  const cap = kind === 'string' ? maxCelStringLength : maxCelListLength;
  if (size > cap) {
    const message = `a CEL ${kind} would exceed ${cap} ${kind === 'string' ? 'characters' : 'elements'}`;
    if (active !== undefined) exceed(active, message);
    throw new CelLimitError(message);
  }
}

function exceed(meter: CostMeter, message: string): never {
  meter.exceeded ??= message;
  throw new CelLimitError(meter.exceeded);
}

/** The parts of a cel-js AST node the meter uses (lib/parser.js ASTNode). */
interface CelNode {
  op: string;
  args: unknown;
  start: number;
  end: number;
  readonly meta: {
    alternate?: CelNode;
    macro?: { evaluate(ev: unknown, ast: unknown, ctx: unknown): unknown };
    evaluate(this: CelNode, ev: unknown, ast: unknown, ctx: unknown): unknown;
  };
  evaluate(ev: unknown, ast: unknown, ctx: unknown): unknown;
}

export function isCelNode(value: unknown): value is CelNode {
  return typeof value === 'object' && value !== null && typeof (value as CelNode).op === 'string' && 'meta' in value;
}

/** Every node reachable from `root`, macro expansions included, each once. */
export function walkCelAst(root: unknown, visit: (node: CelNode) => void): void {
  const seen = new Set<unknown>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
      continue;
    }
    if (isCelNode(value)) {
      visit(value);
      stack.push(value.args, value.meta.alternate);
      continue;
    }
    // Comprehension arguments are a plain object of nodes; anything else (literal values) holds no nodes.
    if (Object.getPrototypeOf(value) === Object.prototype) for (const item of Object.values(value)) stack.push(item);
  }
}

const maxInt64 = 2n ** 63n - 1n;
const minInt64 = -(2n ** 63n);
const allocating = new Set(['+', 'call', 'rcall', 'list', 'map']);

/** Installs the metered `evaluate` on every node of a parsed program. */
export function instrumentCelAst(root: unknown): void {
  walkCelAst(root, (node) => {
    const measure = allocating.has(node.op);
    // The literal 9223372036854775808 exists only as the operand of `-` (the int64 minimum), so literals pass.
    const checkRange = node.op !== 'value';
    const isMapLiteral = node.op === 'map' && Array.isArray(node.args) && node.meta.alternate === undefined;
    node.evaluate = function meteredEvaluate(this: CelNode, ev: unknown, ast: unknown, ctx: unknown): unknown {
      charge(1);
      // Read meta at evaluation time: the checker replaces a node's evaluate (e.g. accuPush) after parsing.
      const meta = this.meta;
      const result = isMapLiteral
        ? evaluateMapLiteral(this, ev, ctx)
        : meta.alternate !== undefined
          ? meta.alternate.evaluate(ev, meta.alternate, ctx)
          : meta.macro !== undefined
            ? meta.macro.evaluate(ev, meta.macro, ctx)
            : meta.evaluate.call(this, ev, ast, ctx);
      if (checkRange && typeof result === 'bigint' && (result > maxInt64 || result < minInt64)) {
        // cel-js computes ints as BigInt and misses some overflows (`-(-9223372036854775808)`, `int(1e19)`); cel-go
        // reports them as errors, and an authorization rule must not compute with a value int64 cannot hold.
        throw new Error('integer overflow: the result does not fit in int64');
      }
      if (measure) {
        if (typeof result === 'string') {
          checkSize('string', result.length);
          if (result.length >= 100) charge(Math.floor(result.length / 100));
        } else if (Array.isArray(result)) {
          checkSize('list', result.length);
          if (result.length >= 100) charge(Math.floor(result.length / 100));
        }
      }
      return result;
    };
  });
}

/**
 * cel-js builds map literals as plain objects, which coerces keys to strings (`{1: 'a'}['1']` was `'a'`) and drops
 * `__proto__`, `constructor` and `prototype` keys. A JavaScript Map keeps CEL's typed keys; a duplicate key is an
 * error, as in cel-go.
 */
function evaluateMapLiteral(node: CelNode, ev: unknown, ctx: unknown): Map<unknown, unknown> {
  const run = (ev as { run(ast: unknown, ctx: unknown): unknown }).run.bind(ev);
  const map = new Map<unknown, unknown>();
  const keys = new Set<unknown>();
  for (const [keyNode, valueNode] of node.args as [unknown, unknown][]) {
    const key = run(keyNode, ctx);
    const value = run(valueNode, ctx);
    if (key instanceof Promise || value instanceof Promise)
      throw new Error('asynchronous map entries are not supported');
    const mapKey = typeof key === 'object' && key !== null ? key.valueOf() : key;
    if (typeof mapKey !== 'string' && typeof mapKey !== 'bigint' && typeof mapKey !== 'boolean') {
      throw new Error(`unsupported map key type: ${typeof mapKey}`);
    }
    // Keys of different numeric types with one value are one key, as cel-go finds them (`{0: 1, 0u: 2}`).
    if (keys.has(mapKey)) throw new Error(`duplicate map key ${String(key)}`);
    keys.add(mapKey);
    map.set(key, value);
  }
  return map;
}

/**
 * A static upper estimate of the steps an expression can take: one per node, and a comprehension's body times the
 * size of what it iterates (a literal list's length, otherwise `assumedIterableSize`). Nested comprehensions
 * multiply, which is how a 2,000-node expression could otherwise run for minutes.
 */
export function estimateCost(root: unknown): number {
  const cost = (value: unknown): number => {
    if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + cost(item), 0);
    if (!isCelNode(value)) return 0;
    const alternate = value.meta.alternate;
    if (alternate !== undefined) return cost(alternate);
    if (value.op === 'comprehension') {
      const args = value.args as { iterable: unknown; init: unknown; step: unknown; condition?: unknown };
      const iterable = args.iterable;
      const size =
        isCelNode(iterable) && iterable.op === 'list' && Array.isArray(iterable.args)
          ? iterable.args.length
          : assumedIterableSize;
      return 1 + cost(iterable) + cost(args.init) + size * (cost(args.step) + cost(args.condition));
    }
    if (value.op === 'rcall' && Array.isArray(value.args) && value.args[0] === 'sortBy') {
      // `l.sortBy(x, key)` (a macro, cel-list-string-extensions.ts) evaluates `key` once per element, like `map`.
      const [, receiver, macroArgs] = value.args as [string, unknown, unknown[]];
      const size =
        isCelNode(receiver) && receiver.op === 'list' && Array.isArray(receiver.args)
          ? receiver.args.length
          : assumedIterableSize;
      return 1 + cost(receiver) + size * cost(macroArgs[1]);
    }
    if (value.op === 'map' && Array.isArray(value.args)) {
      return 1 + value.args.reduce((sum: number, entry) => sum + cost(entry), 0);
    }
    return 1 + cost(value.args);
  };
  return Math.min(cost(root), Number.MAX_SAFE_INTEGER);
}

export { maxExpressionCost };
