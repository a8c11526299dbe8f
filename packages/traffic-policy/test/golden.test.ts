import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { policyOptionsFor } from '@gatehouse/contracts';
import {
  compile,
  createPolicyContext,
  detectMcp,
  evaluate,
  PolicyRegex,
  parse,
  recordUsage,
  settleExchange,
  validatePolicy,
  validationErrorCodes,
  type Jwk,
  type ParsedPolicy,
  type SideCallErrorCode,
  type SideCallResult,
  type Phase,
  type ClientCertificateFacts,
} from '../src/index.js';
import { createMemoryPorts } from '../src/testing/index.js';
import { celAstOf } from '../src/cel-environment.js';
import { walkCelAst } from '../src/cel-cost.js';
import type { CompiledPolicy } from '../src/compiled-policy.js';

/**
 * Golden cases (after Envoy Gateway's *.in/*.out pairs): each file under test/cases is a policy plus either the issues
 * validation must report (code, line, column) or requests with the outcome evaluation must produce.
 */

const issueExpectation = z.strictObject({
  code: z.string(),
  line: z.int().optional(),
  column: z.int().optional(),
  path: z.string().optional(),
  message_includes: z.string().optional(),
});

const outcomeExpectation = z.strictObject({
  kind: z.enum(['continue', 'respond', 'forward', 'close', 'provider-response']),
  status: z.int().optional(),
  body: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  absent_headers: z.array(z.string()).optional(),
  url: z.string().optional(),
  error_code: z.string().optional(),
  decision: z
    .strictObject({ rule_index: z.int(), action: z.string(), phase: z.string().optional() })
    .nullable()
    .optional(),
  request_headers: z.record(z.string(), z.string()).optional().describe('headers the upstream would receive'),
  request_path: z.string().optional(),
  request_query: z.string().optional(),
  vars: z.record(z.string(), z.unknown()).optional(),
  logs: z.array(z.record(z.string(), z.unknown())).optional(),
  runtime_errors: z.int().optional(),
  directives: z.record(z.string(), z.unknown()).optional(),
  results: z.record(z.string(), z.unknown()).optional().describe('matched (as a subset) against actions.ngrok.*'),
  trace_errors: z.int().optional().describe('rules whose expressions failed at runtime in this phase'),
});

const requestCase = z.strictObject({
  name: z.string(),
  advance_ms: z.int().default(0),
  repeat: z.int().min(1).default(1).describe('send the request this many times; expectations apply to the last one'),
  client_ip: z.string().default('203.0.113.10'),
  tls_version: z.string().optional().describe('the TLS version as the host reports it (Node: TLSv1.3)'),
  client_certificate: z
    .strictObject({ subject_common_name: z.string(), issuer_common_name: z.string().default('') })
    .optional()
    .describe('a verified mutual-TLS client certificate (conn.tls.client.*); implies TLS 1.3 unless tls_version says'),
  method: z.string().default('GET'),
  scheme: z.enum(['http', 'https']).default('https'),
  host: z.string().optional(),
  path: z.string().default('/'),
  query: z.string().default(''),
  headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])).default({}),
  body: z.string().optional(),
  expect: outcomeExpectation,
  response: z
    .strictObject({ status: z.int(), headers: z.record(z.string(), z.string()).default({}) })
    .optional()
    .describe('upstream response to run on_http_response against'),
  expect_response: outcomeExpectation.optional(),
  ai_usage: z
    .strictObject({ input_tokens: z.int().optional(), output_tokens: z.int().optional() })
    .optional()
    .describe('the token usage the provider reports (as the data plane reads it) before the exchange ends'),
});

