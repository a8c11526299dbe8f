import { formatPolicyTestReport, PolicyTestCasesSchema, type PolicyTestCase } from '@gatehouse/contracts';
import { describe, expect, it } from 'vitest';
import { compile, runPolicyTests } from '../src/index.js';

/** Golden cases for the policy test runner: a small cloud policy with one rule of each kind a test asserts on. */
const policy = compile(
  `
on_http_request:
  - name: block admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions:
      - type: deny
        config: { status_code: 403 }
  - name: office only after hours
    expressions: ["req.url.path == '/reports' && !('office' in conn.client_ip.categories) && timestamp(time.now).getHours() >= 18"]
    actions:
      - type: custom-response
        config: { status_code: 451, body: "closed for the night", headers: { x-why: after-hours } }
  - name: limit per client
    expressions: ["req.url.path.startsWith('/api')"]
    actions:
      - type: rate-limit
        config: { name: per-client, algorithm: sliding_window, capacity: 3, rate: 60s, bucket_key: [conn.client_ip] }
      - type: add-headers
        config: { headers: { "x-tenant-seen": "\${getReqHeader('x-tenant')[0]}" } }
      - type: forward-internal
        config: { url: https://api.internal }
  - name: everything else
    actions:
      - type: forward-internal
        config: { url: https://web.internal }
on_http_response:
  - actions:
      - type: add-headers
        config: { headers: { x-served-by: gatehouse } }
`,
  { endpointType: 'cloud' },
);

function cases(raw: unknown): PolicyTestCase[] {
  return PolicyTestCasesSchema.parse(raw);
}

const options = { endpoint: { url: 'https://shop.example.com', type: 'cloud' as const } };

describe('runPolicyTests', () => {
  it('passes a deny with its status, deciding rule (by name and by index) and action', async () => {
    const report = await runPolicyTests(
      policy,
      cases([
        {
          name: 'admin is denied',
          request: { path: '/admin/users' },
          expect: { status: 403, decision: { rule: 'block admin', action: 'deny' }, forwarded_to: null },
        },
        {
          name: 'by index',
          request: { method: 'post', url: 'https://shop.example.com/admin' },
          expect: { decision: { rule: 0, phase: 'on_http_request' } },
        },
      ]),
      options,
    );
    expect(report).toMatchObject({ passed: 2, failed: 0 });
    expect(report.results[0]!.actual).toEqual({
      status: 403,
      decision: { phase: 'on_http_request', rule_index: 0, rule_name: 'block admin', action: 'deny' },
      forwarded_to: null,
    });
  });

  it('observes forwarding, headers added for the upstream and by the response phase', async () => {
    const report = await runPolicyTests(
      policy,
      cases([
        {
          name: 'api goes to the api service with the tenant header',
          request: { path: '/api/orders?limit=5', headers: { 'X-Tenant': 'acme' } },
          expect: {
            status: 200,
            forwarded_to: 'https://api.internal',
            decision: { rule: 'limit per client', action: 'forward-internal' },
            request_headers: { 'x-tenant-seen': 'acme', 'x-missing': null },
            response_headers: { 'x-served-by': 'gatehouse' },
          },
        },
        {
          name: 'the rest goes to the web service',
          request: { path: '/' },
          expect: { forwarded_to: 'https://web.internal', response_headers_contain: { 'x-served-by': 'gate' } },
        },
      ]),
      options,
    );
    expect(formatPolicyTestReport(report)).toEqual([
      'PASS api goes to the api service with the tenant header',
      'PASS the rest goes to the web service',
      '2 passed, 0 failed',
    ]);
  });

  it('rate_limited_after N: the first N pass and request N+1 is 429, with fresh counters per case', async () => {
    const exact = { name: 'three per minute', request: { path: '/api/x' }, expect: { rate_limited_after: 3 } };
    const report = await runPolicyTests(
      policy,
      cases([
        exact,
        // The same client again: had counters leaked from the first case, its first request would be the 429.
        { ...exact, name: 'again, from zero' },
        { name: 'wrong N', request: { path: '/api/x' }, expect: { rate_limited_after: 5 } },
        { name: 'never limited', request: { path: '/other' }, expect: { rate_limited_after: 2 } },
      ]),
      options,
    );
    expect(report.results.map((result) => result.passed)).toEqual([true, true, false, false]);
    expect(report.results[0]!.actual.first_429).toBe(4);
    expect(report.results[2]!.mismatches).toEqual([
      { field: 'rate_limited_after', expected: 'request 6 to be the first answered 429', actual: 'request 4 was' },
    ]);
    expect(report.results[3]!.mismatches).toEqual([
      {
        field: 'rate_limited_after',
        expected: 'request 3 to be the first answered 429',
        actual: 'no 429 in 3 requests',
      },
    ]);
  });

  it('uses the fixed clock and the stated IP categories', async () => {
    const report = await runPolicyTests(
      policy,
      cases([
        {
          name: 'at night from outside',
          request: { path: '/reports', time: '2026-03-02T22:00:00Z' },
          expect: { status: 451, body_contains: 'closed', response_headers: { 'x-why': 'after-hours' } },
        },
        {
          name: 'at night from the office',
          request: { path: '/reports', time: '2026-03-02T22:00:00Z', client_ip_categories: ['office'] },
          expect: { forwarded_to: 'https://web.internal' },
        },
        {
          name: 'by day (default time is midnight UTC, so give one)',
          request: { path: '/reports', time: '2026-03-02T10:00:00Z' },
          expect: { status: 200 },
        },
      ]),
      options,
    );
    expect(formatPolicyTestReport(report).at(-1)).toBe('3 passed, 0 failed');
  });

  it('explains every failed expectation as expected vs actual', async () => {
    const report = await runPolicyTests(
      policy,
      cases([
        {
          name: 'admin is allowed (wrong)',
          request: { path: '/admin' },
          expect: {
            status: 200,
            decision: { rule: 'everything else', action: 'forward-internal' },
            forwarded_to: 'https://web.internal',
            response_headers: { 'x-served-by': 'nginx', 'content-type': 'text/html' },
            body_contains: 'welcome',
          },
        },
        { name: 'web is decided by nobody (wrong)', request: { path: '/' }, expect: { decision: null } },
      ]),
      options,
    );
    expect(report).toMatchObject({ passed: 0, failed: 2 });
    expect(formatPolicyTestReport(report)).toEqual([
      'FAIL admin is allowed (wrong)',
      '     status: expected 200, got 403',
      '     decision: expected forward-internal by rule "everything else", got deny by rule 0 "block admin" in on_http_request',
      '     forwarded_to: expected https://web.internal, got not forwarded (403)',
      '     response_headers.x-served-by: expected "nginx", got "gatehouse"',
      '     response_headers.content-type: expected "text/html", got absent',
      '     body_contains: expected to contain "welcome", got ""',
      'FAIL web is decided by nobody (wrong)',
      '     decision: expected no deciding rule, got forward-internal by rule 3 "everything else" in on_http_request',
      '0 passed, 2 failed',
    ]);
  });

  it('reports a closed connection, and an internal endpoint continuing to its upstream', async () => {
    const closing = compile(
      `
on_tcp_connect:
  - expressions: ["conn.client_ip == '198.51.100.7'"]
    actions: [{ type: close-connection }]
on_http_request:
  - actions: [{ type: forward-internal, config: { url: https://web.internal } }]
`,
      { endpointType: 'cloud' },
    );
    const closed = await runPolicyTests(
      closing,
      cases([{ name: 'blocked address', request: { client_ip: '198.51.100.7' }, expect: { status: 200 } }]),
      options,
    );
    expect(formatPolicyTestReport(closed)).toEqual([
      'FAIL blocked address',
      '     status: expected 200, got the connection closed',
      '0 passed, 1 failed',
    ]);
    const internal = compile('on_http_request: []', { endpointType: 'internal' });
    const continued = await runPolicyTests(
      internal,
      cases([{ name: 'reaches the upstream', request: {}, expect: { forwarded_to: 'upstream', decision: null } }]),
      { endpoint: { url: 'https://svc.internal', type: 'internal' } },
    );
    expect(continued).toMatchObject({ passed: 1, failed: 0 });
  });
});

