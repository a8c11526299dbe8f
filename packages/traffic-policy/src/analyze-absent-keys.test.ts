import { describe, expect, it } from 'vitest';
import { findAbsentKeyRisks } from './analyze-absent-keys.js';
import { validatePolicy } from './validate.js';

const risks = (source: string, guards = source) => findAbsentKeyRisks(source, guards);

describe('findAbsentKeyRisks', () => {
  it('flags indexing a header, cookie or query map with a key the request may lack', () => {
    expect(risks("req.headers['x-api-key'][0] != 'k'")).toEqual([
      { offset: 0, message: expect.stringContaining("hasReqHeader('x-api-key')") as string },
    ]);
    expect(risks("res.headers['x'] == ['1']")[0]?.message).toContain("getResHeader('x')");
    expect(risks("req.cookies['session'][0].value == 'a'")[0]?.message).toContain("hasReqCookie('session')");
    expect(risks("req.cookies['session'][0].value == 'a'")[0]?.message).toContain('an empty cookie when absent');
    expect(risks("req.url.query_params['id'][0] == '1'")[0]?.message).toContain("hasQueryParam('id')");
    expect(risks('req.headers.authorization == ["x"]')[0]?.message).toContain("hasReqHeader('authorization')");
    expect(risks('req.headers[vars.name] == ["x"]')[0]?.message).toContain('getReqHeader(name)');
  });

  it('flags a header-map key with capitals, which never matches even when guarded (ngrok keys are lower-case)', () => {
    const guarded = "hasReqHeader('X-Api-Version') && '2' in req.headers['X-Api-Version']";
    expect(risks(guarded)).toEqual([
      {
        offset: guarded.indexOf('req.headers'),
        message: expect.stringContaining("req.headers['x-api-version']") as string,
      },
    ]);
    expect(risks("'2' in req.headers['x-api-version']", "hasReqHeader('x-api-version')")).toEqual([]);
  });

  it('flags [i] on a lookup list, which is empty when the key is absent', () => {
    const [risk] = risks("getReqHeader('Authorization')[0].startsWith('Bearer ')");
    expect(risk?.offset).toBe(0);
    expect(risk?.message).toContain("hasReqHeader('Authorization') && getReqHeader('Authorization')[0]");
    expect(risk?.message).toContain('getReqBearerToken()');
    expect(risks("getQueryParam('q')[0]")).toHaveLength(1);
    expect(risks("getResHeader('x')[0] == 'x'")).toHaveLength(1);
  });

  it('accepts the guarded and total forms', () => {
    for (const safe of [
      "hasReqHeader('X-Api-Key') && req.headers['x-api-key'][0] == 'k'",
      "'x-api-key' in req.headers && req.headers['x-api-key'][0] == 'k'",
      'has(req.headers.authorization) && req.headers.authorization[0] == "x"',
      "size(getReqHeader('a')) > 0 && getReqHeader('a')[0] == 'x'",
      "getReqHeader('a').size() > 0 && getReqHeader('a')[0] == 'x'",
      "'k' in getReqHeader('x-api-key')",
      "getReqHeader('x-api-key').exists(v, v == 'k')",
      "req.headers.size() > 0 && req.headers.exists(k, k == 'a')",
      "hasQueryParam('id') && req.url.query_params['id'][0] == '1'",
      "getReqBearerToken() != ''",
      // ngrok's getReqCookie returns a cookie object, empty when absent: reading it never fails.
      "getReqCookie('session').value == 's1'",
    ])
      expect(risks(safe), safe).toEqual([]);
  });

  it('flags an MCP tool argument the call may lack (issue 14: argument-level rules)', () => {
    const [risk] = risks("mcp.tool == 'run_query' && string(mcp.arguments.sql).contains('DROP')");
    expect(risk?.offset).toBe(34);
    expect(risk?.message).toContain("'sql' in mcp.arguments");
    expect(risk?.message).toContain('POLICY_RUNTIME_ERROR');
    expect(risks("mcp.arguments['path'].startsWith('/etc')")[0]?.message).toContain("'path' in mcp.arguments");
    for (const safe of [
      "'sql' in mcp.arguments && string(mcp.arguments.sql).contains('DROP')",
      'has(mcp.arguments.sql) && string(mcp.arguments.sql).contains("DROP")',
      "mcp.arguments.size() > 0 && mcp.arguments.exists(k, k == 'sql')",
    ])
      expect(risks(safe), safe).toEqual([]);
  });

  it('counts a guard only when it runs first (the rule text before it)', () => {
    expect(risks("getReqHeader('a')[0] == 'x'", "hasReqHeader('a')\ngetReqHeader('a')[0] == 'x'")).toEqual([]);
    expect(risks("getReqHeader('a')[0] == 'x'", "getReqHeader('a')[0] == 'x'")).toHaveLength(1);
    // Cookie and query names are case-sensitive: a guard on another spelling does not count.
    expect(risks("req.cookies['Theme'][0].value == 'x'", "hasReqCookie('theme')\nreq.cookies['Theme']")).toHaveLength(
      1,
    );
  });
});

describe('validation warns (never errors) about expressions that can throw on absent keys', () => {
  const policy = (expressions: string[], body = 'denied') => `
on_http_request:
  - expressions: ${JSON.stringify(expressions)}
    actions:
      - type: deny
        config: { body: ${JSON.stringify(body)} }
  - actions:
      - type: custom-response
`;

  it('positions the warning at the access, inside the expression', () => {
    const result = validatePolicy(policy(["req.method == 'GET' && req.headers['x-api-key'][0] != 'k'"]), {
      endpointType: 'cloud',
    });
    expect(result.valid).toBe(true);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([
      expect.objectContaining({
        code: 'POLICY_EXPRESSION_MAY_FAIL',
        severity: 'warning',
        path: '/on_http_request/0/expressions/0',
        line: 3,
        column: 43,
      }),
    ]);
  });

  it("warns about ${} and bucket keys, which the rule's expressions can guard", () => {
    const unguarded = validatePolicy(policy(["req.method == 'GET'"], "no ${getQueryParam('q')[0]}"), {
      endpointType: 'cloud',
    });
    expect(unguarded.warnings.map((issue) => issue.path)).toEqual(['/on_http_request/0/actions/0/config/body']);
    const guarded = validatePolicy(policy(["hasQueryParam('q')"], "no ${getQueryParam('q')[0]}"), {
      endpointType: 'cloud',
    });
    expect(guarded.warnings).toEqual([]);
  });
});
