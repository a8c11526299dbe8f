import { compile, parse, type CompiledPolicy, type RuleTrace } from '@gatehouse/traffic-policy';
import { describe, expect, it } from 'vitest';
import { RuleCounterTable } from './rule-counters.js';

const policyText = `on_http_request:
  - expressions: ["req.url.path == '/deny'"]
    actions: [{ type: deny, config: { status_code: 403 } }]
  - actions: [{ type: custom-response, config: { status_code: 200 } }]
on_http_response:
  - actions: [{ type: add-headers, config: { headers: { x-seen: "1" } } }]
`;

function compiled(): CompiledPolicy {
  return compile(parse(policyText), { endpointType: 'cloud' });
}

function rule(phase: RuleTrace['phase'], ruleIndex: number, matched: boolean, elapsedMs: number): RuleTrace {
  return { phase, rule_index: ruleIndex, rule_name: null, matched, actions: [], elapsed_ms: elapsedMs };
}

describe('RuleCounterTable', () => {
  it('counts evaluations, hits, denies and latency per rule, and drains deltas once', () => {
    const table = new RuleCounterTable();
    const policy = compiled();
    const denied = [rule('on_http_request', 0, true, 0.5)];
    const allowed = [rule('on_http_request', 0, false, 0.25), rule('on_http_request', 1, true, 0.25)];
    table.record('ep_1', 3, policy, denied, { phase: 'on_http_request', rule_index: 0 }, 403, 1_000);
    table.record('ep_1', 3, policy, denied, { phase: 'on_http_request', rule_index: 0 }, 403, 2_000);
    // A 2xx answer of the deciding rule is not a deny.
    table.record('ep_1', 3, policy, allowed, { phase: 'on_http_request', rule_index: 1 }, 200, 3_000);

    expect(table.drain(100)).toEqual([
      {
        endpoint_id: 'ep_1',
        policy_version: 3,
        phase: 'on_http_request',
        rule_index: 0,
        evaluations: 3,
        hits: 2,
        denies: 2,
        latency_ms_sum: 1.25,
        last_match_ms: 2_000,
      },
      {
        endpoint_id: 'ep_1',
        policy_version: 3,
        phase: 'on_http_request',
        rule_index: 1,
        evaluations: 1,
        hits: 1,
        denies: 0,
        latency_ms_sum: 0.25,
        last_match_ms: 3_000,
      },
    ]);
    expect(table.drain(100)).toEqual([]);
  });

  it('counts a version compiled again (evicted from the compiled-policy cache) into the same rows', () => {
    const table = new RuleCounterTable();
    const denied = [rule('on_http_request', 0, true, 0.5)];
    table.record('ep_1', 3, compiled(), denied, { phase: 'on_http_request', rule_index: 0 }, 403, 1_000);
    table.record('ep_1', 3, compiled(), denied, { phase: 'on_http_request', rule_index: 0 }, 403, 2_000);
    const rows = table.drain(100);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ policy_version: 3, rule_index: 0, evaluations: 2, denies: 2 });
  });

  it('ignores rule indexes the policy does not have, and keeps what a full heartbeat could not carry', () => {
    const table = new RuleCounterTable();
    const policy = compiled();
    const trace = [
      rule('on_http_request', 0, false, 0),
      rule('on_http_request', 1, true, 0),
      rule('on_http_request', 7, true, 0),
    ];
    table.record('ep_1', 1, policy, trace, undefined, 200, 10);
    table.record('ep_2', 1, policy, [rule('on_http_response', 0, true, 0)], undefined, 200, 10);
    const first = table.drain(2);
    expect(first.map((row) => `${row.endpoint_id}:${row.phase}:${row.rule_index}`)).toEqual([
      'ep_1:on_http_request:0',
      'ep_1:on_http_request:1',
    ]);
    expect(table.drain(2).map((row) => `${row.endpoint_id}:${row.phase}:${row.rule_index}`)).toEqual([
      'ep_2:on_http_response:0',
    ]);
  });

  it('hands back the deltas of a failed heartbeat, also for a version the endpoint has since left', () => {
    const table = new RuleCounterTable();
    const policy = compiled();
    table.record('ep_1', 1, policy, [rule('on_http_request', 1, true, 1)], undefined, 200, 10);
    const failed = table.drain(100);
    table.record('ep_1', 1, policy, [rule('on_http_request', 1, true, 1)], undefined, 200, 20);
    table.restore(failed);
    // A new version: the old one's counts are retired, not lost.
    const next = compiled();
    table.record('ep_1', 2, next, [rule('on_http_request', 0, true, 1)], undefined, 200, 30);
    const shipped = table.drain(100);
    expect(shipped).toEqual([
      expect.objectContaining({ policy_version: 1, rule_index: 1, evaluations: 2, hits: 2, last_match_ms: 20 }),
      expect.objectContaining({ policy_version: 2, rule_index: 0, evaluations: 1 }),
    ]);
    table.restore([{ ...shipped[0]!, evaluations: 5, hits: 0, last_match_ms: null }]);
    expect(table.drain(100)).toEqual([expect.objectContaining({ policy_version: 1, evaluations: 5 })]);
    // Endpoints without traffic since the previous drain are forgotten (bounded table).
    expect(table.drain(100)).toEqual([]);
  });
});
