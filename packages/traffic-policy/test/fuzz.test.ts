import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  actionDefinitions,
  analyzePolicy,
  compile,
  createPolicyContext,
  evaluate,
  parse,
  policyDocumentJsonSchema,
  policyDocumentSchema,
  validate,
  validationErrorCodes,
  type EndpointType,
  type PolicyIssue,
} from '../src/index.js';
import { createMemoryPorts } from '../src/testing/index.js';

/**
 * Robustness: whatever text arrives (a half-typed policy in the dashboard, a hostile API call), parse + validate never
 * throw and always answer with well-formed issues; whatever validates also compiles and evaluates without throwing.
 * Inputs are mutations of the golden policies (so they stay close to real documents), documents assembled from
 * policy-shaped pieces, arbitrary unicode and arbitrary JSON values. Seeded, so a failure reproduces.
 */

const seed = 20261124;
const casesDirectory = join(import.meta.dirname, 'cases');

interface GoldenPolicy {
  file: string;
  kind: 'valid' | 'invalid';
  text: string;
  endpointType: EndpointType;
}

const goldenPolicies: GoldenPolicy[] = (['valid', 'invalid'] as const).flatMap((kind) =>
  readdirSync(join(casesDirectory, kind))
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const testCase = parseYaml(readFileSync(join(casesDirectory, kind, file), 'utf8')) as {
        policy: string;
        endpoint?: { type?: EndpointType };
      };
      return { file: `${kind}/${file}`, kind, text: testCase.policy, endpointType: testCase.endpoint?.type ?? 'cloud' };
    }),
);

const validationCodes = new Set(Object.keys(validationErrorCodes));

/** The property every input must satisfy; returns the issues so callers can add their own checks. */
function expectWellFormedAnalysis(text: string, endpointType: EndpointType): { issues: PolicyIssue[]; valid: boolean } {
  const parsed = parse(text);
  const result = validate(parsed, { endpointType, internalEndpointUrls: new Set(['https://svc.internal']) });
  const issues = [...result.errors, ...result.warnings];
  const lineCount = text.split(/\r\n|\r|\n/).length;
  for (const issue of issues) {
    const shown = `${JSON.stringify(issue)} for ${JSON.stringify(text.slice(0, 400))}`;
    expect(validationCodes.has(issue.code), shown).toBe(true);
    expect(Number.isInteger(issue.line) && issue.line >= 1 && issue.line <= lineCount + 1, shown).toBe(true);
    expect(Number.isInteger(issue.column) && issue.column >= 1, shown).toBe(true);
    expect(['error', 'warning'], shown).toContain(issue.severity);
    expect(typeof issue.message === 'string' && issue.message.length > 0, shown).toBe(true);
    expect(issue.path === '' || issue.path.startsWith('/'), shown).toBe(true);
  }
  expect(result.valid, JSON.stringify(text.slice(0, 400))).toBe(result.errors.length === 0);
  return { issues, valid: result.valid };
}

/** Valid documents must compile and run one plain request through every phase without throwing. */
async function expectCompilesAndRuns(text: string, endpointType: EndpointType): Promise<void> {
  const analysis = analyzePolicy(parse(text), { endpointType });
  if (analysis.policy === undefined) return;
  expect(() => compile(text, { endpointType })).not.toThrow();
  const ports = createMemoryPorts({ internalEndpoints: ['https://svc.internal'] });
  const context = createPolicyContext(
    {
      endpoint: { id: 'ep_fuzz', url: 'https://api.example.com', host: 'api.example.com', type: endpointType },
      connection: { clientIp: '203.0.113.9', clientPort: 40000, serverIp: '127.0.0.1', serverPort: 443 },
      request: {
        method: 'POST',
        scheme: 'https',
        host: 'api.example.com',
        port: '443',
        path: '/mcp',
        query: 'a=1&b=%zz',
        headers: new Map([
          ['authorization', ['Bearer not.a.jwt']],
          ['content-type', ['application/json']],
        ]),
        body: new TextEncoder().encode('{"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}}'),
      },
    },
    ports,
  );
  for (const phase of ['on_tcp_connect', 'on_http_request'] as const) {
    const result = await evaluate(analysis.policy, phase, context, ports);
    if (result.outcome.kind !== 'continue' && phase === 'on_tcp_connect') return;
  }
  context.response = { status: 502, headers: new Map([['content-type', ['text/event-stream']]]) };
  await evaluate(analysis.policy, 'on_http_response', context, ports);
}

// ---------------------------------------------------------------------------------------------------------------
// Generators

