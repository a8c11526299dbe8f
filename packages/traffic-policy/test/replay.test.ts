import { RecordedRequestSchema, type RecordedRequestInput } from '@gatehouse/contracts';
import { sampleRecordedRequest } from '@gatehouse/contracts/testing';
import { describe, expect, it } from 'vitest';
import { compile, diffReplayResults, recordedOutcome, replayRequests, type ReplayedRequest } from '../src/index.js';

const endpoint = { id: 'ep_replay', url: 'https://api.example.com', host: 'api.example.com', type: 'cloud' as const };

const active = compile(
  `
on_http_request:
  - name: block admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions: [{ type: deny, config: { status_code: 403 } }]
  - name: everything else
    actions: [{ type: forward-internal, config: { url: https://api.internal } }]
`,
  { endpointType: 'cloud' },
);

const draft = compile(
  `
on_http_request:
  - name: block admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions: [{ type: deny, config: { status_code: 403 } }]
  - name: token required
    expressions: ["!hasReqHeader('authorization') || !req.headers['authorization'][0].startsWith('Bearer ')"]
    actions: [{ type: deny, config: { status_code: 401 } }]
  - name: per caller
    actions:
      - type: rate-limit
        config: { name: per-caller, algorithm: sliding_window, capacity: 2, rate: 60s, bucket_key: ["getReqHeader('authorization')[0]"] }
  - name: office
    expressions: ["'office' in conn.client_ip.categories"]
    actions: [{ type: forward-internal, config: { url: https://office.internal } }]
  - name: everything else
    actions: [{ type: forward-internal, config: { url: https://api.internal } }]
`,
  { endpointType: 'cloud' },
);

function recorded(index: number, overrides: Partial<RecordedRequestInput> = {}): ReplayedRequest {
  const facts = sampleRecordedRequest({
    method: 'GET',
    host: 'api.example.com',
    path: '/v1/items',
    headers: [['accept', 'application/json']],
    ...overrides,
  });
  return { id: `req_${index}`, timeMs: Date.UTC(2026, 11, 1, 9, 0, index), facts: RecordedRequestSchema.parse(facts) };
}

describe('replayRequests and diffReplayResults', () => {
  const alice = [['authorization', 'Bearer redacted:sha256:00000000000000aa']] as [string, string][];
  const bob = [['authorization', 'Bearer redacted:sha256:00000000000000bb']] as [string, string][];
  const requests = [
    recorded(0), // no token: allow → deny 401
    recorded(1, { path: '/admin' }), // unchanged deny 403
    recorded(2, { headers: alice }),
    recorded(3, { headers: alice }),
    recorded(4, { headers: alice }), // alice's third within 60 s: new 429
    recorded(5, { headers: alice }), // and her fourth
    recorded(6, { headers: bob }),
    recorded(7, { headers: bob, client_ip: '198.51.100.4', client_ip_categories: ['office'] }), // forwarded elsewhere
    recorded(8, { headers: [['authorization', 'Basic redacted:sha256:00000000000000cc']] }), // not Bearer: 401
  ];

  it('groups what changes, with the deciding rule, the rate-limit key and example ids', async () => {
    const ids = requests.map((request) => request.id);
    const before = await replayRequests(active, requests, endpoint);
    const after = await replayRequests(draft, requests, endpoint);
    expect(after.map((result) => result.outcome.status ?? result.outcome.forwarded_to)).toEqual([
      401,
      403,
      'https://api.internal',
      'https://api.internal',
      429,
      429,
      'https://api.internal',
      'https://office.internal',
      401,
    ]);
    const { groups, changed } = diffReplayResults(ids, before, after);
    expect(changed).toBe(5);
    expect(groups.map((group) => [group.kind, group.count, group.example_request_ids])).toEqual([
      ['flip', 2, ['req_0', 'req_8']],
      ['new_rate_limit', 2, ['req_4', 'req_5']],
      ['target_changed', 1, ['req_7']],
    ]);
    expect(groups[0]!.summary).toBe('2 requests flip allow → deny 401 (rule 1 "token required", deny)');
    // The key is the caller's fingerprint (from the bucket key), never the header value.
    expect(groups[1]!.rate_limit_key).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(groups[1]!.summary).toBe(
      `2 new 429s for key ${groups[1]!.rate_limit_key} (rule 2 "per caller", rate-limit)`,
    );
    expect(groups[2]!.summary).toBe(
      '1 request forwarded to https://office.internal instead of https://api.internal (rule 3 "office", forward-internal)',
    );
  });

  it('replays the same policy with no differences', async () => {
    const once = await replayRequests(draft, requests, endpoint);
    const again = await replayRequests(draft, requests, endpoint, { pause: () => Promise.resolve(), pauseEvery: 2 });
    expect(
      diffReplayResults(
        requests.map((request) => request.id),
        once,
        again,
      ),
    ).toEqual({ groups: [], changed: 0 });
  });

  it('compares rules by name: a rule inserted above shifts indexes without changing anything', async () => {
    const shifted = compile(
      `
on_http_request:
  - name: maintenance
    expressions: ["req.url.path == '/maintenance'"]
    actions: [{ type: custom-response, config: { status_code: 503, body: later } }]
  - name: block admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions: [{ type: deny, config: { status_code: 403 } }]
  - name: everything else
    actions: [{ type: forward-internal, config: { url: https://api.internal } }]
`,
      { endpointType: 'cloud' },
    );
    const ids = requests.map((request) => request.id);
    const before = await replayRequests(active, requests, endpoint);
    const after = await replayRequests(shifted, requests, endpoint);
    expect(after[1]!.outcome).toMatchObject({ status: 403, rule_index: 1, rule_name: 'block admin' });
    expect(diffReplayResults(ids, before, after)).toEqual({ groups: [], changed: 0 });
  });

  it('reads a recorded outcome: request-phase decisions answer, everything else went on', () => {
    const deny = { phase: 'on_http_request', rule_index: 0, rule_name: 'block admin', action: 'deny' };
    expect(recordedOutcome({ status: 403, decision: deny, forwarded_to: null })).toMatchObject({
      kind: 'responded',
      status: 403,
      rule_index: 0,
    });
    expect(recordedOutcome({ status: 502, decision: null, forwarded_to: null })).toMatchObject({
      kind: 'forwarded',
      forwarded_to: 'upstream',
    });
    const forward = { phase: 'on_http_request', rule_index: 1, rule_name: null, action: 'forward-internal' };
    expect(recordedOutcome({ status: 200, decision: forward, forwarded_to: 'https://api.internal' })).toMatchObject({
      kind: 'forwarded',
      forwarded_to: 'https://api.internal',
    });
  });
});
