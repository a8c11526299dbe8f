import { describe, expect, it } from 'vitest';
import { sampleApiEndpoint } from '../test/helpers/sample-api-endpoint.js';
import type { DesiredEndpoint, DesiredIpCategory, DesiredState } from './declarative-file.js';
import type { IpCategory, ManagedEndpoint as Endpoint } from './gatehouse-api.js';
import { buildPlan, countSteps, hasChanges, type Plan, planToJson, renderPlan } from './plan.js';

const policyV1 = 'on_http_request:\n  - actions:\n      - type: deny\n        config: { status_code: 403 }\n';
const policyV2 = 'on_http_request:\n  - actions:\n      - type: deny\n        config: { status_code: 401 }\n';

/** What the API answers for an endpoint: internal ones front http://127.0.0.1:3333 without a policy, cloud ones run v1. */
function current(overrides: Partial<Endpoint> & Pick<Endpoint, 'id' | 'url'>): Endpoint {
  const internal = overrides.url.endsWith('.internal');
  return sampleApiEndpoint({ ...(internal ? {} : { traffic_policy: policyV1, policy_version: 1 }), ...overrides });
}

function desired(url: string, fields: Partial<DesiredEndpoint> = {}, policyText?: string): DesiredEndpoint {
  return {
    path: 'endpoints[0]',
    url,
    type: url.endsWith('.internal') ? 'internal' : 'cloud',
    ...(policyText === undefined
      ? {}
      : { policy: { text: policyText, origin: 'policy.yaml', locate: () => 'policy.yaml:1:1' } }),
    ...fields,
  };
}

function category(name: string, cidrs: string[], description = '', builtin = false): IpCategory {
  return {
    name,
    uri: `/api/ip-categories/${name}`,
    cidrs,
    description,
    builtin,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  };
}

function state(endpoints: DesiredEndpoint[], ipCategories: DesiredIpCategory[] | null = null): DesiredState {
  return { endpoints, ipCategories };
}

function actions(plan: Plan): string[] {
  return plan.steps.map((step) => `${step.action} ${step.resource === 'ip_category' ? step.name : step.url}`);
}

