// Policy test cases (issue 17): a request and what the policy must do with it. Stored on each policy version by the
// API, run by the engine's `runPolicyTests` in the API at save, in the CLI (`policy test`, `apply`) and in the
// dashboard editor as you type. The schema has no defaults, so what a client sends is exactly what is stored and
// returned; the runner fills the defaults in (documented on each field).
import { z } from 'zod';
import { ClientGeoSchema } from './replay.js';

export const maxPolicyTestCases = 200;
export const maxPolicyTestBodyLength = 64 * 1024;
/** How many identical requests `rate_limited_after` may ask for; each one is a full evaluation. */
export const maxRateLimitedAfter = 1000;
/**
 * Evaluations one run may cost, summed over the cases (`rate_limited_after: N` costs N+1): the API runs the cases on
 * every save, so their cost is bounded like the policy's own.
 */
export const maxPolicyTestEvaluations = 5000;

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/, 'must be an HTTP header name');
const headerValue = z.string().max(8192);

export const PolicyTestRequestSchema = z
  .strictObject({
    method: z
      .string()
      .regex(/^[A-Za-z]{1,20}$/, 'must be an HTTP method, e.g. GET')
      .optional()
      .meta({ description: 'HTTP method (default GET)' }),
    path: z
      .string()
      .max(8192)
      .regex(/^\//, 'must start with /, e.g. /v1/items?limit=10')
      .optional()
      .meta({ description: "Path and query on the endpoint's own host (default /); give path or url, not both" }),
    url: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL, e.g. https://api.example.com/v1' })
      .max(8192)
      .optional()
      .meta({ description: 'Absolute URL, when the host or scheme matters; give path or url, not both' }),
    headers: z
      .record(headerName, z.union([headerValue, z.array(headerValue).max(50)]))
      .optional()
      .meta({ description: 'Request headers; a list repeats the header' }),
    body: z.string().max(maxPolicyTestBodyLength).optional().meta({ description: 'Request body (UTF-8)' }),
    client_ip: z
      .union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' })
      .optional()
      .meta({ description: 'Client address (default 203.0.113.10)' }),
    client_ip_categories: z.array(z.string().min(1).max(128)).max(50).optional().meta({
      description:
        "IP categories the client address is in (conn.client_ip.categories); default: the install's categories",
    }),
    client_geo: ClientGeoSchema.optional().meta({
      description:
        'What the geo database says about the client address (conn.geo.*, conn.client_ip.as.*); default: nothing known',
    }),
    time: z.iso
      .datetime({ offset: true, error: 'must be an RFC 3339 time, e.g. 2026-01-01T09:00:00Z' })
      .optional()
      .meta({ description: 'When the request arrives (default: a fixed time, 2026-01-01T00:00:00Z)' }),
  })
  .refine((request) => request.path === undefined || request.url === undefined, {
    message: 'give path or url, not both',
    path: ['url'],
  })
  .meta({ id: 'PolicyTestRequest' });
export type PolicyTestRequest = z.infer<typeof PolicyTestRequestSchema>;

export const PolicyTestDecisionSchema = z
  .strictObject({
    rule: z
      .union([z.string().min(1), z.number().int().min(0)])
      .optional()
      .meta({ description: 'The deciding rule: its name, or its 0-based index in the phase' }),
    action: z.string().min(1).optional().meta({ description: 'The deciding action type, e.g. deny' }),
    phase: z.enum(['on_tcp_connect', 'on_http_request', 'on_http_response']).optional(),
  })
  .meta({ id: 'PolicyTestDecision' });

export const PolicyTestExpectationSchema = z
  .strictObject({
    status: z.number().int().min(100).max(599).optional().meta({ description: 'Status the client receives' }),
    decision: PolicyTestDecisionSchema.nullable()
      .optional()
      .meta({ description: 'The rule and action that decided; null: no rule decided (the request went on)' }),
    forwarded_to: z.string().min(1).nullable().optional().meta({
      description:
        "The internal endpoint URL forward-internal sent it to, `upstream` for an internal endpoint's own upstream; null: not forwarded",
    }),
    request_headers: z
      .record(headerName, headerValue.nullable())
      .optional()
      .meta({ description: 'Headers the upstream receives (exact value; null: absent)' }),
    response_headers: z
      .record(headerName, headerValue.nullable())
      .optional()
      .meta({ description: 'Response headers (exact value; null: absent)' }),
    response_headers_contain: z
      .record(headerName, headerValue)
      .optional()
      .meta({ description: 'Response headers that contain the given text' }),
    body_contains: z.string().max(8192).optional().meta({ description: 'Text the response body contains' }),
    rate_limited_after: z.number().int().min(1).max(maxRateLimitedAfter).optional().meta({
      description:
        'N: the first N identical requests are not answered 429 and request N+1 is (the other expectations apply to the first)',
    }),
  })
  .meta({ id: 'PolicyTestExpectation' });
export type PolicyTestExpectation = z.infer<typeof PolicyTestExpectationSchema>;

export const PolicyTestCaseSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).optional(),
    request: PolicyTestRequestSchema,
    expect: PolicyTestExpectationSchema.refine((expectation) => Object.keys(expectation).length > 0, {
      message: 'expect at least one thing (status, decision, forwarded_to, headers, body_contains, rate_limited_after)',
    }),
  })
  .meta({ id: 'PolicyTestCase' });
