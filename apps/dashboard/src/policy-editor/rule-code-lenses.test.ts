import { describe, expect, it } from 'vitest';
import { ruleLenses, type PolicyRuleStats } from './rule-code-lenses';

const text = `on_http_request:
  - name: block
    expressions: ["req.url.path == '/deny'"]
    actions: [{ type: deny, config: { status_code: 403 } }]
  - actions: [{ type: custom-response, config: { status_code: 200 } }]
`;

const now = Date.parse('2026-12-06T10:00:00Z');
const stats: PolicyRuleStats = {
  endpoint_id: 'ep_1',
  policy_version: 4,
  heartbeat_interval_seconds: 30,
  rules: [
    {
      phase: 'on_http_request',
      rule_index: 0,
      last_hour: { evaluations: 1500, hits: 12, denies: 12, avg_latency_ms: 0.0412 },
      last_day: { evaluations: 9000, hits: 30, denies: 30, avg_latency_ms: 0.05 },
      last_match_at: '2026-12-06T09:57:00Z',
    },
  ],
};

describe('ruleLenses', () => {
  it('puts one lens on the first line of each rule with its counters', () => {
    expect(ruleLenses(text, stats, text, now)).toEqual([
      {
        line: 2,
        phase: 'on_http_request',
        ruleIndex: 0,
        title:
          'last hour: 12 hits, 12 denies, +0.041 ms · last day: 30 hits, 30 denies, +0.050 ms · last match 3 min ago',
      },
      { line: 5, phase: 'on_http_request', ruleIndex: 1, title: 'not reached in the last day' },
    ]);
  });

  it('names the counted version once the text differs from it, and gives none for text that does not parse', () => {
    const edited = `# edited\n${text}`;
    expect(ruleLenses(edited, stats, text, now)[0]).toMatchObject({
      line: 3,
      title: expect.stringMatching(/^v4 rule 1: last hour: 12 hits/) as string,
    });
    expect(ruleLenses('on_http_request: [', stats, text, now)).toEqual([]);
    expect(ruleLenses(text, undefined, text, now)).toEqual([]);
  });
});
