// policy get | set | versions | restore | replay | shadow | stats | validate | test
import { endpointTypes, parseEndpointUrl, policyEndpointType, type PolicyTestReport } from '@gatehouse/contracts';
import { parse as parsePolicyText } from '@gatehouse/traffic-policy';
import { parse as parseYaml } from 'yaml';
import { loadDeclarativeFile, parseTestsText } from './declarative-file.js';
import { formatReport, type PolicyUnderTest, runTests } from './policy-tests.js';
import { CliError, ExitCode, UsageError } from './cli-errors.js';
import type { CommandContext, CommandSpec } from './command.js';
import { endpointArgument } from './endpoints-commands.js';
import {
  type Endpoint,
  type PolicyRuleStats,
  type ReplayReport,
  type RequestLogSummary,
  resolveEndpoint,
} from './gatehouse-api.js';
import { printJson, printLines, renderTable } from './output.js';
import { confirm, stdinIsTerminal } from './prompt.js';
import { unifiedDiff } from './text-diff.js';
import {
  assertPolicyValid,
  formatValidation,
  printPolicyWarnings,
  readPolicySource,
  validatePolicyText,
} from './policy-check.js';

function parseVersion(text: string | undefined, command: string): number {
  const version = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(version) || version < 1) {
    throw new UsageError(`the version must be a positive integer, not "${text ?? ''}"`, command);
  }
  return version;
}

async function runGet(context: CommandContext): Promise<number> {
  const client = await context.client();
  const endpoint = await resolveEndpoint(client, context.positional(0) ?? '');
  const versionText = context.string('version');
  let version: number;
  let text: string;
  if (versionText !== undefined) {
    const stored = await client.getPolicyVersion(endpoint.id, parseVersion(versionText, 'policy get'));
    version = stored.version;
    text = stored.traffic_policy;
  } else {
    if (endpoint.traffic_policy === null || endpoint.policy_version === null) {
      throw new CliError(`${endpoint.url} has no policy`);
    }
    version = endpoint.policy_version;
    text = endpoint.traffic_policy;
  }
  if (context.json) {
    printJson(context.io, {
      endpoint_id: endpoint.id,
      url: endpoint.url,
      version,
      active: version === endpoint.policy_version,
      traffic_policy: text,
    });
  } else {
    // Exactly the stored text, so `policy get … > policy.yaml` round-trips byte for byte.
    context.io.stdout(text);
  }
  return ExitCode.OK;
}

async function runSet(context: CommandContext): Promise<number> {
  const source = await readPolicySource(context.io, context.requireString('file'));
  const client = await context.client();
  const endpoint = await resolveEndpoint(client, context.positional(0) ?? '');
  assertPolicyValid(source, policyEndpointType(endpoint.type));
  if (source.text === endpoint.traffic_policy) {
    // Saving the same text again would only add a version identical to the active one.
    if (context.json) {
      printJson(context.io, { endpoint_id: endpoint.id, version: endpoint.policy_version, changed: false });
    } else {
      context.io.stdout(
        `${endpoint.url}: unchanged (version ${endpoint.policy_version ?? '?'} is already this text)\n`,
      );
    }
    return ExitCode.OK;
  }
  const saved = await client.createPolicyVersion(endpoint.id, source.text, context.string('message') ?? '');
  printPolicyWarnings(context.io, source.name, saved.policy_warnings);
  if (context.json) printJson(context.io, { ...saved, changed: true });
  else context.io.stdout(`${endpoint.url}: saved and activated policy version ${saved.version}\n`);
  return ExitCode.OK;
}

async function runVersions(context: CommandContext): Promise<number> {
  const client = await context.client();
  const endpoint = await resolveEndpoint(client, context.positional(0) ?? '');
  const versions = await client.listPolicyVersions(endpoint.id);
  if (context.json) {
    printJson(context.io, { endpoint_id: endpoint.id, url: endpoint.url, versions });
    return ExitCode.OK;
  }
  if (versions.length === 0) {
    context.io.stdout(`${endpoint.url} has no policy versions.\n`);
    return ExitCode.OK;
  }
  printLines(
    context.io.stdout,
    renderTable(
      ['VERSION', 'ACTIVE', 'RESTORED FROM', 'CREATED', 'BY', 'MESSAGE'],
      versions.map((version) => [
        String(version.version),
        version.active ? '*' : '',
        version.restored_from === null ? '' : `v${version.restored_from}`,
        version.created_at,
        version.created_by ?? 'agent session',
        version.message,
      ]),
    ),
  );
  return ExitCode.OK;
}

