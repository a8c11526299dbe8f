// The declarative plan: desired state (gatehouse.yaml) against current state (the API) → the steps that make them
// equal. Pure: no I/O, so every rule here is unit-tested without a server (plan.test.ts).
import type { EndpointType } from '@gatehouse/contracts';
import type { DesiredEndpoint, DesiredIpCategory, DesiredState } from './declarative-file.js';
import type { ManagedEndpoint as Endpoint, IpCategory, UpstreamHostHeader } from './gatehouse-api.js';
import { unifiedDiff } from './text-diff.js';

export interface CurrentState {
  endpoints: readonly Endpoint[];
  ipCategories: readonly IpCategory[];
}

export interface PlanOptions {
  /** Delete endpoints (and, when the file manages them, custom IP categories) that the file does not declare. */
  prune: boolean;
}

export type TextField = 'description' | 'metadata' | 'upstream_url' | 'upstream_host_header';
/** Named as the options are in gatehouse.yaml and the API, so plan output points at what to edit. */
export type CaptureField = 'request_log_capture.headers' | 'request_log_capture.bodies';
export type EndpointField = TextField | CaptureField;

export type FieldChange =
  { field: TextField; from: string | null; to: string } | { field: CaptureField; from: boolean; to: boolean };

export interface PolicyChange {
  /** The active version being replaced; null when the endpoint has no policy yet. */
  fromVersion: number | null;
  text: string;
  /** Unified diff from the active text to the new one. */
  diff: string[];
}

export type EndpointStep =
  | { resource: 'endpoint'; action: 'create'; url: string; type: EndpointType; desired: DesiredEndpoint }
  | {
      resource: 'endpoint';
      action: 'update';
      url: string;
      type: EndpointType;
      id: string;
      fields: FieldChange[];
      policy: PolicyChange | null;
      desired: DesiredEndpoint;
    }
  | { resource: 'endpoint'; action: 'delete' | 'unchanged' | 'unmanaged'; url: string; type: EndpointType; id: string };

export interface CidrChange {
  from: string[];
  to: string[];
}

export type IpCategoryStep =
  | { resource: 'ip_category'; action: 'create'; name: string; cidrs: string[]; description: string }
  | {
      resource: 'ip_category';
      action: 'update';
      name: string;
      cidrs: string[];
      description: string;
      changes: { cidrs?: CidrChange; description?: { from: string; to: string } };
    }
  | { resource: 'ip_category'; action: 'delete' | 'unchanged' | 'unmanaged'; name: string };

export type PlanStep = EndpointStep | IpCategoryStep;

export interface Plan {
  /** In execution order: categories, then internal endpoints, then cloud endpoints, then deletions in reverse. */
  steps: PlanStep[];
  /** Conflicts that make the file impossible to apply (e.g. it redefines a built-in category). */
  problems: string[];
}

export type PlanCounts = Record<PlanStep['action'], number>;

export function countSteps(plan: Plan): PlanCounts {
  const counts: PlanCounts = { create: 0, update: 0, delete: 0, unchanged: 0, unmanaged: 0 };
  for (const step of plan.steps) counts[step.action]++;
  return counts;
}

export function hasChanges(plan: Plan): boolean {
  return plan.steps.some((step) => step.action === 'create' || step.action === 'update' || step.action === 'delete');
}

function sameCidrs(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((cidr) => right.has(cidr));
}

function planIpCategories(
  desired: readonly DesiredIpCategory[] | null,
  current: readonly IpCategory[],
  options: PlanOptions,
) {
  const steps: IpCategoryStep[] = [];
  const problems: string[] = [];
  if (desired === null) return { steps, problems };
  const byName = new Map(current.map((category) => [category.name, category]));
  const declared = new Set<string>();
  for (const category of desired) {
    declared.add(category.name);
    const existing = byName.get(category.name);
    const description = category.description ?? existing?.description ?? '';
    if (existing === undefined) {
      steps.push({
        resource: 'ip_category',
        action: 'create',
        name: category.name,
        cidrs: category.cidrs,
        description,
      });
    } else if (existing.builtin) {
      problems.push(
        `${category.path}.name: ${category.name} is a built-in IP category and read-only; remove it from the file`,
      );
    } else {
      const changes: Extract<IpCategoryStep, { action: 'update' }>['changes'] = {};
      if (!sameCidrs(existing.cidrs, category.cidrs)) changes.cidrs = { from: existing.cidrs, to: category.cidrs };
      if (description !== existing.description) changes.description = { from: existing.description, to: description };
      steps.push(
        Object.keys(changes).length === 0
          ? { resource: 'ip_category', action: 'unchanged', name: category.name }
          : {
              resource: 'ip_category',
              action: 'update',
              name: category.name,
              cidrs: category.cidrs,
              description,
              changes,
            },
      );
    }
  }
  for (const category of current) {
    if (declared.has(category.name) || category.builtin) continue;
    steps.push({ resource: 'ip_category', action: options.prune ? 'delete' : 'unmanaged', name: category.name });
  }
  return { steps, problems };
}

