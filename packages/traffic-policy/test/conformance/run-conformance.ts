import { Environment } from '@marcbachmann/cel-js';
import { UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { tests as conformanceData } from '@bufbuild/cel-spec/testdata/conformance.js';
import { registerPolicyFunctions, renameBuiltins } from '../../src/cel-functions.js';
import { instrumentCelAst, metered } from '../../src/cel-cost.js';
import { registerValueTypes } from '../../src/cel-values.js';

/**
 * Runs the official CEL conformance tests (cel-spec's textproto files, shipped as data in `@bufbuild/cel-spec`)
 * against the CEL environment as the engine wires it: cel-js with Gatehouse's functions, `matches`/`join` renamed to
 * the RE2 and bounded versions, and the cost meter. Tests that need protobuf messages, enums or declared functions
 * cannot run without a protobuf runtime and are counted as "not runnable", not as failures.
 */

/**
 * The files of the core language: everything except extensions (`*_ext`, and `macros2`, the two-variable
 * comprehensions extension), protobuf messages, enums and wrappers (`proto2*`, `proto3`, `enums`, `wrappers`,
 * `fields`, `dynamic`), and optional features (`optionals`, `namespace`, `type_deductions`, `unknowns`).
 */
export const coreFiles = [
  'basic',
  'comparisons',
  'conversions',
  'fp_math',
  'integer_math',
  'lists',
  'logic',
  'macros',
  'parse',
  'plumbing',
  'string',
  'timestamps',
] as const;

interface JsonValue {
  int64Value?: string;
  uint64Value?: string;
  doubleValue?: number | string;
  stringValue?: string;
  bytesValue?: string;
  boolValue?: boolean;
  nullValue?: unknown;
  listValue?: { values?: JsonValue[] };
  mapValue?: { entries?: { key: JsonValue; value: JsonValue }[] };
  typeValue?: string;
  objectValue?: unknown;
  enumValue?: unknown;
}

interface JsonType {
  primitive?: string;
  listType?: { elemType: JsonType };
  mapType?: { keyType: JsonType; valueType: JsonType };
  messageType?: string;
  wellKnown?: string;
  dyn?: unknown;
  null?: unknown;
  type?: JsonType;
  abstractType?: unknown;
  typeParam?: string;
}

interface SimpleTest {
  name: string;
  expr: string;
  value?: JsonValue;
  typedResult?: { result?: JsonValue; deducedType?: JsonType };
  evalError?: unknown;
  typeEnv?: { name: string; ident?: { type: JsonType }; function?: unknown }[];
  bindings?: Record<string, { value?: JsonValue }>;
  disableCheck?: boolean;
  checkOnly?: boolean;
  container?: string;
}

interface Suite {
  name: string;
  suites?: Suite[];
  tests?: { original: SimpleTest }[];
}

export interface ConformanceResult {
  /** `file/section/test`. */
  id: string;
  file: string;
  status: 'pass' | 'fail' | 'not-runnable';
  detail?: string;
}

class NotRunnable extends Error {}

const primitiveTypes: Record<string, string> = {
  BOOL: 'bool',
  INT64: 'int',
  UINT64: 'uint',
  DOUBLE: 'double',
  STRING: 'string',
  BYTES: 'bytes',
};

function celType(type: JsonType): string {
  if (type.primitive !== undefined) {
    const name = primitiveTypes[type.primitive];
    if (name === undefined) throw new NotRunnable(`primitive ${type.primitive}`);
    return name;
  }
  if (type.listType !== undefined) return `list<${celType(type.listType.elemType)}>`;
  if (type.mapType !== undefined) return `map<${celType(type.mapType.keyType)}, ${celType(type.mapType.valueType)}>`;
  if (type.dyn !== undefined) return 'dyn';
  if (type.null !== undefined) return 'null';
  if (type.wellKnown === 'TIMESTAMP') return 'google.protobuf.Timestamp';
  if (type.wellKnown === 'DURATION') return 'google.protobuf.Duration';
  throw new NotRunnable(`type ${JSON.stringify(type)}`);
}

function toCel(value: JsonValue): unknown {
  if (value.int64Value !== undefined) return BigInt(value.int64Value);
  if (value.uint64Value !== undefined) return new UnsignedInt(BigInt(value.uint64Value));
  if (value.doubleValue !== undefined) return Number(value.doubleValue);
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.bytesValue !== undefined) return Uint8Array.from(atob(value.bytesValue), (c) => c.charCodeAt(0));
  if (value.boolValue !== undefined) return value.boolValue;
  if ('nullValue' in value) return null;
  if (value.listValue !== undefined) return (value.listValue.values ?? []).map(toCel);
  if (value.mapValue !== undefined) {
    return new Map((value.mapValue.entries ?? []).map((entry) => [toCel(entry.key), toCel(entry.value)]));
  }
  if (value.typeValue !== undefined) return { typeName: value.typeValue };
  // A JSON Value with no kind is the empty string/zero of proto3; these appear only with messages.
  throw new NotRunnable(`value ${Object.keys(value).join(',') || 'empty'}`);
}

function isMapLike(value: unknown): value is Map<unknown, unknown> | Record<string, unknown> {
  return (
    value instanceof Map ||
    (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype)
  );
}

function entries(value: Map<unknown, unknown> | Record<string, unknown>): [unknown, unknown][] {
  return value instanceof Map ? [...value.entries()] : Object.entries(value);
}

