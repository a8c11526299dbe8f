import { describe, expect, it } from 'vitest';
import { compileExpression } from './cel-environment.js';
import { compile, createPolicyContext, evaluate, validatePolicy, type HeaderMap } from './index.js';
import { createMemoryPorts } from './testing/index.js';
import { PolicyRegex } from './regex.js';

/** Issue 12, item 2: every policy regex is RE2 (linear time, ngrok's syntax), and a bad literal fails at save time. */

function requestInput(path: string, query = '', headers: HeaderMap = new Map()) {
  return {
    endpoint: { id: 'ep_1', url: 'https://svc.internal', host: 'svc.internal', type: 'internal' as const },
    connection: { clientIp: '10.1.2.3', clientPort: 40000, serverIp: '127.0.0.1', serverPort: 443 },
    request: { method: 'GET', scheme: 'https' as const, host: 'svc.internal', port: '443', path, query, headers },
  };
}

function evaluateExpression(source: string, path: string): unknown {
  const check = compileExpression(source, 'on_http_request');
  if (!check.ok) throw new Error(check.message);
  return check.expression.evaluate(createPolicyContext(requestInput(path), createMemoryPorts()));
}

async function run(policy: string, path: string, query = '') {
  const compiled = compile(policy, { endpointType: 'internal' });
  const ports = createMemoryPorts();
  const context = createPolicyContext(requestInput(path, query), ports);
  const result = await evaluate(compiled, 'on_http_request', context, ports);
  return { result, context };
}

describe('matches() runs RE2 in linear time', () => {
  it('answers false for the catastrophic-backtracking pattern instead of freezing the process', () => {
    // With JavaScript's RegExp this took 5.4 s for 30 a's and doubles with every further a.
    const expression = "req.url.path.matches('^/(a+)+$')";
    expect(evaluateExpression(expression, `/${'a'.repeat(30)}!`)).toBe(false);
    expect(evaluateExpression(expression, `/${'a'.repeat(100_000)}!`)).toBe(false);
    expect(evaluateExpression(expression, `/${'a'.repeat(100_000)}`)).toBe(true);
  });

  it('keeps the find-replace and url-rewrite patterns linear too', () => {
    const regex = PolicyRegex.compile('(a+)+$');
    if (!(regex instanceof PolicyRegex)) throw new Error(regex.message);
    const text = `${'a'.repeat(100_000)}!`;
    expect(regex.test(text)).toBe(false);
    expect(text.replace(regex, 'x')).toBe(text);
  });

  it("accepts ngrok's RE2 syntax: (?i), (?P<name>), \\A, \\z and POSIX classes", () => {
    const cases: [string, string, boolean][] = [
      ["req.url.path.matches('(?i)^/ADMIN')", '/admin/users', true],
      ["req.url.path.matches('^/(?P<version>v[0-9]+)/')", '/v2/items', true],
      ["req.url.path.matches('\\\\A/health\\\\z')", '/health', true],
      ["req.url.path.matches('\\\\A/health\\\\z')", '/health/x', false],
      ["req.url.path.matches('^/[[:alpha:]]+$')", '/items', true],
      ["req.url.path.matches('^/[[:alpha:]]+$')", '/items2', false],
      ["matches(req.url.path, '^/v[[:digit:]]$')", '/v1', true],
      ["req.url.matches('(?i)HTTPS://SVC')", '/x', true],
      ["conn.client_ip.matches('^10\\\\.')", '/x', true],
      ["dyn(req.url.path).matches('^/x$')", '/x', true],
    ];
    for (const [expression, path, expected] of cases) {
      expect(evaluateExpression(expression, path), `${expression} on ${path}`).toBe(expected);
    }
  });

  it('refuses an invalid literal pattern at save time with its position', () => {
    const source = "req.url.path.startsWith('/a') && req.url.path.matches('^/(ab')";
    const check = compileExpression(source, 'on_http_request');
    expect(check).toMatchObject({ ok: false });
    if (check.ok) return;
    expect(check.message).toMatch(/invalid regular expression "\^\/\(ab": missing closing \)/);
    // RE2 names the fragment it could not parse (here the whole pattern); the offset points at it inside the literal.
    expect(check.offset).toBe(source.indexOf('^/(ab'));
  });

  it('refuses JavaScript-only syntax that RE2 does not have (look-ahead, back-references)', () => {
    for (const pattern of ['^/(?=admin)', '(a)\\\\1']) {
      const check = compileExpression(`req.url.path.matches('${pattern}')`, 'on_http_request');
      expect(check.ok, pattern).toBe(false);
    }
  });

  it('reports the bad pattern of a policy with line and column', () => {
    const result = validatePolicy(
      [
        'on_http_request:',
        '  - expressions:',
        '      - "req.url.path.matches(\'[z-a]\')"',
        '    actions:',
        '      - type: deny',
      ].join('\n'),
      { endpointType: 'internal' },
    );
    const issue = result.errors.find((candidate) => candidate.code === 'POLICY_EXPRESSION_INVALID');
    expect(issue?.message).toMatch(/invalid character class range/);
    expect(issue).toMatchObject({ line: 3 });
    expect(issue!.column).toBeGreaterThan(8);
  });

  it('makes a pattern built at runtime that does not compile an error, never a silent non-match', () => {
    const check = compileExpression('req.url.path.matches(req.url.query)', 'on_http_request');
    if (!check.ok) throw new Error(check.message);
    const context = createPolicyContext(requestInput('/x', '('), createMemoryPorts());
    expect(() => check.expression.evaluate(context)).toThrow(/invalid regular expression/);
  });
});