const yamlSpecials = [
  '&',
  '*',
  '!',
  '{',
  '[',
  ':',
  '#',
  '|',
  '>',
  '}',
  ']',
  '- ',
  '? ',
  '"',
  "'",
  '%',
  '@',
  '`',
  ',',
  '\t',
  '\n',
  '&a ',
  '*a',
  '!!str ',
  '<<: ',
];
const celFragments = [
  "req.method == 'GET'",
  '!',
  '&&',
  '||',
  '(',
  ')',
  '[0]',
  "['x']",
  '.size()',
  'req.headers',
  "getReqHeader('x')[0]",
  'res.status_code',
  'conn.client_ip',
  "'a' in conn.client_ip.categories",
  "inCidrRange(conn.client_ip, '10.0.0.0/8')",
  'vars.x',
  'actions.ngrok.rate_limit.limited',
  'mcp.method',
  '1 / 0',
  '"unterminated',
  '${',
  '${req.method}',
  '}',
  '${}',
  '$1',
  "decodeJson('{')",
  "'x'.matches('(')",
  'timestamp(time.now)',
  'has(req.headers.x)',
  '[1, 2].map(x, x * 2)',
  "{'a': 1}['b']",
  '?',
  ':',
  '.',
  '\\',
  '\u0000',
  '🙂',
];

const seedText = fc.constantFrom(...goldenPolicies.map((policy) => policy.text));
const endpointType = fc.constantFrom<EndpointType>('cloud', 'internal');

type Mutation = (text: string) => string;

const lineMutation = (edit: (lines: string[], index: number) => void) => (index: number) => (text: string) => {
  const lines = text.split('\n');
  edit(lines, index % Math.max(1, lines.length));
  return lines.join('\n');
};

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map(lineMutation((lines, index) => lines.splice(index, 1))),
  fc.nat().map(lineMutation((lines, index) => lines.splice(index, 0, lines[index] ?? ''))),
  fc.tuple(fc.nat(), fc.integer({ min: -4, max: 4 })).map(([index, shift]) =>
    lineMutation((lines, at) => {
      const line = lines[at] ?? '';
      lines[at] = shift >= 0 ? ' '.repeat(shift) + line : line.replace(new RegExp(`^ {0,${-shift}}`), '');
    })(index),
  ),
  fc.nat().map((index) => (text: string) => {
    if (text.length < 2) return text;
    const at = index % (text.length - 1);
    return text.slice(0, at) + text[at + 1] + text[at] + text.slice(at + 2);
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...yamlSpecials)).map(([index, special]) => (text: string) => {
    const at = index % (text.length + 1);
    return text.slice(0, at) + special + text.slice(at);
  }),
  fc
    .tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 4, unit: 'binary' }))
    .map(([index, junk]) => (text: string) => {
      const at = index % (text.length + 1);
      return text.slice(0, at) + junk + text.slice(at + 1);
    }),
  // CEL fragments land inside quoted strings (expressions, `${}` templates, config values) or replace a scalar.
  fc.tuple(fc.nat(), fc.constantFrom(...celFragments)).map(([index, fragment]) => (text: string) => {
    const quotes = [...text.matchAll(/["']/g)].map((match) => match.index);
    if (quotes.length === 0) return text + fragment;
    const at = quotes[index % quotes.length]! + 1;
    return text.slice(0, at) + fragment + text.slice(at);
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...celFragments)).map(([index, fragment]) => (text: string) => {
    const scalars = [...text.matchAll(/: ([^\n{[]+)$/gm)];
    const scalar = scalars[index % Math.max(1, scalars.length)];
    if (scalar === undefined) return text;
    const start = scalar.index + 2;
    return text.slice(0, start) + JSON.stringify(fragment) + text.slice(start + scalar[1]!.length);
  }),
);

const mutatedPolicy = fc
  .tuple(seedText, fc.array(mutation, { minLength: 1, maxLength: 5 }))
  .map(([text, mutations]) => mutations.reduce((current, mutate) => mutate(current), text));

/** Policy-shaped documents: real phases and action types with configs that are sometimes right and often not. */
const actionTypes = actionDefinitions.map((definition) => definition.type);
const looseValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...celFragments).map((fragment) => `\${${fragment}}`) },
  { weight: 3, arbitrary: fc.constantFrom(...celFragments) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'https://svc.internal',
      '60s',
      'sliding_window',
      'user:password123',
      '10.0.0.0/8',
      'github',
      'gzip',
    ),
  },
);
const configKeys = [
  'status_code',
  'body',
  'headers',
  'from',
  'to',
  'url',
  'on_error',
  'allow',
  'deny',
  'enforce',
  'name',
  'algorithm',
  'capacity',
  'rate',
  'bucket_key',
  'credentials',
  'metadata',
  'vars',
  'algorithms',
  'provider',
  'secret',
  'replacements',
  'issuer',
  'jws',
  'http',
];
const policyShaped = fc.dictionary(
  fc.constantFrom('on_http_request', 'on_http_response', 'on_tcp_connect', 'inbound', 'outbound', 'on_http_requests'),
  fc.array(
    fc.record(
      {
        name: fc.string({ maxLength: 10 }),
        expressions: fc.array(fc.constantFrom(...celFragments), { maxLength: 3 }),
        actions: fc.array(
          fc.record(
            {
              type: fc.constantFrom(...actionTypes, 'nope'),
              config: fc.dictionary(fc.constantFrom(...configKeys), looseValue, { maxKeys: 4 }),
            },
            { requiredKeys: ['type'] },
          ),
          { maxLength: 3 },
        ),
      },
      { requiredKeys: ['actions'] },
    ),
    { maxLength: 4 },
  ),
  { maxKeys: 3 },
);