describe('buildPlan: endpoints', () => {
  it('creates endpoints that do not exist and leaves equal ones unchanged', () => {
    const plan = buildPlan(
      state([desired('https://new.example.com', {}, policyV1), desired('https://same.example.com', {}, policyV1)]),
      { endpoints: [current({ id: 'ep_same', url: 'https://same.example.com' })], ipCategories: [] },
      { prune: false },
    );
    expect(actions(plan)).toEqual(['create https://new.example.com', 'unchanged https://same.example.com']);
    expect(hasChanges(plan)).toBe(true);
  });

  it('is a no-op when everything matches (what makes a second apply idempotent)', () => {
    const plan = buildPlan(
      state([
        desired('https://a.example.com', { description: 'A' }, policyV1),
        desired('https://up.example.internal', {
          upstreamUrl: 'http://127.0.0.1:3333',
          upstreamHostHeader: 'preserve',
        }),
      ]),
      {
        endpoints: [
          current({ id: 'ep_a', url: 'https://a.example.com', description: 'A' }),
          current({ id: 'ep_up', url: 'https://up.example.internal' }),
        ],
        ipCategories: [],
      },
      { prune: false },
    );
    expect(hasChanges(plan)).toBe(false);
    expect(countSteps(plan)).toEqual({ create: 0, update: 0, delete: 0, unchanged: 2, unmanaged: 0 });
  });

  it('updates only the fields the file sets, and the policy only when its text differs', () => {
    const plan = buildPlan(
      state([
        desired('https://up.example.internal', { upstreamUrl: 'http://127.0.0.1:4444', metadata: 'team=a' }),
        desired('https://a.example.com', {}, policyV2),
      ]),
      {
        endpoints: [
          current({ id: 'ep_up', url: 'https://up.example.internal', description: 'kept', metadata: '' }),
          current({ id: 'ep_a', url: 'https://a.example.com', description: 'kept too', policy_version: 3 }),
        ],
        ipCategories: [],
      },
      { prune: false },
    );
    const [internal, cloud] = plan.steps;
    expect(internal).toMatchObject({
      action: 'update',
      id: 'ep_up',
      policy: null,
      fields: [
        { field: 'metadata', from: '', to: 'team=a' },
        { field: 'upstream_url', from: 'http://127.0.0.1:3333', to: 'http://127.0.0.1:4444' },
      ],
    });
    expect(cloud).toMatchObject({
      action: 'update',
      id: 'ep_a',
      fields: [],
      policy: { fromVersion: 3, text: policyV2 },
    });
    if (cloud?.resource === 'endpoint' && cloud.action === 'update') {
      expect(cloud.policy?.diff).toEqual([
        '--- https://a.example.com active policy (v3)',
        '+++ policy.yaml',
        '@@ -1,4 +1,4 @@',
        ' on_http_request:',
        '   - actions:',
        '       - type: deny',
        '-        config: { status_code: 403 }',
        '+        config: { status_code: 401 }',
      ]);
    }
  });

  it('plans a request_log_capture difference as a field update without a policy version', () => {
    const plan = buildPlan(
      state([desired('https://a.example.com', { requestLogCapture: { headers: true, bodies: false } }, policyV1)]),
      { endpoints: [current({ id: 'ep_a', url: 'https://a.example.com' })], ipCategories: [] },
      { prune: false },
    );
    expect(plan.steps).toEqual([
      expect.objectContaining({
        action: 'update',
        id: 'ep_a',
        fields: [{ field: 'request_log_capture.headers', from: false, to: true }],
        policy: null,
      }),
    ]);
    expect(renderPlan(plan)).toContain('    request_log_capture.headers: false → true');
    expect(planToJson(plan).steps).toEqual([
      expect.objectContaining({ fields: [{ field: 'request_log_capture.headers', from: false, to: true }] }),
    ]);
  });

  it('leaves request_log_capture unchanged when it matches, and options the file omits unmanaged', () => {
    const capturing = current({
      id: 'ep_a',
      url: 'https://a.example.com',
      request_log_capture: { headers: true, bodies: true },
    });
    for (const requestLogCapture of [{ headers: true, bodies: true }, { headers: true }, {}]) {
      const plan = buildPlan(
        state([desired('https://a.example.com', { requestLogCapture }, policyV1)]),
        { endpoints: [capturing], ipCategories: [] },
        { prune: false },
      );
      expect(actions(plan)).toEqual(['unchanged https://a.example.com']);
    }
    const off = buildPlan(
      state([desired('https://a.example.com', { requestLogCapture: { bodies: false } }, policyV1)]),
      { endpoints: [capturing], ipCategories: [] },
      { prune: false },
    );
    expect(off.steps[0]).toMatchObject({
      action: 'update',
      fields: [{ field: 'request_log_capture.bodies', from: true, to: false }],
    });
  });

  it('shows the capture options a created endpoint gets', () => {
    const plan = buildPlan(
      state([desired('https://new.example.com', { requestLogCapture: { bodies: true } }, policyV1)]),
      { endpoints: [], ipCategories: [] },
      { prune: false },
    );
    const text = renderPlan(plan).join('\n');
    expect(text).toContain('+ create cloud endpoint https://new.example.com\n    request_log_capture.bodies: true\n');
    expect(text).not.toContain('request_log_capture.headers');
    expect(planToJson(plan).steps).toEqual([expect.objectContaining({ request_log_capture: { bodies: true } })]);
  });

  it('gives an internal endpoint without a policy its first one', () => {
    const plan = buildPlan(
      state([desired('https://up.example.internal', {}, policyV1)]),
      { endpoints: [current({ id: 'ep_up', url: 'https://up.example.internal' })], ipCategories: [] },
      { prune: false },
    );
    expect(plan.steps[0]).toMatchObject({ action: 'update', policy: { fromVersion: null } });
    expect(renderPlan(plan)).toContain('    policy: no policy → new version');
  });

  it('never deletes without prune; with prune it deletes what the file does not list', () => {
    const currentState = {
      endpoints: [
        current({ id: 'ep_keep', url: 'https://keep.example.com' }),
        current({ id: 'ep_old', url: 'https://old.example.com' }),
        current({ id: 'ep_old_up', url: 'https://old.example.internal' }),
      ],
      ipCategories: [],
    };
    const wanted = state([desired('https://keep.example.com', {}, policyV1)]);
    const kept = buildPlan(wanted, currentState, { prune: false });
    expect(actions(kept)).toEqual([
      'unchanged https://keep.example.com',
      'unmanaged https://old.example.com',
      'unmanaged https://old.example.internal',
    ]);
    expect(hasChanges(kept)).toBe(false);
    const pruned = buildPlan(wanted, currentState, { prune: true });
    // Cloud endpoints go first: their policies may forward to the internal ones.
    expect(actions(pruned)).toEqual([
      'delete https://old.example.com',
      'delete https://old.example.internal',
      'unchanged https://keep.example.com',
    ]);
  });

  it('orders execution: categories, internal endpoints, cloud endpoints, then deletions', () => {
    const plan = buildPlan(
      state(
        [
          desired('https://a.example.com', {}, policyV1),
          desired('https://b.example.internal', { upstreamUrl: 'http://h' }),
        ],
        [{ path: 'ip_categories[0]', name: 'office', cidrs: ['10.0.0.0/8'] }],
      ),
      {
        endpoints: [current({ id: 'ep_gone', url: 'https://gone.example.com' })],
        ipCategories: [category('stale', [])],
      },
      { prune: true },
    );
    expect(actions(plan)).toEqual([
      'create office',
      'create https://b.example.internal',
      'create https://a.example.com',
      'delete https://gone.example.com',
      'delete stale',
    ]);
  });

  it('reports a type clash instead of planning it', () => {
    const plan = buildPlan(
      state([{ ...desired('https://a.example.com', {}, policyV1), type: 'internal' }]),
      { endpoints: [current({ id: 'ep_a', url: 'https://a.example.com' })], ipCategories: [] },
      { prune: false },
    );
    expect(plan.problems).toEqual([
      'endpoints[0].type: https://a.example.com exists as a cloud endpoint, not internal',
    ]);
  });
});