const goldenCase = z.strictObject({
  description: z.string(),
  endpoint: z
    .strictObject({
      type: z.enum(['cloud', 'internal', 'agent']).default('cloud'),
      url: z.string().default('https://api.example.com'),
      id: z.string().default('ep_golden'),
    })
    .default({ type: 'cloud', url: 'https://api.example.com', id: 'ep_golden' }),
  ip_categories: z.array(z.strictObject({ name: z.string(), cidrs: z.array(z.string()) })).default([]),
  internal_endpoints: z.array(z.string()).default([]),
  ip_intelligence: z
    .record(
      z.string(),
      z.strictObject({
        city: z.string().optional(),
        country: z.string().optional(),
        country_code: z.string().optional(),
        latitude: z.number().optional(),
        longitude: z.number().optional(),
        radius_km: z.number().optional(),
        subdivision: z.string().optional(),
        continent: z.string().optional(),
        registered_country_code: z.string().optional(),
        as_number: z.int().optional(),
        as_organization: z.string().optional(),
      }),
    )
    .default({})
    .describe('geo/AS records by client IP (conn.geo.*, conn.client_ip.as.*); other addresses have none'),
  server_region: z.string().optional().describe('conn.server_region'),
  static_jwks: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))).default({}),
  secrets: z
    .record(z.string(), z.record(z.string(), z.string()))
    .default({})
    .describe('vault → secret → value: the names for validation, the values for compiling'),
  side_calls: z
    .record(
      z.string(),
      z.union([
        z.strictObject({
          status: z.int(),
          headers: z.record(z.string(), z.array(z.string())).default({}),
          body: z.string().default(''),
        }),
        z.strictObject({ error: z.string(), message: z.string().default('scripted failure') }),
      ]),
    )
    .default({})
    .describe('http-request results by URL (ScriptedHttpRequester); other URLs answer 200 with an empty body'),
  ai_provider_status: z
    .int()
    .optional()
    .describe('ai-gateway attempts are answered with this status (a provider port that answers every attempt)'),
  expect_side_calls: z
    .array(z.record(z.string(), z.unknown()))
    .optional()
    .describe('the side calls every request of the case made together, each matched as a subset'),
  policy: z.string(),
  // ngrok corpus only (test/ngrok-corpus): where ngrok publishes the policy and what Gatehouse makes of it.
  source: z.url().optional().describe('the page ngrok publishes the policy on'),
  docs_file: z.string().optional().describe('the file in github.com/ngrok/ngrok-docs it comes from'),
  status: z.enum(['supported', 'unsupported', 'invalid-as-published']).optional(),
  reason: z.string().optional().describe('why a policy is unsupported or invalid as published'),
  placeholders: z
    .record(z.string(), z.string())
    .default({})
    .describe('placeholders in the published text (<YOUR-DOMAIN>) and what a user would write instead'),
  expect_errors: z.array(issueExpectation).optional(),
  expect_warnings: z.array(issueExpectation).default([]),
  requests: z.array(requestCase).default([]),
});

type GoldenCase = z.infer<typeof goldenCase>;

function secretNames(testCase: GoldenCase): Map<string, Set<string>> {
  return new Map(Object.entries(testCase.secrets).map(([vault, values]) => [vault, new Set(Object.keys(values))]));
}

const casesDirectory = join(import.meta.dirname, 'cases');
function loadCases(kind: 'valid' | 'invalid' | '../ngrok-corpus'): [string, GoldenCase][] {
  const directory = join(casesDirectory, kind);
  return readdirSync(directory)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => {
      let raw: unknown;
      try {
        raw = parseYaml(readFileSync(join(directory, file), 'utf8'));
      } catch (error) {
        throw new Error(`test/cases/${kind}/${file} is not YAML: ${String(error)}`, { cause: error });
      }
      const parsed = goldenCase.safeParse(raw);
      if (!parsed.success)
        throw new Error(`test/cases/${kind}/${file} is not a golden case: ${z.prettifyError(parsed.error)}`);
      return [file, parsed.data] as [string, GoldenCase];
    });
}

const validCases = loadCases('valid');
const invalidCases = loadCases('invalid');
const corpusCases = loadCases('../ngrok-corpus');

function expectIssues(
  actual: { code: string; line: number; column: number; path: string; message: string }[],
  expected: z.infer<typeof issueExpectation>[],
) {
  expect(actual.map((issue) => issue.code).sort(), JSON.stringify(actual, null, 2)).toEqual(
    expected.map((issue) => issue.code).sort(),
  );
  for (const want of expected) {
    const match = actual.find(
      (issue) =>
        issue.code === want.code &&
        (want.line === undefined || issue.line === want.line) &&
        (want.column === undefined || issue.column === want.column) &&
        (want.path === undefined || issue.path === want.path) &&
        (want.message_includes === undefined || issue.message.includes(want.message_includes)),
    );
    expect(match, `expected ${JSON.stringify(want)} among ${JSON.stringify(actual, null, 2)}`).toBeDefined();
  }
}

