// apply and diff: load gatehouse.yaml, validate its policies locally, read the current state, plan, and (apply) execute.
import { basename } from 'node:path';
import type { PolicyTestCase } from '@gatehouse/contracts';
import { CliError, ExitCode, UsageError } from './cli-errors.js';
import type { CommandContext, CommandSpec } from './command.js';
import { type DesiredState, loadDeclarativeFile } from './declarative-file.js';
import {
  type CreateEndpointBody,
  type GatehouseApi,
  isManagedEndpoint,
  type UpdateEndpointBody,
} from './gatehouse-api.js';
import { printJson, printLines } from './output.js';
import {
  buildPlan,
  countSteps,
  type CurrentState,
  hasChanges,
  type Plan,
  type PlanStep,
  planToJson,
  renderPlan,
} from './plan.js';
import { validatePolicyText } from './policy-check.js';
import { formatReport, runTests } from './policy-tests.js';
import { confirm, stdinIsTerminal } from './prompt.js';

/**
 * Every policy of the file through the engine before anything is sent. Known internal endpoints (declared or existing)
 * are passed so a forward-internal to an unknown one is reported as a warning here too.
 */
function validateDesiredPolicies(context: CommandContext, desired: DesiredState, current: CurrentState): void {
  const internalUrls = new Set([
    ...current.endpoints.filter((endpoint) => endpoint.type === 'internal').map((endpoint) => endpoint.url),
    ...desired.endpoints.filter((endpoint) => endpoint.type === 'internal').map((endpoint) => endpoint.url),
  ]);
  const errors: string[] = [];
  for (const endpoint of desired.endpoints) {
    if (endpoint.policy === undefined) continue;
    const { policy } = endpoint;
    const result = validatePolicyText(policy.text, endpoint.type, internalUrls);
    for (const issue of result.errors) errors.push(`${policy.locate(issue)} ${issue.code} ${issue.message}`);
    for (const issue of result.warnings) {
      context.io.stderr(`${policy.locate(issue)} ${issue.code} ${issue.message} (warning)\n`);
    }
  }
  if (errors.length > 0) {
    throw new CliError(
      `the file's policies have ${errors.length} error${errors.length === 1 ? '' : 's'}; nothing was changed`,
      ExitCode.ERROR,
      errors,
    );
  }
}

/**
 * Runs the test cases of every policy the file declares before anything is sent: the file's own cases, or for a
 * changed policy without them the cases the server would carry over to the new version (it runs them at save too, but
 * only once apply is under way). Any failing case stops apply and diff with the report; nothing is changed.
 */
async function checkPolicyTests(
  context: CommandContext,
  client: GatehouseApi,
  desired: DesiredState,
  plan: Plan,
): Promise<void> {
  const subjects: {
    url: string;
    type: DesiredState['endpoints'][number]['type'];
    text: string;
    cases: PolicyTestCase[];
  }[] = [];
  for (const step of plan.steps) {
    if (
      step.resource !== 'endpoint' ||
      (step.action !== 'create' && step.action !== 'update' && step.action !== 'unchanged')
    )
      continue;
    const endpoint = desired.endpoints.find((candidate) => candidate.url === step.url);
    if (endpoint?.policy === undefined) continue;
    let cases = endpoint.tests?.cases;
    if (cases === undefined && step.action === 'update' && step.policy !== null && step.policy.fromVersion !== null)
      cases = (await client.getPolicyVersion(step.id, step.policy.fromVersion)).tests;
    if (cases !== undefined && cases.length > 0)
      subjects.push({ url: endpoint.url, type: endpoint.type, text: endpoint.policy.text, cases });
  }
  if (subjects.length === 0) return;
  // The install's categories, as the API runs the cases with them; the file's own definitions win.
  const categories = new Map((await client.listIpCategories()).map((category) => [category.name, category.cidrs]));
  for (const category of desired.ipCategories ?? []) categories.set(category.name, category.cidrs);
  const ipCategories = [...categories].map(([name, cidrs]) => ({ name, cidrs }));
  const failures: string[] = [];
  let failed = 0;
  for (const subject of subjects) {
    const report = await runTests(
      { name: subject.url, text: subject.text, endpoint: subject, cases: subject.cases },
      ipCategories,
    );
    if (report.failed > 0) {
      failed += report.failed;
      failures.push(...formatReport(subject.url, report));
    } else context.io.stderr(`${subject.url}: ${report.passed} policy test${report.passed === 1 ? '' : 's'} passed\n`);
  }
  if (failed > 0)
    throw new CliError(
      `${failed} policy test${failed === 1 ? '' : 's'} failed; nothing was changed`,
      ExitCode.ERROR,
      failures,
    );
}