describe('buildPlan: IP categories', () => {
  const office = (cidrs: string[], description?: string): DesiredIpCategory => ({
    path: 'ip_categories[0]',
    name: 'office',
    cidrs,
    ...(description === undefined ? {} : { description }),
  });

  it('compares CIDRs as sets and description only when the file sets one', () => {
    const unchanged = buildPlan(
      state([], [office(['10.0.0.0/8', '192.168.0.0/16'])]),
      { endpoints: [], ipCategories: [category('office', ['192.168.0.0/16', '10.0.0.0/8'], 'set elsewhere')] },
      { prune: false },
    );
    expect(actions(unchanged)).toEqual(['unchanged office']);
    const updated = buildPlan(
      state([], [office(['10.0.0.0/8'], 'Office')]),
      { endpoints: [], ipCategories: [category('office', ['192.168.0.0/16'], '')] },
      { prune: false },
    );
    expect(updated.steps[0]).toEqual({
      resource: 'ip_category',
      action: 'update',
      name: 'office',
      cidrs: ['10.0.0.0/8'],
      description: 'Office',
      changes: { cidrs: { from: ['192.168.0.0/16'], to: ['10.0.0.0/8'] }, description: { from: '', to: 'Office' } },
    });
  });

  it('keeps the current description when the file omits it (PUT replaces both fields)', () => {
    const plan = buildPlan(
      state([], [office(['10.0.0.0/8'])]),
      { endpoints: [], ipCategories: [category('office', ['192.168.0.0/16'], 'kept')] },
      { prune: false },
    );
    expect(plan.steps[0]).toMatchObject({
      action: 'update',
      description: 'kept',
      changes: { cidrs: expect.anything() as unknown },
    });
  });

  it('refuses to touch built-ins and never prunes them', () => {
    const plan = buildPlan(
      state([], [{ path: 'ip_categories[0]', name: 'com.anthropic.api', cidrs: [] }]),
      {
        endpoints: [],
        ipCategories: [
          category('com.anthropic.api', ['160.79.104.0/21'], '', true),
          category('com.github', [], '', true),
        ],
      },
      { prune: true },
    );
    expect(plan.problems).toEqual([
      'ip_categories[0].name: com.anthropic.api is a built-in IP category and read-only; remove it from the file',
    ]);
    expect(plan.steps).toEqual([]);
  });

  it('does not manage categories at all when the file has no ip_categories key', () => {
    const plan = buildPlan(state([]), { endpoints: [], ipCategories: [category('custom', [])] }, { prune: true });
    expect(plan.steps).toEqual([]);
  });
});