describe('invalid policies report every issue at its position', () => {
  it.each(invalidCases)('%s', (_file, testCase) => {
    expect(testCase.expect_errors, 'invalid cases must list expect_errors').toBeDefined();
    const result = validatePolicy(testCase.policy, {
      ...policyOptionsFor(testCase.endpoint.type, testCase.endpoint.url),
      internalEndpointUrls: new Set(testCase.internal_endpoints),
      knownSecrets: secretNames(testCase),
    });
    expect(result.valid).toBe(false);
    expectIssues(result.errors, testCase.expect_errors ?? []);
    expectIssues(result.warnings, testCase.expect_warnings);
  });

  it('cover every validation error code', () => {
    const covered = new Set(
      [...invalidCases, ...validCases].flatMap(([, testCase]) =>
        [...(testCase.expect_errors ?? []), ...testCase.expect_warnings].map((issue) => issue.code),
      ),
    );
    const missing = Object.keys(validationErrorCodes).filter((code) => !covered.has(code));
    expect(missing).toEqual([]);
  });
});

describe('valid policies evaluate to the expected outcomes', () => {
  it.each(validCases)('%s', async (_file, testCase) => {
    await runValidCase(testCase);
  });
});

/** Validates a policy that must be valid, compiles it as the data plane does and runs its requests. */
async function runValidCase(testCase: GoldenCase, checkWarnings = true): Promise<void> {
  const options = {
    ...policyOptionsFor(testCase.endpoint.type, testCase.endpoint.url),
    internalEndpointUrls: new Set(testCase.internal_endpoints),
    knownSecrets: secretNames(testCase),
  };
  const result = validatePolicy(testCase.policy, options);
  expect(result.errors).toEqual([]);
  // Published policies are judged by their errors; warnings (e.g. an expression that may fail) are advice.
  if (checkWarnings) expectIssues(result.warnings, testCase.expect_warnings);
  // Compiled as the data plane does, with the secret values (validation above had only their names).
  const policy = compile(testCase.policy, {
    ...options,
    secrets: { get: (vault, name) => testCase.secrets[vault]?.[name] },
  });
  auditCheckedTypes(policy);
  const ports = createMemoryPorts({
    categories: testCase.ip_categories,
    ipIntelligence: new Map(
      Object.entries(testCase.ip_intelligence).map(([address, geo]) => [
        address,
        {
          ...(geo.city === undefined ? {} : { city: geo.city }),
          ...(geo.country === undefined ? {} : { country: geo.country }),
          ...(geo.country_code === undefined ? {} : { countryCode: geo.country_code }),
          ...(geo.latitude === undefined ? {} : { latitude: geo.latitude }),
          ...(geo.longitude === undefined ? {} : { longitude: geo.longitude }),
          ...(geo.radius_km === undefined ? {} : { radiusKm: geo.radius_km }),
          ...(geo.subdivision === undefined ? {} : { subdivision: geo.subdivision }),
          ...(geo.continent === undefined ? {} : { continent: geo.continent }),
          ...(geo.registered_country_code === undefined ? {} : { registeredCountryCode: geo.registered_country_code }),
          ...(geo.as_number === undefined ? {} : { asNumber: geo.as_number }),
          ...(geo.as_organization === undefined ? {} : { asOrganization: geo.as_organization }),
        },
      ]),
    ),
    internalEndpoints: testCase.internal_endpoints,
    jwks: new Map(Object.entries(testCase.static_jwks) as [string, Jwk[]][]),
    sideCalls: new Map(
      Object.entries(testCase.side_calls).map(([url, scripted]): [string, SideCallResult] => [
        url,
        'error' in scripted
          ? { ok: false, code: scripted.error as SideCallErrorCode, message: scripted.message }
          : {
              ok: true,
              response: {
                statusCode: scripted.status,
                headers: scripted.headers,
                body: scripted.body,
                resolvedIp: '10.0.0.7',
                timeMs: 3,
              },
            },
      ]),
    ),
  });
  const providerStatus = testCase.ai_provider_status;
  if (providerStatus !== undefined)
    ports.aiProviders = {
      send: () => Promise.resolve({ kind: 'response', response: { status: providerStatus, discard: () => undefined } }),
    };
  const endpointUrl = new URL(testCase.endpoint.url);
  for (const request of testCase.requests) {
    ports.clock.advance(request.advance_ms);
    for (let attempt = 1; attempt <= request.repeat; attempt++) {
      const headers = new Map(
        Object.entries(request.headers).map(([name, value]) => [
          name.toLowerCase(),
          Array.isArray(value) ? [...value] : [value],
        ]),
      );
      const body = request.body === undefined ? undefined : new TextEncoder().encode(request.body);
      // As the data plane does: MCP facts from the body of every request, whatever the policy reads.
      const mcp = detectMcp(headers, body);
      const context = createPolicyContext(
        {
          endpoint: {
            id: testCase.endpoint.id,
            url: testCase.endpoint.url,
            host: endpointUrl.hostname,
            type: testCase.endpoint.type,
          },
          connection: {
            clientIp: request.client_ip,
            clientPort: 50000,
            serverIp: '127.0.0.1',
            serverPort: 443,
            ...(testCase.server_region === undefined ? {} : { serverRegion: testCase.server_region }),
            ...(request.tls_version === undefined && request.client_certificate === undefined
              ? {}
              : {
                  tls: {
                    version: request.tls_version ?? 'TLSv1.3',
                    cipherSuite: 'TLS_AES_128_GCM_SHA256',
                    sni: '',
                    ...(request.client_certificate === undefined
                      ? {}
                      : { clientCertificate: () => clientCertificateOf(request.client_certificate!) }),
                  },
                }),
          },
          request: {
            method: request.method,
            scheme: request.scheme,
            host: request.host ?? endpointUrl.hostname,
            port: request.scheme === 'https' ? '443' : '80',
            path: request.path,
            query: request.query,
            headers,
            ...(body === undefined ? {} : { body }),
            ...(mcp === undefined ? {} : { mcp }),
          },
        },
        ports,
      );
      // on_tcp_connect runs first (each golden request is on its own connection); when it ends the connection, `expect`
      // describes that and the request phase never runs.
      const connectResult =
        policy.phases.on_tcp_connect.length > 0 ? await evaluate(policy, 'on_tcp_connect', context, ports) : undefined;
      const connectEnded = connectResult !== undefined && connectResult.outcome.kind !== 'continue';
      const requestResult = connectEnded ? connectResult : await evaluate(policy, 'on_http_request', context, ports);
      // Every attempt runs all phases; expectations apply to the last one.
      const last = attempt === request.repeat;
      const label = last ? `${request.name}: ${JSON.stringify(context.trace)}` : request.name;
      if (last)
        checkOutcome(
          label,
          connectEnded ? 'on_tcp_connect' : 'on_http_request',
          requestResult,
          context,
          request.expect,
        );
      if (connectEnded) {
        expect(request.response, `${label}: the connection was closed, so there is no response phase`).toBeUndefined();
        continue;
      }
      if (request.response !== undefined || request.expect_response !== undefined) {
        const upstream = request.response ?? { status: 200, headers: {} };
        context.response =
          requestResult.outcome.kind === 'respond'
            ? { status: requestResult.outcome.response.status, headers: requestResult.outcome.response.headers }
            : {
                status: upstream.status,
                headers: new Map(
                  Object.entries(upstream.headers).map(([name, value]) => [name.toLowerCase(), [value]]),
                ),
              };
        if (requestResult.outcome.kind !== 'respond') {
          // As the data plane does: circuit breakers learn the upstream's result (5xx counts as a failure).
          for (const key of context.directives.circuitBreakerKeys ?? [])
            ports.circuitBreakers.record(key, upstream.status >= 500, ports.clock.now());
        }
        const responseResult = await evaluate(policy, 'on_http_response', context, ports);
        if (last && request.expect_response !== undefined)
          checkOutcome(label, 'on_http_response', responseResult, context, request.expect_response);
      }
      // As the data plane does when the response has ended: usage read from the provider's answer, then the work left
      // for the end of the exchange (rate-limit costs) runs before the next request.
      if (request.ai_usage !== undefined && context.aiGateway !== undefined)
        recordUsage(context.aiGateway, {
          input: request.ai_usage.input_tokens,
          output: request.ai_usage.output_tokens,
        });
      await settleExchange(context);
    }
    expect(typeMismatches.splice(0), `${request.name}: checker and evaluator disagree`).toEqual([]);
  }
  if (testCase.expect_side_calls !== undefined) {
    const sent = ports.httpRequests.sent.map((call) =>
      normalize({ ...call, headers: Object.fromEntries(call.headers) }),
    );
    expect(sent).toHaveLength(testCase.expect_side_calls.length);
    testCase.expect_side_calls.forEach((want, index) => expect(sent[index]).toMatchObject(want));
  }
}