function fieldChanges(desired: DesiredEndpoint, current: Endpoint): FieldChange[] {
  const changes: FieldChange[] = [];
  const compare = (field: TextField, wanted: string | undefined, actual: string | null): void => {
    if (wanted !== undefined && wanted !== actual) changes.push({ field, from: actual, to: wanted });
  };
  compare('description', desired.description, current.description);
  compare('metadata', desired.metadata, current.metadata);
  compare('upstream_url', desired.upstreamUrl, current.upstream_url);
  compare(
    'upstream_host_header',
    desired.upstreamHostHeader satisfies UpstreamHostHeader | undefined,
    current.upstream_host_header,
  );
  // A field update like the others (the PATCH creates no policy version), compared option by option.
  for (const option of ['headers', 'bodies'] as const) {
    const wanted = desired.requestLogCapture?.[option];
    const actual = current.request_log_capture[option];
    if (wanted !== undefined && wanted !== actual) {
      changes.push({ field: `request_log_capture.${option}`, from: actual, to: wanted });
    }
  }
  return changes;
}

function policyChange(desired: DesiredEndpoint, current: Endpoint): PolicyChange | null {
  // Policies compare as exact text: the API stores the text as submitted, and that text is what a version holds.
  if (desired.policy === undefined || desired.policy.text === current.traffic_policy) return null;
  const fromLabel =
    current.policy_version === null
      ? `${current.url} (no policy)`
      : `${current.url} active policy (v${current.policy_version})`;
  return {
    fromVersion: current.policy_version,
    text: desired.policy.text,
    diff: unifiedDiff(current.traffic_policy ?? '', desired.policy.text, {
      old: fromLabel,
      new: desired.policy.origin,
    }),
  };
}

function planEndpoints(desired: readonly DesiredEndpoint[], current: readonly Endpoint[], options: PlanOptions) {
  const byUrl = new Map(current.map((endpoint) => [endpoint.url, endpoint]));
  const steps: EndpointStep[] = [];
  const problems: string[] = [];
  const declared = new Set<string>();
  for (const endpoint of desired) {
    declared.add(endpoint.url);
    const existing = byUrl.get(endpoint.url);
    if (existing === undefined) {
      steps.push({ resource: 'endpoint', action: 'create', url: endpoint.url, type: endpoint.type, desired: endpoint });
      continue;
    }
    if (existing.type !== endpoint.type) {
      // Cannot happen while the API ties the type to the host suffix; refuse rather than guess if that ever changes.
      problems.push(
        `${endpoint.path}.type: ${endpoint.url} exists as a ${existing.type} endpoint, not ${endpoint.type}`,
      );
      continue;
    }
    const fields = fieldChanges(endpoint, existing);
    const policy = policyChange(endpoint, existing);
    steps.push(
      fields.length === 0 && policy === null
        ? { resource: 'endpoint', action: 'unchanged', url: endpoint.url, type: endpoint.type, id: existing.id }
        : {
            resource: 'endpoint',
            action: 'update',
            url: endpoint.url,
            type: endpoint.type,
            id: existing.id,
            fields,
            policy,
            desired: endpoint,
          },
    );
  }
  for (const endpoint of current) {
    if (declared.has(endpoint.url)) continue;
    steps.push({
      resource: 'endpoint',
      action: options.prune ? 'delete' : 'unmanaged',
      url: endpoint.url,
      type: endpoint.type,
      id: endpoint.id,
    });
  }
  return { steps, problems };
}

/**
 * Order matters to the API's validation: categories before the policies that name them, internal endpoints before
 * the cloud policies that forward to them (else a POLICY_FORWARD_TARGET_UNKNOWN warning), and deletions in reverse.
 */
function executionRank(step: PlanStep): number {
  const internal = step.resource === 'endpoint' && step.type === 'internal';
  switch (step.action) {
    case 'create':
    case 'update':
      return step.resource === 'ip_category' ? 0 : internal ? 1 : 2;
    case 'delete':
      return step.resource === 'ip_category' ? 5 : internal ? 4 : 3;
    case 'unchanged':
      return 6;
    case 'unmanaged':
      return 7;
  }
}

export function buildPlan(desired: DesiredState, current: CurrentState, options: PlanOptions): Plan {
  const categories = planIpCategories(desired.ipCategories, current.ipCategories, options);
  const endpoints = planEndpoints(desired.endpoints, current.endpoints, options);
  const steps = [...categories.steps, ...endpoints.steps]
    .map((step, index) => ({ step, index }))
    .sort((a, b) => executionRank(a.step) - executionRank(b.step) || a.index - b.index)
    .map(({ step }) => step);
  return { steps, problems: [...categories.problems, ...endpoints.problems] };
}

// --- rendering --------------------------------------------------------------------------------------------------------

const SYMBOLS: Record<PlanStep['action'], string> = {
  create: '+',
  update: '~',
  delete: '-',
  unchanged: '=',
  unmanaged: '?',
};

