import { describe, expect, it } from 'vitest';
import { costMeter } from './cel-cost.js';
import { compileExpression } from './cel-environment.js';
import { compile, createPolicyContext, evaluate, validatePolicy, type HeaderMap } from './index.js';
import { maxEvaluationCost, maxRequestEvaluationCost } from './limits.js';
import { createMemoryPorts } from './testing/index.js';

/** Issue 12, item 3: one request cannot make CEL work or allocate without bound. */

function requestInput(headers: HeaderMap = new Map()) {
  return {
    endpoint: { id: 'ep_1', url: 'https://svc.internal', host: 'svc.internal', type: 'internal' as const },
    connection: { clientIp: '10.1.2.3', clientPort: 40000, serverIp: '127.0.0.1', serverPort: 443 },
    request: {
      method: 'GET',
      scheme: 'https' as const,
      host: 'svc.internal',
      port: '443',
      path: '/x',
      query: '',
      headers,
    },
  };
}

async function runRule(expression: string, headers: HeaderMap = new Map()) {
  const policy = compile(
    `on_http_request:\n  - expressions: [${JSON.stringify(expression)}]\n    actions: [{ type: deny }]\n`,
    { endpointType: 'internal' },
  );
  const ports = createMemoryPorts();
  const context = createPolicyContext(requestInput(headers), ports);
  const result = await evaluate(policy, 'on_http_request', context, ports);
  return { result, context };
}

const bomb = `'a'${(".replace('a', '" + 'a'.repeat(100) + "')").repeat(9)} == ''`;

