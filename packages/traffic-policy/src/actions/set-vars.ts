import { z } from 'zod';
import { defineAction } from '../action.js';
import { continueOutcome, emptyVars, type PolicyContext } from '../context.js';
import type { CompiledTemplate } from '../interpolation.js';

const variableName = /^[A-Za-z_][A-Za-z0-9_]*$/;

const configSchema = z.strictObject({
  vars: z
    .array(
      z
        .record(z.string(), z.unknown())
        .refine((entry) => Object.keys(entry).length === 1, 'each entry is a map with exactly one key')
        .refine((entry) => Object.keys(entry).every((key) => variableName.test(key)), 'variable names are identifiers'),
    )
    .min(1)
    .max(32)
    .describe(
      'Variables to set, a list of one-key maps (`- name: value`); read them as vars.name. Strings allow `${}`; a string that is exactly `${expr}` keeps the type of expr.',
    ),
});

type Value = { template: CompiledTemplate } | { literal: unknown };

export const setVarsAction = defineAction({
  type: 'set-vars',
  description: 'Sets variables (vars.*) visible to later expressions of the same phase.',
  phases: ['on_tcp_connect', 'on_http_request', 'on_http_response'],
  configSchema,
  configRequired: true,
  alwaysTerminates: () => false,
  compile(config, context) {
    const assignments = config.vars.map((entry, index) => {
      const [name, raw] = Object.entries(entry)[0]!;
      const value: Value =
        typeof raw === 'string'
          ? { template: context.template(raw, ['vars', index, name]) }
          : { literal: toCelValue(raw) };
      return [name, value] as const;
    });
    return (request: PolicyContext) => {
      if (request.vars === emptyVars) request.vars = Object.create(null) as Record<string, unknown>;
      for (const [name, value] of assignments) {
        request.vars[name] = 'template' in value ? value.template.value(request) : value.literal;
      }
      return { outcome: continueOutcome, detail: `set ${assignments.map(([name]) => name).join(', ')}` };
    };
  },
});

/** YAML integers become CEL ints (BigInt) so `vars.limit == 5` type-checks the way CEL users expect. */
function toCelValue(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCelValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toCelValue(item)]));
  }
  return value;
}