function show(value: string | boolean | null): string {
  return value === null ? '(none)' : JSON.stringify(value);
}

function describeStep(step: PlanStep): string[] {
  const symbol = SYMBOLS[step.action];
  if (step.resource === 'ip_category') {
    switch (step.action) {
      case 'create':
        return [`${symbol} create ip category ${step.name} (${step.cidrs.join(', ') || 'no CIDRs'})`];
      case 'update': {
        const lines = [`${symbol} update ip category ${step.name}`];
        if (step.changes.cidrs)
          lines.push(`    cidrs: [${step.changes.cidrs.from.join(', ')}] → [${step.changes.cidrs.to.join(', ')}]`);
        if (step.changes.description) {
          lines.push(`    description: ${show(step.changes.description.from)} → ${show(step.changes.description.to)}`);
        }
        return lines;
      }
      case 'delete':
        return [`${symbol} delete ip category ${step.name}`];
      case 'unchanged':
        return [`${symbol} unchanged ip category ${step.name}`];
      case 'unmanaged':
        return [`${symbol} ip category ${step.name} is not in the file (kept; --prune deletes it)`];
    }
  }
  switch (step.action) {
    case 'create': {
      const upstream = step.desired.upstreamUrl === undefined ? '' : ` → ${step.desired.upstreamUrl}`;
      const lines = [`${symbol} create ${step.type} endpoint ${step.url}${upstream}`];
      for (const [label, value] of [
        ['description', step.desired.description],
        ['metadata', step.desired.metadata],
        ['upstream_host_header', step.desired.upstreamHostHeader],
      ] as const) {
        if (value !== undefined) lines.push(`    ${label}: ${show(value)}`);
      }
      for (const option of ['headers', 'bodies'] as const) {
        const value = step.desired.requestLogCapture?.[option];
        if (value !== undefined) lines.push(`    request_log_capture.${option}: ${show(value)}`);
      }
      if (step.desired.policy !== undefined) lines.push(`    policy: version 1 from ${step.desired.policy.origin}`);
      return lines;
    }
    case 'update': {
      const lines = [`${symbol} update ${step.type} endpoint ${step.url} (${step.id})`];
      for (const change of step.fields) lines.push(`    ${change.field}: ${show(change.from)} → ${show(change.to)}`);
      if (step.policy !== null) {
        const from = step.policy.fromVersion === null ? 'no policy' : `v${step.policy.fromVersion}`;
        lines.push(`    policy: ${from} → new version`, ...step.policy.diff.map((line) => `      ${line}`));
      }
      return lines;
    }
    case 'delete':
      return [`${symbol} delete ${step.type} endpoint ${step.url} (${step.id}) and its policy versions`];
    case 'unchanged':
      return [`${symbol} unchanged ${step.type} endpoint ${step.url}`];
    case 'unmanaged':
      return [`${symbol} ${step.type} endpoint ${step.url} is not in the file (kept; --prune deletes it)`];
  }
}

export function renderPlan(plan: Plan): string[] {
  const counts = countSteps(plan);
  const lines = plan.steps.flatMap(describeStep);
  const summary = [
    `${counts.create} to create`,
    `${counts.update} to update`,
    `${counts.delete} to delete`,
    `${counts.unchanged} unchanged`,
    ...(counts.unmanaged > 0 ? [`${counts.unmanaged} not in the file`] : []),
  ].join(', ');
  lines.push('', hasChanges(plan) ? `Plan: ${summary}.` : `No changes (${summary}).`);
  return lines;
}

/** The plan as JSON (`--json`): stable snake_case keys, no internal objects. */
export function planToJson(plan: Plan): Record<string, unknown> {
  return {
    changes_pending: hasChanges(plan),
    summary: countSteps(plan),
    steps: plan.steps.map((step) => {
      if (step.resource === 'ip_category') {
        const base = { resource: step.resource, action: step.action, name: step.name };
        if (step.action === 'create') return { ...base, cidrs: step.cidrs, description: step.description };
        if (step.action === 'update')
          return { ...base, cidrs: step.cidrs, description: step.description, changes: step.changes };
        return base;
      }
      const base = { resource: step.resource, action: step.action, url: step.url, type: step.type };
      if (step.action === 'create') {
        return {
          ...base,
          description: step.desired.description ?? null,
          metadata: step.desired.metadata ?? null,
          upstream_url: step.desired.upstreamUrl ?? null,
          upstream_host_header: step.desired.upstreamHostHeader ?? null,
          request_log_capture: step.desired.requestLogCapture ?? null,
          policy_origin: step.desired.policy?.origin ?? null,
        };
      }
      if (step.action === 'update') {
        return {
          ...base,
          id: step.id,
          fields: step.fields,
          policy:
            step.policy === null
              ? null
              : {
                  from_version: step.policy.fromVersion,
                  origin: step.desired.policy?.origin ?? null,
                  diff: step.policy.diff.join('\n'),
                },
        };
      }
      return { ...base, id: step.id };
    }),
  };
}