export type PolicyTestCase = z.infer<typeof PolicyTestCaseSchema>;

export const PolicyTestCasesSchema = z
  .array(PolicyTestCaseSchema)
  .max(maxPolicyTestCases)
  .superRefine((cases, context) => {
    const evaluations = cases.reduce((sum, testCase) => sum + (testCase.expect.rate_limited_after ?? 0) + 1, 0);
    if (evaluations > maxPolicyTestEvaluations)
      context.addIssue({
        code: 'custom',
        path: [],
        message: `the cases need ${evaluations} evaluations (rate_limited_after N counts N+1); at most ${maxPolicyTestEvaluations}`,
      });
    const seen = new Map<string, number>();
    cases.forEach((testCase, index) => {
      const first = seen.get(testCase.name);
      if (first === undefined) seen.set(testCase.name, index);
      else
        context.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `"${testCase.name}" is already the name of test ${first}`,
        });
    });
  })
  .meta({ id: 'PolicyTestCases' });

/** One expectation that did not hold: which, what was expected and what happened (as text, for people). */
export const PolicyTestMismatchSchema = z
  .object({ field: z.string(), expected: z.string(), actual: z.string() })
  .meta({ id: 'PolicyTestMismatch' });
export type PolicyTestMismatch = z.infer<typeof PolicyTestMismatchSchema>;

export const PolicyTestCaseResultSchema = z
  .object({
    name: z.string(),
    passed: z.boolean(),
    mismatches: z.array(PolicyTestMismatchSchema),
    /** What happened to the (first) request. */
    actual: z.object({
      status: z.number().int(),
      decision: z
        .object({
          phase: z.string(),
          rule_index: z.number().int(),
          rule_name: z.string().nullable(),
          action: z.string(),
        })
        .nullable(),
      forwarded_to: z.string().nullable(),
      /** 1-based number of the first identical request answered 429, when `rate_limited_after` was checked. */
      first_429: z.number().int().nullable().optional(),
    }),
  })
  .meta({ id: 'PolicyTestCaseResult' });
export type PolicyTestCaseResult = z.infer<typeof PolicyTestCaseResultSchema>;

export const PolicyTestReportSchema = z
  .object({
    passed: z.number().int().min(0),
    failed: z.number().int().min(0),
    results: z.array(PolicyTestCaseResultSchema),
  })
  .meta({ id: 'PolicyTestReport' });
export type PolicyTestReport = z.infer<typeof PolicyTestReportSchema>;

/** The report as lines a person reads: one per case, and an indented `field: expected …, got …` per mismatch. */
export function formatPolicyTestReport(report: PolicyTestReport): string[] {
  const lines: string[] = [];
  for (const result of report.results) {
    lines.push(`${result.passed ? 'PASS' : 'FAIL'} ${result.name}`);
    for (const mismatch of result.mismatches)
      lines.push(`     ${mismatch.field}: expected ${mismatch.expected}, got ${mismatch.actual}`);
  }
  lines.push(`${report.passed} passed, ${report.failed} failed`);
  return lines;
}

/** JSON Schema of a list of cases: the dashboard's Monaco model for tests YAML validates and completes with it. */
export const policyTestCasesJsonSchema = z.toJSONSchema(PolicyTestCasesSchema, {
  io: 'input',
  unrepresentable: 'any',
  target: 'draft-2020-12',
});
