import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Environment } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtinAliases } from '../src/cel-functions.js';
import { actionDefinitions, celEnvironment, runtimeErrorCodes, validationErrorCodes } from '../src/index.js';
import * as limits from '../src/limits.js';

/**
 * The README is the language reference; these checks keep it true. Every list is generated from the code (the action
 * registry and its zod schemas, errors.ts, the CEL environment), so adding an action, a config field, a default, a
 * result variable, a CEL function or an error code without documenting it fails here, and so does documenting one that
 * no longer exists.
 */

const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');

/** The text under a heading, up to the next heading of the same or a higher level. */
function section(heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  expect(start, `README has no heading "${heading}"`).toBeGreaterThan(-1);
  const level = /^#+/.exec(heading)![0].length;
  const rest = readme.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return next === -1 ? rest : rest.slice(0, next);
}

/** Table rows whose first cell is a code span: first cell → the whole row. */
function tableRows(text: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of text.split('\n')) {
    const cell = /^\| `([^`]+)` \|/.exec(line)?.[1];
    if (cell !== undefined) rows.set(cell, line);
  }
  return rows;
}

interface ConfigField {
  path: string;
  required: boolean;
  default?: unknown;
}

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  default?: unknown;
}

/** Every config field of an action as a dotted path (`[]` for list items), from its zod schema. */
function configFields(schema: z.ZodType): ConfigField[] {
  const fields: ConfigField[] = [];
  const visit = (node: JsonSchema, prefix: string) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const path = `${prefix}${name}`;
      fields.push({
        path,
        required: (node.required ?? []).includes(name) && child.default === undefined,
        default: child.default,
      });
      if (child.properties !== undefined) visit(child, `${path}.`);
      if (child.items?.properties !== undefined) visit(child.items, `${path}[].`);
    }
  };
  visit(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema, '');
  return fields;
}

/** How a default must appear in its row: '' as `''`, lists by each element, other values as written. */
function defaultMentions(value: unknown): string[] {
  if (value === '') return ["`''`"];
  if (Array.isArray(value)) return value.map(String);
  return [String(value).trim()];
}

/** The summary table of the Actions chapter (before its first subsection). */
function actionsOverview(): Map<string, string> {
  const text = section('## Actions');
  return tableRows(text.slice(0, text.indexOf('\n### ')));
}

const supported = actionDefinitions.filter((definition) => definition.supported !== false);
const unsupported = actionDefinitions.filter((definition) => definition.supported === false);

describe('README documents every action', () => {
  it('lists every supported action in the overview table', () => {
    const overview = actionsOverview();
    expect([...overview.keys()].sort()).toEqual(supported.map((definition) => definition.type).sort());
  });

  it.each(supported.map((definition) => [definition.type, definition] as const))(
    '%s: every config field, default and result',
    (type, definition) => {
      const text = section(`### \`${type}\``);
      const rows = tableRows(text);
      const fields = configFields(definition.configSchema);
      for (const field of fields) {
        const row = rows.get(field.path);
        expect(row, `README section ${type} has no row for config field \`${field.path}\``).toBeDefined();
        if (field.required) expect(row, `${type} ${field.path} is required`).toContain('**required**');
        if (field.default !== undefined) {
          for (const mention of defaultMentions(field.default))
            expect(row, `${type} ${field.path} defaults to ${JSON.stringify(field.default)}`).toContain(mention);
        }
      }
      // Rows that name no field are stale.
      expect([...rows.keys()].filter((path) => !fields.some((field) => field.path === path))).toEqual([]);
      if (definition.resultName === undefined) expect(text.toLowerCase()).toContain('no result variables');
      else expect(text).toContain(`actions.ngrok.${definition.resultName}`);
      for (const phase of definition.phases) {
        const short = {
          on_tcp_connect: 'tcp',
          on_http_request: 'request',
          on_http_response: 'response',
          on_event_stream_message: 'event stream',
        }[phase];
        expect(actionsOverview().get(type)?.split('|')[2], `${type} runs in ${phase}`).toContain(short);
      }
    },
  );

  it('names every recognized but unsupported action', () => {
    const text = section('### Recognized but not supported');
    for (const definition of unsupported) expect(text).toContain(`\`${definition.type}\``);
  });
});

describe('README documents every error code', () => {
  it('validation codes, with warnings marked', () => {
    const rows = tableRows(section('### Validation'));
    expect([...rows.keys()].sort()).toEqual(Object.keys(validationErrorCodes).sort());
    for (const [code, reason] of Object.entries(validationErrorCodes)) {
      const severity = reason.includes('(warning') ? 'warning' : 'error';
      expect(rows.get(code)?.split('|')[2]?.trim(), `${code} is a ${severity}`).toBe(severity);
    }
  });

  it('runtime codes, with their HTTP status', () => {
    const rows = tableRows(section('### Runtime'));
    expect([...rows.keys()].sort()).toEqual(Object.keys(runtimeErrorCodes).sort());
    for (const [code, { status }] of Object.entries(runtimeErrorCodes)) {
      expect(rows.get(code)?.split('|')[2]?.trim(), `${code} answers ${status}`).toBe(String(status));
    }
  });
});

describe('README documents the CEL environment', () => {
  const builtIn = new Environment().getDefinitions();
  const builtInFunctions = new Set(builtIn.functions.map((definition) => definition.name));
  const builtInVariables = new Set(builtIn.variables.map((definition) => definition.name));
  const definitions = celEnvironment('on_http_response').getDefinitions();

  it('every function Gatehouse registers', () => {
    const text = section('### Functions');
    const names = new Set(
      definitions.functions
        .map((definition) => definition.name)
        // The RE2 `matches` and the bounded `join` are registered under internal aliases that policies never spell.
        .filter((name) => !builtInFunctions.has(name) && !Object.values(builtinAliases).includes(name)),
    );
    expect(names.size).toBeGreaterThan(10);
    for (const name of names) expect(text, `function ${name}`).toMatch(new RegExp(`\\b${name}\\(`));
  });

  it('every variable Gatehouse registers', () => {
    const text = section('### Variables');
    for (const { name } of definitions.variables.filter((definition) => !builtInVariables.has(definition.name))) {
      expect(text, `variable ${name}`).toMatch(new RegExp(`\`${name}[.\`]`));
    }
  });
});

describe('README states the document limits', () => {
  it('as src/limits.ts sets them', () => {
    const start = readme.indexOf('- Limits: ');
    expect(start, 'README has no "- Limits:" line').toBeGreaterThan(-1);
    const text = readme.slice(start, readme.indexOf('\n- ', start + 1)).replace(/\s+/g, ' ');
    const count = (value: number) => value.toLocaleString('en-US');
    expect(text).toContain(`${count(limits.maxPolicyTextLength / 1024)} KiB of text`);
    expect(text).toContain(`${count(limits.maxDocumentDepth)} levels of nesting`);
    expect(text).toContain(`${count(limits.maxAliasCount)} aliases`);
    expect(text).toContain(`${count(limits.maxRulesPerPhase)} rules per phase`);
    expect(text).toContain(
      `${count(limits.maxActionsPerRule)} actions and ${count(limits.maxExpressionsPerRule)} expressions per rule`,
    );
    expect(text).toContain(`at most ${count(limits.maxExpressionLength)} characters`);
    expect(text).toContain(`${count(limits.celExpressionLimits.maxAstNodes)} nodes`);
    expect(text).toContain(`${count(limits.celExpressionLimits.maxDepth)} levels deep`);
    expect(text).toContain(`name at most ${count(limits.maxRuleNameLength)} characters`);
  });
});