/**
 * The ngrok corpus (test/ngrok-corpus, README there): every Traffic Policy ngrok publishes for HTTP endpoints, as
 * published, with its source. Supported ones must validate and, where ngrok documents the behaviour, behave so; the
 * others must be refused and say why, so one that starts validating (an action landed) has its status updated.
 */
/** A certificate naming only its subject and issuer; every other conn.tls.client.* member is empty. */
function clientCertificateOf(names: {
  subject_common_name: string;
  issuer_common_name: string;
}): ClientCertificateFacts {
  const name = (commonName: string) => ({
    commonName,
    country: [],
    locality: [],
    organization: [],
    organizationalUnit: [],
    postalCode: [],
    province: [],
    streetAddress: [],
  });
  return {
    subject: name(names.subject_common_name),
    issuer: name(names.issuer_common_name),
    san: { dnsNames: [], emailAddresses: [], ipAddresses: [], uris: [] },
    serialNumber: '',
    signatureAlgorithm: '',
    pem: '',
    notBeforeMs: 0,
    notAfterMs: 0,
  };
}

describe('ngrok corpus', () => {
  it.each(corpusCases)('%s', async (file, testCase) => {
    expect(testCase.source, `${file} names its source`).toBeDefined();
    expect(testCase.status, `${file} has a status`).toBeDefined();
    let policy = testCase.policy;
    for (const [placeholder, value] of Object.entries(testCase.placeholders))
      policy = policy.replaceAll(placeholder, value);
    const withPlaceholders = { ...testCase, policy };
    if (testCase.status === 'supported') {
      await runValidCase(withPlaceholders, false);
      return;
    }
    expect(testCase.reason, `${file}: a policy that is not supported says why`).toBeDefined();
    expect(testCase.requests, `${file}: only supported policies run requests`).toEqual([]);
    const result = validatePolicy(policy, {
      ...policyOptionsFor(testCase.endpoint.type, testCase.endpoint.url),
      knownSecrets: secretNames(testCase),
    });
    expect(result.errors.length, `${file} is ${testCase.status} but validates`).toBeGreaterThan(0);
  });

  it('holds the published policies, most of them supported', () => {
    const supported = corpusCases.filter(([, testCase]) => testCase.status === 'supported');
    expect(corpusCases.length).toBeGreaterThanOrEqual(150);
    expect(supported.length).toBeGreaterThanOrEqual(163);
  });
});