describe('renderPlan and planToJson', () => {
  const plan = buildPlan(
    state([
      desired('https://new.example.internal', { upstreamUrl: 'http://127.0.0.1:1', description: 'upstream' }),
      desired('https://a.example.com', { description: 'new' }, policyV2),
    ]),
    {
      endpoints: [
        current({ id: 'ep_a', url: 'https://a.example.com', description: 'old' }),
        current({ id: 'ep_x', url: 'https://x.example.com' }),
      ],
      ipCategories: [],
    },
    { prune: false },
  );

  it('prints one line per step with its details and a summary', () => {
    const text = renderPlan(plan).join('\n');
    expect(text).toContain(
      '+ create internal endpoint https://new.example.internal → http://127.0.0.1:1\n    description: "upstream"',
    );
    expect(text).toContain(
      '~ update cloud endpoint https://a.example.com (ep_a)\n    description: "old" → "new"\n    policy: v1 → new version',
    );
    expect(text).toContain('      -        config: { status_code: 403 }\n      +        config: { status_code: 401 }');
    expect(text).toContain('? cloud endpoint https://x.example.com is not in the file (kept; --prune deletes it)');
    expect(text.endsWith('Plan: 1 to create, 1 to update, 0 to delete, 0 unchanged, 1 not in the file.')).toBe(true);
  });

  it('says so when there is nothing to do', () => {
    const empty = buildPlan(state([]), { endpoints: [], ipCategories: [] }, { prune: false });
    expect(renderPlan(empty)).toEqual(['', 'No changes (0 to create, 0 to update, 0 to delete, 0 unchanged).']);
  });

  it('serializes to JSON without internal objects', () => {
    const json = planToJson(plan);
    expect(json.changes_pending).toBe(true);
    expect(json.steps).toEqual([
      {
        resource: 'endpoint',
        action: 'create',
        url: 'https://new.example.internal',
        type: 'internal',
        description: 'upstream',
        metadata: null,
        upstream_url: 'http://127.0.0.1:1',
        upstream_host_header: null,
        request_log_capture: null,
        policy_origin: null,
      },
      {
        resource: 'endpoint',
        action: 'update',
        url: 'https://a.example.com',
        type: 'cloud',
        id: 'ep_a',
        fields: [{ field: 'description', from: 'old', to: 'new' }],
        policy: {
          from_version: 1,
          origin: 'policy.yaml',
          diff: expect.stringContaining('+        config: { status_code: 401 }') as unknown,
        },
      },
      { resource: 'endpoint', action: 'unmanaged', url: 'https://x.example.com', type: 'cloud', id: 'ep_x' },
    ]);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