describe('redirect, url-rewrite and find-replace use RE2', () => {
  it('refuses an invalid from at save time', () => {
    for (const type of ['redirect', 'url-rewrite']) {
      const result = validatePolicy(
        `on_http_request:\n  - actions:\n      - type: ${type}\n        config: { from: "(?<!x)a", to: /b }\n`,
        { endpointType: 'internal' },
      );
      const issue = result.errors.find((candidate) => candidate.path.endsWith('/from'));
      expect(issue, type).toMatchObject({ code: 'POLICY_CONFIG_INVALID' });
      expect(issue?.message).toMatch(/RE2/);
    }
    const findReplace = validatePolicy(
      'on_http_request:\n  - actions:\n      - type: request-body-find-replace\n' +
        '        config: { replacements: [{ from: "a{2,1}", to: b }] }\n',
      { endpointType: 'internal' },
    );
    expect(findReplace.errors.map((issue) => issue.code)).toContain('POLICY_CONFIG_INVALID');
  });

  it('expands numbered and named groups in url-rewrite and redirect', async () => {
    const rewrite = await run(
      'on_http_request:\n  - actions:\n      - type: url-rewrite\n' +
        '        config: { from: "/api/(?P<version>v[0-9]+)/(\\\\w+)", to: "/$version/svc/$2" }\n',
      '/api/v3/users',
    );
    expect(rewrite.context.request.path).toBe('/v3/svc/users');

    const redirect = await run(
      'on_http_request:\n  - actions:\n      - type: redirect\n' +
        '        config: { from: "(?i)https://svc.internal/OLD/(.*)", to: "https://new.example/$1" }\n',
      '/old/a/b',
    );
    expect(redirect.result.outcome).toMatchObject({
      kind: 'respond',
      response: { status: 302, headers: new Map([['location', ['https://new.example/a/b']]]) },
    });
  });

  it('replaces every match for find-replace, like the global JavaScript replace it replaces', () => {
    const regex = PolicyRegex.compile('(?P<d>\\d)');
    if (!(regex instanceof PolicyRegex)) throw new Error(regex.message);
    expect('a1b2'.replace(regex, '<$d$$>')).toBe('a<1$>b<2$>');
    expect('a1b2'.replace(regex, '[$0|$&|$<d>|${1}|$9]')).toBe('a[1|1|1|1|]b[2|2|2|2|]');
    const empty = PolicyRegex.compile('x*');
    if (!(empty instanceof PolicyRegex)) throw new Error(empty.message);
    expect('abc'.replace(empty, '-')).toBe('abc'.replace(/x*/g, '-'));
  });
});