describe('CEL cost limits', () => {
  it('fails the replace bomb with POLICY_COST_EXCEEDED instead of allocating gigabytes', async () => {
    // Before the limits, nine chained replaces took 7.4 s and 2.36 GB of RSS for one request.
    const { result, context } = await runRule(bomb);
    expect(result.outcome).toMatchObject({
      kind: 'respond',
      errorCode: 'POLICY_COST_EXCEEDED',
      response: {
        status: 500,
        headers: new Map([
          ['gatehouse-error-code', ['POLICY_COST_EXCEEDED']],
          ['content-type', ['text/plain; charset=utf-8']],
        ]),
      },
    });
    expect(context.trace[0]?.error).toMatch(/would exceed 1048576 characters/);
  });

  it('is not absorbed by || (CEL would otherwise turn the error into true)', async () => {
    const { result } = await runRule(`(${bomb}) || true`);
    expect(result.outcome).toMatchObject({ errorCode: 'POLICY_COST_EXCEEDED' });
  });

  it('stops a comprehension that runs over the per-expression budget', async () => {
    // 3,000 × 3,000 steps: allowed by the save-time estimate (header lists count as 100) but not at runtime.
    const header = Array.from({ length: 3000 }, (_, index) => String(index)).join(',');
    const expression =
      "getReqHeader('x-list')[0].split(',').all(a, getReqHeader('x-list')[0].split(',').all(b, a != b || a == b))";
    const { result, context } = await runRule(expression, new Map([['x-list', [header]]]));
    expect(result.outcome).toMatchObject({ errorCode: 'POLICY_COST_EXCEEDED' });
    expect(context.trace[0]?.error).toContain(`budget of ${maxEvaluationCost} steps`);
  });

  it('bounds all expressions of one request together', () => {
    const check = compileExpression("getReqHeader('x-list')[0].matches('b')", 'on_http_request');
    if (!check.ok) throw new Error(check.message);
    const context = createPolicyContext(
      requestInput(new Map([['x-list', ['a'.repeat(400_000)]]])),
      createMemoryPorts(),
    );
    let evaluations = 0;
    expect(() => {
      for (; evaluations < 10_000; evaluations++) check.expression.evaluate(context);
    }).toThrow(`budget of ${maxRequestEvaluationCost} steps`);
    // Each evaluation scans 400,000 characters (4,000 steps plus a few nodes): the budget ends it after ~250.
    expect(evaluations).toBeGreaterThan(200);
    expect(evaluations).toBeLessThan(260);
    // Sticky: once over, every further evaluation for this request fails at once.
    expect(() => check.expression.evaluate(context)).toThrow(/budget/);
  });

  it('refuses at save time nested comprehensions whose estimated cost is over the limit', () => {
    const list = `[${Array.from({ length: 200 }, (_, index) => index).join(',')}]`;
    const result = validatePolicy(
      `on_http_request:\n  - expressions: ["${list}.all(a, ${list}.all(b, ${list}.all(c, a + b + c >= 0)))"]\n` +
        '    actions: [{ type: deny }]\n',
      { endpointType: 'internal' },
    );
    expect(result.errors[0]).toMatchObject({ code: 'POLICY_EXPRESSION_INVALID' });
    expect(result.errors[0]?.message).toMatch(/evaluation steps, over the limit of 1000000/);
  });

  it('counts sortBy keys once per element, like a comprehension, at save time and at runtime', () => {
    const list = `[${Array.from({ length: 200 }, (_, index) => index).join(',')}]`;
    const nested = validatePolicy(
      `on_http_request:\n  - expressions: ["size(${list}.sortBy(a, ${list}.sortBy(b, ${list}.sortBy(c, a + b + c)))) > 0"]\n` +
        '    actions: [{ type: deny }]\n',
      { endpointType: 'internal' },
    );
    expect(nested.errors[0]?.message).toMatch(/evaluation steps, over the limit of 1000000/);

    const check = compileExpression('size(lists.range(3000).sortBy(x, -x)) == 3000', 'on_http_request');
    if (!check.ok) throw new Error(check.message);
    const context = createPolicyContext(requestInput(), createMemoryPorts());
    expect(check.expression.evaluate(context)).toBe(true);
    // Each of the 3,000 keys is a metered evaluation (`-x`: 2 nodes), plus the n log n sort.
    expect(costMeter(context).spent).toBeGreaterThan(6000);
  });

  it('meters every evaluation (guards the cel-js internals the meter relies on)', () => {
    const check = compileExpression('[1, 2, 3].map(x, x * 2).size() == 3', 'on_http_request');
    if (!check.ok) throw new Error(check.message);
    const context = createPolicyContext(requestInput(), createMemoryPorts());
    expect(check.expression.evaluate(context)).toBe(true);
    const spent = costMeter(context).spent;
    // Nodes: the list and its 3 items, the comprehension with its 3 steps of `x * 2` (3 nodes each), size, ==, 3.
    expect(spent).toBeGreaterThan(10);
    expect(spent).toBeLessThan(40);
  });

  it('charges joins and regex scans by size, and caps join before allocating', async () => {
    const { result, context } = await runRule(
      "[getReqHeader('x')[0], getReqHeader('x')[0], getReqHeader('x')[0]].join('') != ''",
      new Map([['x', ['a'.repeat(400_000)]]]),
    );
    expect(result.outcome).toMatchObject({ errorCode: 'POLICY_COST_EXCEEDED' });
    expect(context.trace[0]?.error).toMatch(/would exceed/);
  });
});

describe('CEL semantics that matter for authorization (issue 12)', () => {
  function value(expression: string): unknown {
    const check = compileExpression(expression, 'on_http_request');
    if (!check.ok) throw new Error(check.message);
    return check.expression.evaluate(createPolicyContext(requestInput(), createMemoryPorts()));
  }

  it('raises int64 overflow instead of computing with an out-of-range integer', () => {
    expect(() => value('-(-9223372036854775808) > 0')).toThrow(/overflow/);
    expect(() => value('int(1e19) > 0')).toThrow(/overflow/);
    expect(value('-9223372036854775808 < 0')).toBe(true);
  });

  it('keeps map literal keys typed: no coercion to strings, no dropped __proto__, duplicates are errors', () => {
    expect(() => value("{1: 'a'}['1'] == 'a'")).toThrow(/No such key/);
    expect(value("{1: 'a'}[1] == 'a'")).toBe(true);
    expect(value("size({'__proto__': 1}) == 1 && '__proto__' in {'__proto__': 1}")).toBe(true);
    expect(() => value("{'a': 1, 'a': 2}.a == 1")).toThrow(/duplicate map key/);
    expect(value("{'a': 1} == {'a': 1} && {'x': 1}.exists(k, k == 'x')")).toBe(true);
  });
});