/**
 * The checker and the evaluator agree (issue 12): every node of every rule expression of the golden policies must
 * evaluate to a value of the type the checker inferred for it. Save time and the dashboard editor run the same
 * checker (validatePolicy), so this holds the editor's answers against what the gateway computes.
 */
const typeMismatches: string[] = [];
const auditedNodes = new WeakSet<object>();
let auditedNodeCount = 0;
let auditedEvaluations = 0;

interface CheckedNode {
  start: number;
  end: number;
  checkedType?: { name: string; matchesValueType(value: unknown, evaluator: unknown): boolean };
  evaluate(evaluator: unknown, ast: unknown, context: unknown): unknown;
}

function auditCheckedTypes(policy: CompiledPolicy): void {
  for (const rules of Object.values(policy.phases)) {
    for (const rule of rules) {
      for (const expression of rule.expressions) {
        walkCelAst(celAstOf(expression), (walked) => {
          const node = walked as unknown as CheckedNode;
          if (auditedNodes.has(node)) return;
          auditedNodes.add(node);
          auditedNodeCount++;
          const inner = node.evaluate.bind(node);
          node.evaluate = function auditedEvaluate(evaluator, ast, context) {
            const value = inner(evaluator, ast, context);
            auditedEvaluations++;
            const type = node.checkedType;
            if (type !== undefined && !(value instanceof Promise) && !type.matchesValueType(value, evaluator)) {
              const part = expression.source.slice(node.start, node.end);
              typeMismatches.push(
                `${expression.source}: \`${part}\` checked as ${type.name}, evaluated ${String(value)}`,
              );
            }
            return value;
          };
        });
      }
    }
  }
}

describe('checker and evaluator agree on the golden cases', () => {
  it('audited the nodes of every rule expression', () => {
    // Runs after the golden cases (vitest keeps file order); a zero here means the audit saw nothing.
    expect(auditedNodeCount).toBeGreaterThan(200);
    expect(auditedEvaluations).toBeGreaterThan(1000);
  });
});