async function preparePlan(context: CommandContext): Promise<{ plan: Plan; client: GatehouseApi; file: string }> {
  const file = context.requireString('file');
  const desired = await loadDeclarativeFile(file, { cwd: context.io.cwd });
  const client = await context.client();
  const [endpoints, ipCategories] = await Promise.all([
    client.listEndpoints(),
    desired.ipCategories === null ? Promise.resolve([]) : client.listIpCategories(),
  ]);
  const current: CurrentState = { endpoints: endpoints.filter(isManagedEndpoint), ipCategories };
  validateDesiredPolicies(context, desired, current);
  const plan = buildPlan(desired, current, { prune: context.flag('prune') });
  if (plan.problems.length > 0) {
    throw new CliError(`${file} cannot be applied to ${client.apiUrl}`, ExitCode.ERROR, plan.problems);
  }
  await checkPolicyTests(context, client, desired, plan);
  return { plan, client, file };
}

interface StepResult {
  resource: PlanStep['resource'];
  action: PlanStep['action'];
  key: string;
  id?: string;
  policy_version?: number | null;
}

async function executeStep(client: GatehouseApi, step: PlanStep, message: string): Promise<StepResult | null> {
  if (step.resource === 'ip_category') {
    switch (step.action) {
      case 'create':
      case 'update':
        await client.putIpCategory(step.name, step.cidrs, step.description);
        return { resource: step.resource, action: step.action, key: step.name };
      case 'delete':
        await client.deleteIpCategory(step.name);
        return { resource: step.resource, action: step.action, key: step.name };
      case 'unchanged':
      case 'unmanaged':
        return null;
    }
  }
  switch (step.action) {
    case 'create': {
      const { desired } = step;
      const body: CreateEndpointBody = {
        url: desired.url,
        type: desired.type,
        ...(desired.description === undefined ? {} : { description: desired.description }),
        ...(desired.metadata === undefined ? {} : { metadata: desired.metadata }),
        ...(desired.upstreamUrl === undefined ? {} : { upstream_url: desired.upstreamUrl }),
        ...(desired.upstreamHostHeader === undefined ? {} : { upstream_host_header: desired.upstreamHostHeader }),
        ...(desired.requestLogCapture === undefined ? {} : { request_log_capture: desired.requestLogCapture }),
        ...(desired.policy === undefined ? {} : { traffic_policy: desired.policy.text, policy_message: message }),
        ...(desired.tests === undefined ? {} : { policy_tests: desired.tests.cases }),
      };
      const created = await client.createEndpoint(body);
      return {
        resource: step.resource,
        action: step.action,
        key: step.url,
        id: created.id,
        policy_version: created.policy_version,
      };
    }
    case 'update': {
      const body: UpdateEndpointBody = {};
      for (const change of step.fields) {
        switch (change.field) {
          case 'upstream_host_header':
            body.upstream_host_header = change.to as 'preserve' | 'rewrite';
            break;
          // The API takes either option alone and keeps the other, so only the changed ones are sent.
          case 'request_log_capture.headers':
            body.request_log_capture = { ...body.request_log_capture, headers: change.to };
            break;
          case 'request_log_capture.bodies':
            body.request_log_capture = { ...body.request_log_capture, bodies: change.to };
            break;
          case 'description':
          case 'metadata':
          case 'upstream_url':
            body[change.field] = change.to;
            break;
        }
      }
      if (step.policy !== null) {
        body.traffic_policy = step.policy.text;
        body.policy_message = message;
        if (step.desired.tests !== undefined) body.policy_tests = step.desired.tests.cases;
      }
      // One PATCH: field changes and the new policy version land in one transaction.
      const updated = await client.updateEndpoint(step.id, body);
      return {
        resource: step.resource,
        action: step.action,
        key: step.url,
        id: step.id,
        policy_version: updated.policy_version,
      };
    }
    case 'delete':
      await client.deleteEndpoint(step.id);
      return { resource: step.resource, action: step.action, key: step.url, id: step.id };
    case 'unchanged':
    case 'unmanaged':
      return null;
  }
}

function describeResult(result: StepResult): string {
  const noun = result.resource === 'ip_category' ? 'ip category' : 'endpoint';
  const verb = result.action === 'create' ? 'created' : result.action === 'update' ? 'updated' : 'deleted';
  const details = [
    ...(result.id !== undefined && result.action !== 'delete' ? [result.id] : []),
    ...(result.policy_version === undefined || result.policy_version === null
      ? []
      : [`policy v${result.policy_version}`]),
  ];
  return `${verb} ${noun} ${result.key}${details.length === 0 ? '' : ` (${details.join(', ')})`}`;
}