/** CEL equality of an actual cel-js value and an expected value (NaN equals NaN here: the tests expect NaN). */
function celEquals(actual: unknown, expected: unknown): boolean {
  if (expected !== null && typeof expected === 'object' && 'typeName' in expected) {
    const name = (actual as { name?: string } | null)?.name;
    return name === (expected as { typeName: string }).typeName;
  }
  if (expected instanceof UnsignedInt) return actual instanceof UnsignedInt && actual.valueOf() === expected.valueOf();
  if (typeof expected === 'bigint') return typeof actual === 'bigint' && actual === expected;
  if (typeof expected === 'number') {
    if (typeof actual !== 'number') return false;
    return Number.isNaN(expected) ? Number.isNaN(actual) : Object.is(actual, expected) || actual === expected;
  }
  if (expected instanceof Uint8Array) {
    return (
      actual instanceof Uint8Array && actual.length === expected.length && actual.every((b, i) => b === expected[i])
    );
  }
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) && actual.length === expected.length && actual.every((a, i) => celEquals(a, expected[i]))
    );
  }
  if (expected instanceof Map) {
    if (!isMapLike(actual)) return false;
    const actualEntries = entries(actual);
    if (actualEntries.length !== expected.size) return false;
    return [...expected.entries()].every(([key, value]) =>
      actualEntries.some(([actualKey, actualValue]) => celEquals(actualKey, key) && celEquals(actualValue, value)),
    );
  }
  return actual === expected;
}

function createEnvironment(test: SimpleTest): Environment {
  const env = registerValueTypes(new Environment({ homogeneousAggregateLiterals: false }));
  for (const declaration of test.typeEnv ?? []) {
    if (declaration.ident === undefined) throw new NotRunnable('declared function');
    env.registerVariable(declaration.name, celType(declaration.ident.type));
  }
  // Undeclared bindings (tests with disableCheck) are dyn, as cel-go treats them without a checker.
  for (const name of Object.keys(test.bindings ?? {})) {
    if (!(test.typeEnv ?? []).some((declaration) => declaration.name === name)) env.registerVariable(name, 'dyn');
  }
  return registerPolicyFunctions(env, { current: undefined });
}

const protobufNames = /google\.protobuf|cel\.expr\.conformance|TestAllTypes|NestedTestAllTypes|proto[23]\./;

function runOne(test: SimpleTest): { status: 'pass' | 'fail' | 'not-runnable'; detail?: string } {
  try {
    if (test.container !== undefined && test.container !== '') throw new NotRunnable('container');
    if (protobufNames.test(test.expr)) throw new NotRunnable('protobuf message in the expression');
    const expected = test.value ?? test.typedResult?.result;
    const expectedValue = expected === undefined ? undefined : toCel(expected);
    const bindings: Record<string, unknown> = {};
    for (const [name, binding] of Object.entries(test.bindings ?? {})) {
      if (binding.value === undefined) throw new NotRunnable('binding without a value');
      bindings[name] = toCel(binding.value);
    }
    const env = createEnvironment(test);
    let program: ReturnType<Environment['parse']>;
    try {
      program = env.parse(test.expr);
      renameBuiltins(program.ast);
    } catch (error) {
      return test.evalError !== undefined ? { status: 'pass' } : { status: 'fail', detail: `parse: ${message(error)}` };
    }
    if (test.disableCheck !== true) {
      const check = program.check();
      if (!check.valid) {
        // An expected evaluation error that the checker already catches is the stricter outcome; cel-go's checker
        // would have caught it too when the test does not disable checking.
        return test.evalError !== undefined
          ? { status: 'pass' }
          : { status: 'fail', detail: `check: ${message(check.error)}` };
      }
    }
    if (test.checkOnly === true) return { status: 'pass' };
    instrumentCelAst(program.ast);
    let actual: unknown;
    try {
      actual = metered(bindings, () => program(bindings) as unknown);
    } catch (error) {
      if (test.evalError !== undefined) return { status: 'pass' };
      return { status: 'fail', detail: `eval: ${message(error)}` };
    }
    if (test.evalError !== undefined) return { status: 'fail', detail: `expected an error, got ${show(actual)}` };
    if (expected === undefined) return { status: 'pass' };
    return celEquals(actual, expectedValue)
      ? { status: 'pass' }
      : { status: 'fail', detail: `got ${show(actual)}, want ${show(expectedValue)}` };
  } catch (error) {
    if (error instanceof NotRunnable) return { status: 'not-runnable', detail: error.message };
    return { status: 'fail', detail: `harness: ${message(error)}` };
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, item: unknown): unknown =>
      typeof item === 'bigint' ? `${item}n` : item instanceof Map ? (Object.fromEntries(item) as unknown) : item,
    );
  } catch {
    return String(value);
  }
}

export function runConformance(): ConformanceResult[] {
  const results: ConformanceResult[] = [];
  const visit = (suite: Suite, path: string[]) => {
    for (const { original } of suite.tests ?? []) {
      const file = path[0]!;
      results.push({ id: [...path, original.name].join('/'), file, ...runOne(original) });
    }
    for (const child of suite.suites ?? []) visit(child, [...path, child.name]);
  };
  for (const file of (conformanceData as Suite).suites ?? []) visit(file, [file.name]);
  return results;
}