function checkOutcome(
  label: string,
  phase: Phase,
  result: Awaited<ReturnType<typeof evaluate>>,
  context: ReturnType<typeof createPolicyContext>,
  want: z.infer<typeof outcomeExpectation>,
) {
  const { outcome } = result;
  expect(outcome.kind, label).toBe(want.kind);
  if (outcome.kind === 'respond') {
    if (want.status !== undefined) expect(outcome.response.status, label).toBe(want.status);
    if (want.body !== undefined) expect(outcome.response.body, label).toBe(want.body);
    for (const [name, value] of Object.entries(want.headers ?? {}))
      expect(outcome.response.headers.get(name.toLowerCase())?.join(', '), `${label} header ${name}`).toBe(value);
    for (const name of want.absent_headers ?? [])
      expect(outcome.response.headers.has(name.toLowerCase()), `${label} header ${name}`).toBe(false);
    if (want.error_code !== undefined) expect(outcome.errorCode, label).toBe(want.error_code);
  } else if (phase === 'on_http_response' && context.response !== undefined) {
    // A response phase that continues leaves the upstream response in place, possibly with changed headers.
    if (want.status !== undefined) expect(context.response.status, label).toBe(want.status);
    for (const [name, value] of Object.entries(want.headers ?? {}))
      expect(context.response.headers.get(name.toLowerCase())?.join(', '), `${label} header ${name}`).toBe(value);
    for (const name of want.absent_headers ?? [])
      expect(context.response.headers.has(name.toLowerCase()), `${label} header ${name}`).toBe(false);
  }
  if (outcome.kind === 'forward' && want.url !== undefined) expect(outcome.url, label).toBe(want.url);
  if (want.decision !== undefined) {
    if (want.decision === null) expect(result.decision, label).toBeUndefined();
    else
      expect(result.decision, label).toMatchObject({
        rule_index: want.decision.rule_index,
        action: want.decision.action,
        ...(want.decision.phase === undefined ? {} : { phase: want.decision.phase }),
      });
  }
  for (const [name, value] of Object.entries(want.request_headers ?? {}))
    expect(context.request.headers.get(name.toLowerCase())?.join(', '), `${label} upstream header ${name}`).toBe(value);
  if (want.request_path !== undefined) expect(context.request.path, label).toBe(want.request_path);
  if (want.request_query !== undefined) expect(context.request.query, label).toBe(want.request_query);
  if (want.vars !== undefined) expect(normalize(context.vars), label).toEqual(want.vars);
  if (want.logs !== undefined) expect(context.logs, label).toEqual(want.logs);
  if (want.runtime_errors !== undefined)
    expect(context.runtimeErrors.length, `${label} ${JSON.stringify(context.runtimeErrors)}`).toBe(want.runtime_errors);
  if (want.directives !== undefined) expect(normalize(context.directives), label).toMatchObject(want.directives);
  if (want.results !== undefined) expect(normalize(context.actionResults), label).toMatchObject(want.results);
  if (want.trace_errors !== undefined)
    expect(context.trace.filter((rule) => rule.phase === phase && rule.error !== undefined).length, label).toBe(
      want.trace_errors,
    );
}

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Whether the object behind `reference` is gone after a few full collections. */
async function isCollected(reference: WeakRef<object>): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    // A WeakRef target stays alive until the end of the job that created or dereferenced it.
    await new Promise((resolve) => setTimeout(resolve, 0));
    collectGarbage();
    if (reference.deref() === undefined) return true;
  }
  return false;
}

describe('a compiled policy keeps nothing of its compilation alive', () => {
  // Data planes hold one compiled policy per endpoint for as long as the endpoint exists: the parsed document (YAML
  // nodes, line index: ~23 KB a policy) and the issue list must be collectable once compile returns, whatever the
  // runners capture.
  it.each(validCases)('%s', async (_file, testCase) => {
    const { policy, document } = compileWithoutKeepingTheDocument(testCase);
    expect(await isCollected(document)).toBe(true);
    expect(Object.isFrozen(policy.phases)).toBe(true);
  });
});

/** Compiles a case from its parsed document and returns only a weak reference to that document. */
function compileWithoutKeepingTheDocument(testCase: GoldenCase) {
  const parsed: ParsedPolicy = parse(testCase.policy);
  const policy = compile(parsed, {
    ...policyOptionsFor(testCase.endpoint.type, testCase.endpoint.url),
    internalEndpointUrls: new Set(testCase.internal_endpoints),
  });
  return { policy, document: new WeakRef(parsed) };
}

/** BigInts and patterns (RE2 or RegExp) made comparable with plain YAML values. */
function normalize(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, item: unknown) =>
      typeof item === 'bigint'
        ? Number(item)
        : item instanceof RegExp || item instanceof PolicyRegex
          ? item.source
          : item,
    ),
  ) as unknown;
}
