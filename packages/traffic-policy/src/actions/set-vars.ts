import { z } from 'zod';
import { defineAction } from '../action.js';
import type { DocumentPath } from '../parse.js';
import { continueOutcome, emptyVars, type PolicyContext } from '../context.js';
import type { CompiledTemplate } from '../interpolation.js';

const variableName = /^[A-Za-z_][A-Za-z0-9_]*$/;

const variableNames = (entry: Record<string, unknown>) => Object.keys(entry).every((key) => variableName.test(key));

const configSchema = z.strictObject({
  vars: z
    .union([
      z
        .array(
          z
            .record(z.string(), z.unknown())
            .refine((entry) => Object.keys(entry).length === 1, 'each entry is a map with exactly one key')
            .refine(variableNames, 'variable names are identifiers'),
        )
        .min(1)
        .max(32),
      // ngrok's gateway guides also write `vars: {name: value, …}`; it means the same variables, in order.
      z
        .record(z.string(), z.unknown())
        .refine(
          (entry) => Object.keys(entry).length >= 1 && Object.keys(entry).length <= 32,
          'between 1 and 32 variables',
        )
        .refine(variableNames, 'variable names are identifiers'),
    ])
    .describe(
      'Variables to set, a list of one-key maps (`- name: value`; a map of names to values is read the same way); read them as vars.name. Strings allow `${}`, also inside lists and maps; a string that is exactly `${expr}` keeps the type of expr.',
    ),
});

/** A value as written: a template, a literal, or a list or map holding templates somewhere inside. */
type Value =
  { template: CompiledTemplate } | { literal: unknown } | { list: Value[] } | { map: (readonly [string, Value])[] };

export const setVarsAction = defineAction({
  type: 'set-vars',
  description: 'Sets variables (vars.*) visible to later expressions of the same phase.',
  phases: ['on_tcp_connect', 'on_http_request', 'on_http_response'],
  configSchema,
  configRequired: true,
  alwaysTerminates: () => false,
  compile(config, context) {
    const entries: (readonly [string, unknown, DocumentPath])[] = Array.isArray(config.vars)
      ? config.vars.map((entry, index) => {
          const [name, raw] = Object.entries(entry)[0]!;
          return [name, raw, ['vars', index, name]] as const;
        })
      : Object.entries(config.vars).map(([name, raw]) => [name, raw, ['vars', name]] as const);
    const compileValue = (raw: unknown, path: DocumentPath): Value => {
      if (typeof raw === 'string') return { template: context.template(raw, path) };
      if (Array.isArray(raw)) {
        const items = raw.map((item, index) => compileValue(item, [...path, index]));
        return items.every((item) => 'literal' in item) ? { literal: toCelValue(raw) } : { list: items };
      }
      if (raw !== null && typeof raw === 'object') {
        const fields = Object.entries(raw).map(([key, item]) => [key, compileValue(item, [...path, key])] as const);
        return fields.every(([, item]) => 'literal' in item) ? { literal: toCelValue(raw) } : { map: fields };
      }
      return { literal: toCelValue(raw) };
    };
    const assignments = entries.map(([name, raw, path]) => [name, compileValue(raw, path)] as const);
    return (request: PolicyContext) => {
      if (request.vars === emptyVars) request.vars = Object.create(null) as Record<string, unknown>;
      for (const [name, value] of assignments) request.vars[name] = evaluateValue(value, request);
      return { outcome: continueOutcome, detail: `set ${assignments.map(([name]) => name).join(', ')}` };
    };
  },
});

function evaluateValue(value: Value, request: PolicyContext): unknown {
  if ('template' in value) return value.template.value(request);
  if ('literal' in value) return value.literal;
  if ('list' in value) return value.list.map((item) => evaluateValue(item, request));
  return Object.fromEntries(value.map.map(([key, item]) => [key, evaluateValue(item, request)]));
}

/** YAML integers become CEL ints (BigInt) so `vars.limit == 5` type-checks the way CEL users expect. */
function toCelValue(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCelValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toCelValue(item)]));
  }
  return value;
}