async function runRestore(context: CommandContext): Promise<number> {
  const version = parseVersion(context.positional(1), 'policy restore');
  const yes = context.flag('yes');
  // Decided before anything is read (as `apply` does): a CI job without --yes fails the same way every time.
  if (!yes && !stdinIsTerminal(context.io))
    throw new UsageError(
      'refusing to restore without confirmation: stdin is not a terminal; pass --yes',
      'policy restore',
    );
  const client = await context.client();
  const endpoint = await resolveEndpoint(client, context.positional(0) ?? '');
  if (version === endpoint.policy_version)
    throw new CliError(`${endpoint.url}: version ${version} is already active; nothing to restore`);
  const target = await client.getPolicyVersion(endpoint.id, version);

  // The preview: what the text change is, and what it would have decided differently on recorded traffic.
  const activeLabel =
    endpoint.policy_version === null ? 'no active policy' : `version ${endpoint.policy_version} (active)`;
  const diff = unifiedDiff(endpoint.traffic_policy ?? '', target.traffic_policy, {
    old: activeLabel,
    new: `version ${version}`,
  });
  // Without an active policy there is nothing to replay against but what the data planes did.
  const replay = await client.replayPolicy(endpoint.id, {
    version,
    baseline: endpoint.policy_version === null ? 'recorded' : 'active',
  });
  if (!context.json) {
    printLines(context.io.stdout, [
      `${endpoint.url}: restoring version ${version} over ${activeLabel}`,
      '',
      ...(diff.length === 0 ? ['(the texts are identical)'] : diff),
      '',
      ...replaySummaryLines(endpoint, replay),
      '',
    ]);
  }
  if (!yes && !(await confirm(context.io, `Restore version ${version} of ${endpoint.url} as the active policy?`)))
    throw new CliError('cancelled; nothing was restored');

  const restored = await client.restorePolicyVersion(endpoint.id, version, context.string('message'), {
    allowFailingTests: context.flag('allow-failing-tests'),
  });
  printPolicyWarnings(context.io, `${endpoint.url} v${version}`, restored.policy_warnings);
  if (context.json) printJson(context.io, { endpoint_id: endpoint.id, url: endpoint.url, diff, replay, restored });
  else context.io.stdout(`${endpoint.url}: restored version ${version} as version ${restored.version} (active)\n`);
  return ExitCode.OK;
}

async function runValidate(context: CommandContext): Promise<number> {
  const typeText = context.string('type') ?? 'cloud';
  const type = endpointTypes.find((candidate) => candidate === typeText);
  if (type === undefined)
    throw new UsageError(`--type must be cloud or internal, not "${typeText}"`, 'policy validate');
  const source = await readPolicySource(context.io, context.requireString('file'));
  const result = validatePolicyText(source.text, type);
  if (context.json) {
    printJson(context.io, { file: source.name, endpoint_type: type, ...result });
  } else {
    printLines(context.io.stdout, formatValidation(source.name, result));
    const summary = result.valid
      ? `${source.name}: valid ${type} policy`
      : `${source.name}: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}`;
    const warnings =
      result.warnings.length === 0
        ? ''
        : `, ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}`;
    (result.valid ? context.io.stdout : context.io.stderr)(`${summary}${warnings}\n`);
  }
  return result.valid ? ExitCode.OK : ExitCode.ERROR;
}