async function runDiff(context: CommandContext): Promise<number> {
  const { plan } = await preparePlan(context);
  if (context.json) printJson(context.io, planToJson(plan));
  else printLines(context.io.stdout, renderPlan(plan));
  return hasChanges(plan) ? ExitCode.CHANGES_PENDING : ExitCode.OK;
}

async function runApply(context: CommandContext): Promise<number> {
  const yes = context.flag('yes');
  // Decided before anything is read, so a CI job without --yes fails the same way whether or not changes are pending.
  if (!yes && !stdinIsTerminal(context.io)) {
    throw new UsageError('refusing to apply without confirmation: stdin is not a terminal; pass --yes', 'apply');
  }
  const { plan, client, file } = await preparePlan(context);
  if (!context.json) printLines(context.io.stdout, renderPlan(plan));
  if (!hasChanges(plan)) {
    if (context.json) printJson(context.io, { ...planToJson(plan), applied: [] });
    return ExitCode.OK;
  }
  if (!yes) {
    const counts = countSteps(plan);
    const total = counts.create + counts.update + counts.delete;
    if (!(await confirm(context.io, `Apply ${total} change${total === 1 ? '' : 's'} to ${client.apiUrl}?`))) {
      throw new CliError('apply cancelled; nothing was changed');
    }
  }
  const message = context.string('message') ?? `gatehouse apply (${basename(file)})`;
  const results: StepResult[] = [];
  const pending = plan.steps.filter(
    (step) => step.action === 'create' || step.action === 'update' || step.action === 'delete',
  );
  for (const step of pending) {
    try {
      const result = await executeStep(client, step, message);
      if (result === null) continue;
      results.push(result);
      if (!context.json) context.io.stdout(`${describeResult(result)}\n`);
    } catch (error) {
      const key = step.resource === 'ip_category' ? step.name : step.url;
      context.io.stderr(
        `apply stopped at "${step.action} ${key}" after ${results.length} of ${pending.length} changes; ` +
          'fix the problem and run apply again (it continues from the current state)\n',
      );
      throw error;
    }
  }
  if (context.json) printJson(context.io, { ...planToJson(plan), applied: results });
  else context.io.stdout(`Applied ${results.length} change${results.length === 1 ? '' : 's'}.\n`);
  return ExitCode.OK;
}

const sharedOptions = {
  file: { type: 'string', short: 'f', value: 'FILE', description: 'the declarative file (see README: gatehouse.yaml)' },
  prune: {
    type: 'boolean',
    description: 'also delete endpoints (and managed IP categories) that the file does not list',
  },
} as const;

export const declarativeCommands: CommandSpec[] = [
  {
    name: 'diff',
    summary: 'show what apply would change (exit 0: nothing, 2: changes pending)',
    usage: 'gatehouse diff -f gatehouse.yaml [--prune] [--json]',
    description:
      'Prints the plan: + create, ~ update (fields, and a diff of the policy), - delete (only with --prune),\n' +
      '= unchanged, ? on the server but not in the file. Exit codes, like `terraform plan -detailed-exitcode`:\n' +
      '0 nothing to do, 2 changes pending, 1 error (invalid file, policy errors, API error).',
    options: { ...sharedOptions },
    positionals: [],
    examples: [
      'gatehouse diff -f gatehouse.yaml',
      'gatehouse diff -f gatehouse.yaml; case $? in 0) echo in sync;; 2) echo drift;; *) exit 1;; esac',
    ],
    run: runDiff,
  },
  {
    name: 'apply',
    summary: 'make the install match gatehouse.yaml (prints the plan, then applies it)',
    usage: 'gatehouse apply -f gatehouse.yaml [--prune] [--yes] [-m MESSAGE]',
    description:
      'Validates the file and its policies locally, prints the plan, asks for confirmation and applies it: IP\n' +
      'categories, internal endpoints, cloud endpoints, then deletions. Idempotent: a policy whose text is unchanged\n' +
      'gets no new version, so a second apply does nothing. Without --prune nothing is ever deleted. When stdin is not\n' +
      'a terminal (CI), --yes is required.',
    options: {
      ...sharedOptions,
      yes: { type: 'boolean', short: 'y', description: 'apply without asking' },
      message: {
        type: 'string',
        short: 'm',
        value: 'TEXT',
        description: 'message of the policy versions created (default: "gatehouse apply (FILE)")',
      },
    },
    positionals: [],
    examples: ['gatehouse apply -f gatehouse.yaml', 'gatehouse apply -f gatehouse.yaml --prune --yes -m "release 42"'],
    run: runApply,
  },
];