// ---------------------------------------------------------------------------------------------------------------
// Properties

describe('parse + validate never throw and always return well-formed issues', () => {
  it('every golden policy, as written', async () => {
    for (const policy of goldenPolicies) {
      const { valid } = expectWellFormedAnalysis(policy.text, policy.endpointType);
      expect(valid, policy.file).toBe(policy.kind === 'valid');
      await expectCompilesAndRuns(policy.text, policy.endpointType);
    }
  });

  it('mutated golden policies', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedPolicy, endpointType, async (text, type) => {
        const { valid } = expectWellFormedAnalysis(text, type);
        if (valid) await expectCompilesAndRuns(text, type);
      }),
      { seed, numRuns: 2000 },
    );
  });

  it('policy-shaped documents as YAML and as JSON', async () => {
    await fc.assert(
      fc.asyncProperty(policyShaped, endpointType, fc.boolean(), async (document, type, asJson) => {
        const text = asJson ? JSON.stringify(document, null, 2) : stringifyYaml(document);
        const { valid } = expectWellFormedAnalysis(text, type);
        if (valid) await expectCompilesAndRuns(text, type);
      }),
      { seed, numRuns: 1000 },
    );
  });

  it('arbitrary unicode text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: 'binary' }), endpointType, (text, type) => {
        expectWellFormedAnalysis(text, type);
      }),
      { seed, numRuns: 1500 },
    );
  });

  it('arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), endpointType, (value, type) => {
        expectWellFormedAnalysis(JSON.stringify(value), type);
        expectWellFormedAnalysis(stringifyYaml(value), type);
      }),
      { seed, numRuns: 1000 },
    );
  });

  it('hostile YAML: alias bombs, cycles, deep nesting, huge text', () => {
    const hostile = [
      'a: &a [*a]',
      `on_http_request: &r\n  - actions: *r`,
      'x: &a ["a","a"]\ny: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nz: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nw: [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      `${'['.repeat(200)}${']'.repeat(200)}`,
      `${'- '.repeat(100)}x`,
      'on_http_request: !!binary aGVsbG8=',
      'on_http_request: !custom [1]',
      '%YAML 1.1\n---\non_http_request: []',
      '---\na: 1\n---\nb: 2',
      'x'.repeat(300 * 1024),
      '\uFEFFon_http_request: []',
      'on_http_request:\r\n  - actions:\r\n      - type: deny\r\n',
    ];
    for (const text of hostile) for (const type of ['cloud', 'internal'] as const) expectWellFormedAnalysis(text, type);
  });
});

describe('the schema describes what the validator accepts', () => {
  it('every valid golden policy parses with policyDocumentSchema', () => {
    for (const policy of goldenPolicies.filter((candidate) => candidate.kind === 'valid')) {
      // An empty text is an empty policy (document null); the schema describes the map form.
      const document = parse(policy.text).document ?? {};
      const result = policyDocumentSchema.safeParse(document);
      expect(result.success, `${policy.file}: ${result.error?.message ?? ''}`).toBe(true);
    }
  });

  it('policyDocumentJsonSchema has a description on every property', () => {
    const definitions = (policyDocumentJsonSchema().$defs ?? {}) as Record<string, JsonSchemaNode>;
    const resolve = (node: JsonSchemaNode | undefined): JsonSchemaNode | undefined =>
      typeof node?.$ref === 'string' ? definitions[node.$ref.replace('#/$defs/', '')] : node;
    const missing: string[] = [];
    let properties = 0;
    const visited = new Set<JsonSchemaNode>();
    const visit = (node: JsonSchemaNode | undefined, path: string): void => {
      if (node === undefined || visited.has(node)) return;
      visited.add(node);
      for (const [name, property] of Object.entries(node.properties ?? {})) {
        properties++;
        if (typeof property.description !== 'string' && typeof resolve(property)?.description !== 'string')
          missing.push(`${path}.${name}`);
        visit(resolve(property), `${path}.${name}`);
      }
      for (const key of ['items', 'additionalProperties'] as const) {
        const child = node[key];
        if (typeof child === 'object') visit(resolve(child), `${path}[]`);
      }
      for (const key of ['anyOf', 'oneOf', 'allOf'] as const)
        node[key]?.forEach((child, index) => visit(resolve(child), `${path}|${index}`));
    };
    visit(policyDocumentJsonSchema(), '$');
    expect(properties).toBeGreaterThan(100);
    expect(missing).toEqual([]);
  });
});

interface JsonSchemaNode {
  $ref?: string;
  description?: string;
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  additionalProperties?: JsonSchemaNode | boolean;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  allOf?: JsonSchemaNode[];
  $defs?: Record<string, JsonSchemaNode>;
}