/** What `policy replay` prints (and `policy restore` previews): totals, then each group with example request ids. */
function replaySummaryLines(endpoint: Pick<Endpoint, 'url'>, report: ReplayReport): string[] {
  const against =
    report.baseline.kind === 'recorded'
      ? 'what the data planes did'
      : `version ${report.baseline.version ?? '?'}${report.baseline.kind === 'active' ? ' (active)' : ''}`;
  const lines = [
    `${endpoint.url}: replayed ${report.requests} recorded request${report.requests === 1 ? '' : 's'}` +
      (report.from === null ? '' : ` from ${report.from} to ${report.to ?? ''}`) +
      ` against ${against} in ${report.duration_ms} ms`,
    report.changed === 0
      ? 'no decision changes'
      : `${report.changed} decision${report.changed === 1 ? '' : 's'} change, ${report.unchanged} unchanged:`,
  ];
  for (const group of report.groups) {
    lines.push(`  ${group.summary}`);
    lines.push(`    e.g. ${group.example_request_ids.join(', ')}`);
  }
  for (const note of report.notes) lines.push(`note: ${note}`);
  return lines;
}

async function runReplay(context: CommandContext): Promise<number> {
  const file = context.string('file');
  const versionText = context.string('version');
  if ((file === undefined) === (versionText === undefined))
    throw new UsageError(
      'give the draft with -f FILE or a stored version with --version N (one of them)',
      'policy replay',
    );
  const baselineText = context.string('against') ?? 'active';
  const baseline =
    baselineText === 'active' || baselineText === 'recorded'
      ? baselineText
      : parseVersion(baselineText, 'policy replay');
  const limitText = context.string('limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1))
    throw new UsageError(`--limit must be a positive integer, not "${limitText}"`, 'policy replay');
  const client = await context.client();
  const endpoint = await resolveEndpoint(client, context.positional(0) ?? '');
  let draft: { traffic_policy: string } | { version: number };
  if (file !== undefined) {
    const source = await readPolicySource(context.io, file);
    assertPolicyValid(source, policyEndpointType(endpoint.type));
    draft = { traffic_policy: source.text };
  } else draft = { version: parseVersion(versionText, 'policy replay') };
  const report = await client.replayPolicy(endpoint.id, {
    ...draft,
    baseline,
    ...(limit === undefined ? {} : { limit }),
  });
  if (context.json) {
    printJson(context.io, report);
    return ExitCode.OK;
  }
  const lines = replaySummaryLines(endpoint, report);
  printLines(context.io.stdout, lines);
  return ExitCode.OK;
}

/** How far `policy shadow` counts differences (request-log pages of 500); beyond it says "10000+". */
const shadowDifferenceCountCap = 10_000;
/** How many of the newest differing requests `policy shadow` lists. */
const shadowDifferencesListed = 10;

function shadowOutcome(shadow: NonNullable<RequestLogSummary['shadow']>): string {
  const decided = shadow.decision ? ` (${shadow.decision.action})` : '';
  switch (shadow.outcome) {
    case 'respond':
      return `${shadow.status ?? '?'}${decided}`;
    case 'forward':
      return `forward ${shadow.forwarded_to ?? '?'}${decided}`;
    case 'close':
      return `close${decided}`;
    case 'continue':
      return `upstream${decided}`;
  }
}

function liveOutcome(row: RequestLogSummary): string {
  const decided = row.decision ? ` (${row.decision.action})` : '';
  return row.forwarded_to ? `forward ${row.forwarded_to}${decided}` : `${row.status}${decided}`;
}

async function runShadow(context: CommandContext): Promise<number> {
  const file = context.string('file');
  const versionText = context.string('version');
  const promote = context.flag('promote');
  const discard = context.flag('discard');
  const modes = [file !== undefined || versionText !== undefined, promote, discard].filter(Boolean).length;
  if (modes > 1 || (file !== undefined && versionText !== undefined))
    throw new UsageError('give one of -f FILE, --version N, --promote or --discard (or none to show)', 'policy shadow');
  if (context.string('sha256') !== undefined && !promote)
    throw new UsageError('--sha256 goes with --promote', 'policy shadow');
  const client = await context.client();
  const endpoint = await resolveEndpoint(client, context.positional(0) ?? '');
  const message = context.string('message');

  if (file !== undefined || versionText !== undefined) {
    let body: { traffic_policy: string } | { from_version: number };
    if (file !== undefined) {
      const source = await readPolicySource(context.io, file);
      assertPolicyValid(source, policyEndpointType(endpoint.type));
      body = { traffic_policy: source.text };
    } else body = { from_version: parseVersion(versionText, 'policy shadow') };
    const updated = await client.publishShadowPolicy(endpoint.id, {
      ...body,
      ...(message === undefined ? {} : { message }),
    });
    printPolicyWarnings(context.io, file ?? `${endpoint.url} v${versionText ?? ''}`, updated.policy_warnings);
    const shadow = updated.shadow_policy ?? null;
    if (context.json) printJson(context.io, { endpoint_id: endpoint.id, url: endpoint.url, shadow_policy: shadow });
    else
      context.io.stdout(
        `${endpoint.url}: shadow ${shadow?.sha256.slice(0, 12) ?? '?'} published; data planes evaluate it beside ` +
          `version ${endpoint.policy_version ?? '?'} without enforcing it\n`,
      );
    return ExitCode.OK;
  }

  if (discard) {
    await client.discardShadowPolicy(endpoint.id);
    if (context.json) printJson(context.io, { endpoint_id: endpoint.id, url: endpoint.url, shadow_policy: null });
    else context.io.stdout(`${endpoint.url}: shadow policy discarded\n`);
    return ExitCode.OK;
  }

  const shadow = endpoint.shadow_policy ?? null;
  if (promote) {
    // The sha256 the user saw (--sha256) or the one just read: a shadow replaced in between is refused (409).
    const sha256 = context.string('sha256') ?? shadow?.sha256;
    if (sha256 === undefined) throw new CliError(`${endpoint.url} has no shadow policy to promote`);
    const version = await client.promoteShadowPolicy(endpoint.id, {
      sha256,
      ...(message === undefined ? {} : { message }),
      ...(context.flag('allow-failing-tests') ? { allow_failing_tests: true } : {}),
    });
    printPolicyWarnings(context.io, `${endpoint.url} shadow`, version.policy_warnings);
    if (context.json) printJson(context.io, version);
    else context.io.stdout(`${endpoint.url}: promoted the shadow policy as version ${version.version} (active)\n`);
    return ExitCode.OK;
  }

  if (shadow === null) {
    if (context.json) printJson(context.io, { endpoint_id: endpoint.id, url: endpoint.url, shadow_policy: null });
    else context.io.stdout(`${endpoint.url} has no shadow policy.\n`);
    return ExitCode.OK;
  }
  const differences = await client.countShadowDifferences(
    endpoint.id,
    shadow.created_at,
    shadowDifferenceCountCap,
    shadowDifferencesListed,
  );
  const count = `${differences.count}${differences.more ? '+' : ''}`;
  if (context.json) {
    printJson(context.io, {
      endpoint_id: endpoint.id,
      url: endpoint.url,
      shadow_policy: shadow,
      differences: { count: differences.count, more: differences.more, newest: differences.newest },
    });
    return ExitCode.OK;
  }
  const lines = [
    `${endpoint.url}: shadow ${shadow.sha256} published ${shadow.created_at}` +
      (shadow.message ? ` (${shadow.message})` : ''),
    `${count} request${count === '1' ? '' : 's'} decided differently since then (active: version ${endpoint.policy_version ?? '?'})`,
  ];
  if (differences.newest.length > 0) {
    lines.push('');
    lines.push(
      ...renderTable(
        ['TIME', 'REQUEST', 'LIVE', 'SHADOW', 'ID'],
        differences.newest.map((row) => [
          row.timestamp,
          `${row.method} ${row.path}${row.query ? `?${row.query}` : ''}`,
          liveOutcome(row),
          row.shadow ? shadowOutcome(row.shadow) : '',
          row.id,
        ]),
      ),
    );
  }
  printLines(context.io.stdout, lines);
  return ExitCode.OK;
}

/** The windows the API counts in (`last_hour` and `last_day` of each rule), by their command-line names. */
const statsWindows = { '1h': 'last_hour', '24h': 'last_day' } as const;
const statsPhases = ['on_tcp_connect', 'on_http_request', 'on_http_response'] as const;
/** The deprecated names of the counted phases: their rules are counted under the phase they alias. */
const phaseAliases: Record<string, (typeof statsPhases)[number]> = {
  inbound: 'on_http_request',
  outbound: 'on_http_response',
};

/** Rule names per phase, read from the version's text (counters carry only the phase and the index). */
function ruleNames(text: string | null): Map<string, (string | null)[]> {
  const names = new Map<string, (string | null)[]>();
  const document = text === null ? undefined : parsePolicyText(text).document;
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return names;
  for (const [key, rules] of Object.entries(document)) {
    const phase = phaseAliases[key] ?? key;
    if (!(statsPhases as readonly string[]).includes(phase) || !Array.isArray(rules)) continue;
    names.set(
      phase,
      rules.map((rule: unknown) =>
        rule !== null && typeof rule === 'object' && 'name' in rule && typeof rule.name === 'string' ? rule.name : null,
      ),
    );
  }
  return names;
}

function formatLatency(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`;
}

async function runStats(context: CommandContext): Promise<number> {
  const versionText = context.string('version');
  const requested = versionText === undefined ? undefined : parseVersion(versionText, 'policy stats');
  const windowText = context.string('window') ?? '1h';
  if (!(windowText in statsWindows))
    throw new UsageError(`--window must be 1h or 24h, not "${windowText}"`, 'policy stats');
  const window = statsWindows[windowText as keyof typeof statsWindows];
  const client = await context.client();
  const endpoint = await resolveEndpoint(client, context.positional(0) ?? '');
  const stats: PolicyRuleStats = await client.getPolicyRuleStats(endpoint.id, requested);
  const version = stats.policy_version;
  const text =
    version === null
      ? null
      : version === endpoint.policy_version
        ? endpoint.traffic_policy
        : (await client.getPolicyVersion(endpoint.id, version)).traffic_policy;
  const names = ruleNames(text);
  const nameOf = (phase: string, index: number): string | null => names.get(phase)?.[index] ?? null;
  if (context.json) {
    printJson(context.io, {
      ...stats,
      url: endpoint.url,
      window: windowText,
      rules: stats.rules.map((rule) => ({ ...rule, rule_name: nameOf(rule.phase, rule.rule_index) })),
    });
    return ExitCode.OK;
  }
  if (version === null) {
    context.io.stdout(`${endpoint.url} has no active policy, so no rule counters.\n`);
    return ExitCode.OK;
  }
  const label = `version ${version}${version === endpoint.policy_version ? ' (active)' : ''}`;
  const windowName = windowText === '1h' ? 'the last hour' : 'the last day';
  const counted = stats.rules.filter((rule) => rule[window].evaluations > 0);
  if (counted.length === 0) {
    // Counts reach the API with data-plane heartbeats, so a version published seconds ago has none yet.
    context.io.stdout(
      `${endpoint.url}: ${label} has no traffic in ${windowName} yet ` +
        `(data planes report counts every ${stats.heartbeat_interval_seconds} s)\n`,
    );
    return ExitCode.OK;
  }
  // Every rule of the version gets a row, so a rule that never matched shows as 0 hits rather than missing.
  const byRule = new Map(stats.rules.map((rule) => [`${rule.phase}/${rule.rule_index}`, rule]));
  const keys = new Set<string>();
  for (const phase of statsPhases)
    for (let index = 0; index < (names.get(phase)?.length ?? 0); index++) keys.add(`${phase}/${index}`);
  for (const rule of stats.rules) keys.add(`${rule.phase}/${rule.rule_index}`);
  const ordered = [...keys].sort((a, b) => {
    const [phaseA = '', indexA = '0'] = a.split('/');
    const [phaseB = '', indexB = '0'] = b.split('/');
    return (
      statsPhases.indexOf(phaseA as (typeof statsPhases)[number]) -
        statsPhases.indexOf(phaseB as (typeof statsPhases)[number]) || Number(indexA) - Number(indexB)
    );
  });
  const lines = [`${endpoint.url}: rule counters of ${label} over ${windowName}`, ''];
  lines.push(
    ...renderTable(
      ['PHASE', 'RULE', 'NAME', 'EVALUATED', 'HITS', 'DENIES', 'AVG LATENCY', 'LAST MATCH'],
      ordered.map((key) => {
        const [phase = '', indexText = '0'] = key.split('/');
        const rule = byRule.get(key);
        const counts = rule?.[window];
        return [
          phase,
          indexText,
          nameOf(phase, Number(indexText)) ?? '',
          String(counts?.evaluations ?? 0),
          String(counts?.hits ?? 0),
          String(counts?.denies ?? 0),
          formatLatency(counts?.avg_latency_ms ?? null),
          rule?.last_match_at ?? 'never',
        ];
      }),
    ),
  );
  lines.push(
    '',
    `Counts are up to ${stats.heartbeat_interval_seconds} s old (they arrive with data-plane heartbeats).`,
  );
  printLines(context.io.stdout, lines);
  return ExitCode.OK;
}

/** gatehouse.yaml rather than a policy: a mapping with the declarative file's own keys. */
function looksDeclarative(text: string): boolean {
  try {
    const raw: unknown = parseYaml(text);
    return raw !== null && typeof raw === 'object' && !Array.isArray(raw) && ('endpoints' in raw || 'version' in raw);
  } catch {
    return false;
  }
}

async function runTest(context: CommandContext): Promise<number> {
  const file = context.requireString('file');
  const testsFile = context.string('tests');
  const source = await readPolicySource(context.io, file);
  const subjects: PolicyUnderTest[] = [];
  let ipCategories: { name: string; cidrs: string[] }[] = [];
  if (testsFile === undefined && looksDeclarative(source.text)) {
    if (file === '-')
      throw new UsageError('read gatehouse.yaml from a file, not stdin (it names other files)', 'policy test');
    const desired = await loadDeclarativeFile(file, { cwd: context.io.cwd });
    ipCategories = desired.ipCategories ?? [];
    for (const endpoint of desired.endpoints) {
      if (endpoint.policy === undefined || endpoint.tests === undefined) continue;
      assertPolicyValid({ text: endpoint.policy.text, name: endpoint.policy.origin }, endpoint.type);
      subjects.push({ name: endpoint.url, text: endpoint.policy.text, endpoint, cases: endpoint.tests.cases });
    }
    if (subjects.length === 0) throw new CliError(`${file} declares no tests (add tests or tests_file to an endpoint)`);
  } else {
    if (testsFile === undefined)
      throw new UsageError('give the cases with --tests FILE (or -f gatehouse.yaml with tests in it)', 'policy test');
    const urlText = context.string('url') ?? 'https://api.example.com';
    const address = parseEndpointUrl(urlText);
    if (!address.ok) throw new UsageError(`--url: ${address.problem}`, 'policy test');
    const typeText = context.string('type') ?? address.value.type;
    const type = endpointTypes.find((candidate) => candidate === typeText);
    if (type === undefined) throw new UsageError(`--type must be cloud or internal, not "${typeText}"`, 'policy test');
    const tests = await readPolicySource(context.io, testsFile);
    assertPolicyValid(source, type);
    subjects.push({
      name: source.name,
      text: source.text,
      endpoint: { url: address.value.url, type },
      cases: parseTestsText(tests.text, tests.name),
    });
  }
  const reports: { name: string; report: PolicyTestReport }[] = [];
  for (const subject of subjects) reports.push({ name: subject.name, report: await runTests(subject, ipCategories) });
  const failed = reports.reduce((sum, { report }) => sum + report.failed, 0);
  const passed = reports.reduce((sum, { report }) => sum + report.passed, 0);
  if (context.json) printJson(context.io, { file: source.name, passed, failed, reports });
  else {
    for (const { name, report } of reports) printLines(context.io.stdout, formatReport(name, report));
    // One subject's report already ends with its totals.
    if (reports.length > 1) context.io.stdout(`${passed} passed, ${failed} failed\n`);
    if (failed > 0) context.io.stderr(`${failed} policy test${failed === 1 ? '' : 's'} failed\n`);
  }
  return failed === 0 ? ExitCode.OK : ExitCode.ERROR;
}

export const policyCommands: CommandSpec[] = [
  {
    name: 'policy get',
    summary: "print an endpoint's active policy (exactly as saved)",
    usage: 'gatehouse policy get <endpoint> [--version N] [--json]',
    options: { version: { type: 'string', value: 'N', description: 'print version N instead of the active one' } },
    positionals: [endpointArgument],
    examples: [
      'gatehouse policy get https://mcp.example.com > policy.yaml',
      'gatehouse policy get mcp.example.com --version 2',
    ],
    run: runGet,
  },
  {
    name: 'policy set',
    summary: 'save a policy as a new version and activate it',
    usage: 'gatehouse policy set <endpoint> -f FILE [-m MESSAGE]',
    description:
      "Validates the file locally against the endpoint's type first (nothing is sent when it has errors). Saving the\n" +
      'text that is already active does nothing (no new version).',
    options: {
      file: { type: 'string', short: 'f', value: 'FILE', description: 'Traffic Policy YAML/JSON (- for stdin)' },
      message: { type: 'string', short: 'm', value: 'TEXT', description: 'version message' },
    },
    positionals: [endpointArgument],
    examples: ['gatehouse policy set https://mcp.example.com -f policy.yaml -m "rate limit 100/min"'],
    run: runSet,
  },
  {
    name: 'policy versions',
    summary: "list an endpoint's policy versions, newest first (all pages)",
    usage: 'gatehouse policy versions <endpoint> [--json]',
    options: {},
    positionals: [endpointArgument],
    examples: ['gatehouse policy versions https://mcp.example.com'],
    run: runVersions,
  },
  {
    name: 'policy restore',
    summary: 'activate an older version after previewing its diff and replay (appends a copy as the newest version)',
    usage: 'gatehouse policy restore <endpoint> <version> [--yes] [--allow-failing-tests] [-m MESSAGE] [--json]',
    description:
      'First prints the diff of the version against the active one and the replay of the version on recorded traffic\n' +
      '(as `policy replay --version N` does), then asks for confirmation; without a terminal (scripts, CI) --yes is\n' +
      "required. The active version's test cases run against the restored text: when one fails the API refuses\n" +
      '(POLICY_TESTS_FAILED, its report printed, exit 1) unless --allow-failing-tests.',
    options: {
      message: {
        type: 'string',
        short: 'm',
        value: 'TEXT',
        description: 'version message (default: "Restored version N")',
      },
      yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation (the preview is still printed)' },
      'allow-failing-tests': { type: 'boolean', description: 'restore even when test cases fail' },
    },
    positionals: [endpointArgument, { name: 'version', required: true, description: 'the version number to restore' }],
    examples: [
      'gatehouse policy restore https://mcp.example.com 2',
      'gatehouse policy restore mcp.example.com 2 --yes',
    ],
    run: runRestore,
  },
  {
    name: 'policy replay',
    summary: "what would this policy do? replay it on the endpoint's recent recorded requests",
    usage:
      'gatehouse policy replay <endpoint> (-f FILE | --version N) [--against active|recorded|N] [--limit N] [--json]',
    description:
      "Evaluates the draft (or stored version N) on the endpoint's newest recorded requests (default 10,000; data\n" +
      'planes keep the newest 20,000 per endpoint) and the baseline the same way, and prints the requests whose\n' +
      'decision changes, grouped, with request-log ids (`gatehouse` request-log views and the dashboard open them).\n' +
      'Exit 0 whatever changes: a replay reports, it does not judge.',
    options: {
      file: { type: 'string', short: 'f', value: 'FILE', description: 'the draft policy (- for stdin)' },
      version: { type: 'string', value: 'N', description: 'replay stored version N instead of a file' },
      against: {
        type: 'string',
        value: 'BASELINE',
        description: 'active (default: the active version, replayed), recorded (what happened) or a version number',
      },
      limit: { type: 'string', value: 'N', description: 'how many of the newest recorded requests (default 10000)' },
    },
    positionals: [endpointArgument],
    examples: [
      'gatehouse policy replay https://mcp.example.com -f policy.yaml',
      'gatehouse policy replay mcp.example.com --version 3 --against recorded --limit 2000',
    ],
    run: runReplay,
  },
  {
    name: 'policy shadow',
    summary: 'try a policy on live traffic without enforcing it: publish, show, promote or discard the shadow',
    usage:
      'gatehouse policy shadow <endpoint> [-f FILE | --version N | --promote [--sha256 HEX] | --discard] [-m MESSAGE] [--json]',
    description:
      'With -f or --version, publishes the policy as shadow (replacing any earlier one): data planes evaluate it beside\n' +
      'the active policy on every request, enforce nothing, and record where it decides differently. Without an\n' +
      'option, shows the shadow and how many requests since it was published it decided differently (the newest ten\n' +
      'listed with request-log ids). --promote saves it as the next version (test cases run; --allow-failing-tests\n' +
      'saves anyway) and --discard drops it.',
    options: {
      file: { type: 'string', short: 'f', value: 'FILE', description: 'publish this policy as shadow (- for stdin)' },
      version: { type: 'string', value: 'N', description: 'publish stored version N as shadow' },
      promote: { type: 'boolean', description: 'save the shadow as the next version and clear it' },
      sha256: {
        type: 'string',
        value: 'HEX',
        description: 'with --promote: the shadow you reviewed (refused if it was replaced since)',
      },
      'allow-failing-tests': { type: 'boolean', description: 'with --promote: save even when test cases fail' },
      discard: { type: 'boolean', description: 'stop evaluating the shadow' },
      message: { type: 'string', short: 'm', value: 'TEXT', description: 'shadow or version message' },
    },
    positionals: [endpointArgument],
    examples: [
      'gatehouse policy shadow https://mcp.example.com -f policy.yaml -m "stricter rate limit"',
      'gatehouse policy shadow mcp.example.com',
      'gatehouse policy shadow mcp.example.com --promote',
    ],
    run: runShadow,
  },
  {
    name: 'policy stats',
    summary: 'per-rule counters of a version: hits, denies, last match and added latency',
    usage: 'gatehouse policy stats <endpoint> [--version N] [--window 1h|24h] [--json]',
    description:
      'One row per rule of the version (the active one unless --version), per phase, over the last hour (default) or\n' +
      'day. Data planes count per rule (never per client) and report with their heartbeats, so the newest counts\n' +
      'are up to one heartbeat old. LAST MATCH is the newest match in the last day.',
    options: {
      version: { type: 'string', value: 'N', description: 'counters of version N instead of the active one' },
      window: { type: 'string', value: 'WINDOW', description: '1h (default) or 24h' },
    },
    positionals: [endpointArgument],
    examples: ['gatehouse policy stats https://mcp.example.com', 'gatehouse policy stats mcp.example.com --window 24h'],
    run: runStats,
  },
  {
    name: 'policy validate',
    summary: 'validate a policy file locally (no server needed)',
    usage: 'gatehouse policy validate -f FILE [--type cloud|internal]',
    description:
      'Prints every issue as `file:line:col CODE message` (warnings end with "(warning)") and exits 1 when there is\n' +
      'an error. Cloud policies must terminate (e.g. end in forward-internal or deny); internal ones need not.',
    options: {
      file: { type: 'string', short: 'f', value: 'FILE', description: 'Traffic Policy YAML/JSON (- for stdin)' },
      type: {
        type: 'string',
        value: 'TYPE',
        description: 'endpoint type the policy is for: cloud (default) or internal',
      },
    },
    positionals: [],
    examples: [
      'gatehouse policy validate -f policy.yaml',
      'gatehouse policy validate -f upstream-policy.yaml --type internal',
    ],
    run: runValidate,
  },
  {
    name: 'policy test',
    summary: "run a policy's test cases locally (exit 1 when one fails; no server needed)",
    usage: 'gatehouse policy test -f FILE [--tests TESTS] [--url URL] [--type cloud|internal] [--json]',
    description:
      'With --tests, FILE is a policy and TESTS a YAML list of cases (README: Testing a policy). Without it, FILE is\n' +
      "gatehouse.yaml and the tests (or tests_file) of each endpoint run against that endpoint's policy. Each case\n" +
      'runs with its own rate-limit counters and a fixed clock; forwarded requests get 200 from a stand-in upstream.',
    options: {
      file: { type: 'string', short: 'f', value: 'FILE', description: 'a policy, or gatehouse.yaml (- for stdin)' },
      tests: { type: 'string', short: 't', value: 'TESTS', description: 'test cases (YAML/JSON list) for the policy' },
      url: {
        type: 'string',
        value: 'URL',
        description: 'the endpoint the policy is for (default https://api.example.com)',
      },
      type: { type: 'string', value: 'TYPE', description: 'cloud or internal (default: from --url)' },
    },
    positionals: [],
    examples: [
      'gatehouse policy test -f policy.yaml --tests policy.tests.yaml',
      'gatehouse policy test -f gatehouse.yaml',
    ],
    run: runTest,
  },
];