describe('PolicyTestCasesSchema', () => {
  it('refuses unknown fields, duplicate names, empty expectations and path with url, saying where', () => {
    const result = PolicyTestCasesSchema.safeParse([
      { name: 'a', request: { path: '/x', url: 'https://a.example.com/' }, expect: { status: 200 } },
      { name: 'a', request: {}, expect: {} },
      { name: 'b', request: { pth: '/' }, expect: { status: 200 } },
    ]);
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['0.request.url', 'give path or url, not both'],
      ['1.expect', expect.stringContaining('expect at least one thing')],
      ['2.request', 'Unrecognized key: "pth"'],
      ['1.name', '"a" is already the name of test 0'],
    ]);
  });

  it('bounds what one run may cost', () => {
    const heavy = Array.from({ length: 6 }, (_, index) => ({
      name: `case ${index}`,
      request: {},
      expect: { rate_limited_after: 1000 },
    }));
    const result = PolicyTestCasesSchema.safeParse(heavy);
    expect(result.error?.issues.map((issue) => issue.message)).toEqual([
      'the cases need 6006 evaluations (rate_limited_after N counts N+1); at most 5000',
    ]);
    expect(PolicyTestCasesSchema.safeParse(heavy.slice(0, 4)).success).toBe(true);
  });

  it('runs a sign-in policy offline: a request without a session is sent to the provider, logout answers itself', async () => {
    const signIn = compile(
      `
on_http_request:
  - actions:
      - type: openid-connect
        config: { issuer_url: "https://idp.example.com", client_id: gatehouse, client_secret: s3cret }
  - actions:
      - type: forward-internal
        config: { url: https://web.internal }
`,
      { endpointType: 'cloud' },
    );
    const report = await runPolicyTests(
      signIn,
      cases([
        {
          name: 'no session',
          request: { path: '/reports' },
          expect: {
            status: 302,
            decision: { rule: 0, action: 'openid-connect' },
            response_headers_contain: { location: 'https://idp.example.com/authorize?' },
          },
        },
        { name: 'logout', request: { path: '/ngrok/logout' }, expect: { status: 200, forwarded_to: null } },
      ]),
      options,
    );
    expect(report.results.map((result) => result.mismatches)).toEqual([[], []]);
  });
});
