// export and import: move endpoints, their whole policy history and custom IP categories between installs over REST.
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CliError, ExitCode } from './cli-errors.js';
import type { CommandContext, CommandSpec } from './command.js';
import {
  EXPORT_FORMAT,
  EXPORT_FORMAT_VERSION,
  type ExportEndpoint,
  type ExportFile,
  type ExportIpCategory,
  parseExportFile,
} from './export-file.js';
import {
  type Endpoint,
  type GatehouseApi,
  type IpCategory,
  isManagedEndpoint,
  type ManagedEndpoint,
} from './gatehouse-api.js';
import { plural, printJson } from './output.js';
import { validatePolicyText } from './policy-check.js';
import { readAllStdin } from './prompt.js';

/** Internal endpoints first: cloud policies forward to them, and the import replays in this order. */
function byTypeThenUrl(a: { type: string; url: string }, b: { type: string; url: string }): number {
  if (a.type !== b.type) return a.type === 'internal' ? -1 : 1;
  return a.url < b.url ? -1 : a.url > b.url ? 1 : 0;
}

async function exportEndpoint(client: GatehouseApi, endpoint: ManagedEndpoint): Promise<ExportEndpoint> {
  const versions = (await client.listPolicyVersions(endpoint.id)).sort((a, b) => a.version - b.version);
  // The `active` flags come with the versions in one answer, so they agree with the list even if a save races.
  const active = versions.find((version) => version.active)?.version ?? null;
  return {
    id: endpoint.id,
    url: endpoint.url,
    type: endpoint.type,
    description: endpoint.description,
    metadata: endpoint.metadata,
    upstream_url: endpoint.upstream_url,
    upstream_host_header: endpoint.upstream_host_header,
    request_log_capture: endpoint.request_log_capture,
    active_policy_version: active,
    policy_versions: versions.map((version) => ({
      version: version.version,
      traffic_policy: version.traffic_policy,
      sha256: version.sha256,
      message: version.message,
      restored_from: version.restored_from,
      created_by: version.created_by,
      created_at: version.created_at,
    })),
  };
}

export async function buildExport(client: GatehouseApi, now: Date): Promise<ExportFile> {
  const [all, categories] = await Promise.all([client.listEndpoints(), client.listIpCategories()]);
  // Agent endpoints live in their agents' config and vanish with their sessions: an import could not recreate them.
  const endpoints = all.filter(isManagedEndpoint);
  const exported: ExportEndpoint[] = [];
  // One endpoint at a time: an export is rare, and a server under load should not get a burst of parallel reads.
  for (const endpoint of [...endpoints].sort(byTypeThenUrl)) exported.push(await exportEndpoint(client, endpoint));
  return {
    format: EXPORT_FORMAT,
    format_version: EXPORT_FORMAT_VERSION,
    exported_at: now.toISOString(),
    source_api_url: client.apiUrl,
    ip_categories: categories
      .filter((category) => !category.builtin)
      .map((category) => ({ name: category.name, cidrs: category.cidrs, description: category.description }))
      .sort((a, b) => (a.name < b.name ? -1 : 1)),
    endpoints: exported,
  };
}

async function runExport(context: CommandContext): Promise<number> {
  const client = await context.client();
  const file = await buildExport(client, new Date());
  const text = `${JSON.stringify(file, null, 2)}\n`;
  const output = context.string('output');
  const versionCount = file.endpoints.reduce((sum, endpoint) => sum + endpoint.policy_versions.length, 0);
  const summary = `${plural(file.endpoints.length, 'endpoint')} (${plural(versionCount, 'policy version')}) and ${plural(file.ip_categories.length, 'IP category', 'IP categories')}`;
  if (output === undefined || output === '-') {
    context.io.stdout(text);
    context.io.stderr(`Exported ${summary} from ${client.apiUrl}\n`);
  } else {
    // Policies can hold credentials (basic-auth, JWT secrets): the file is private like the config file.
    await writeFile(resolve(context.io.cwd, output), text, { mode: 0o600 });
    if (context.json) {
      printJson(context.io, {
        file: output,
        endpoints: file.endpoints.length,
        policy_versions: versionCount,
        ip_categories: file.ip_categories.length,
      });
    } else {
      context.io.stdout(`Exported ${summary} from ${client.apiUrl} to ${output}\n`);
    }
  }
  return ExitCode.OK;
}

interface ImportConflicts {
  endpoints: ExportEndpoint[];
  categories: ExportIpCategory[];
  messages: string[];
}

function sameCategory(a: ExportIpCategory, b: IpCategory): boolean {
  return (
    a.description === b.description &&
    a.cidrs.length === b.cidrs.length &&
    a.cidrs.every((cidr) => b.cidrs.includes(cidr))
  );
}

function findConflicts(
  file: ExportFile,
  endpoints: readonly Endpoint[],
  categories: readonly IpCategory[],
): ImportConflicts {
  const existingUrls = new Set(endpoints.map((endpoint) => endpoint.url));
  const existingCategories = new Map(categories.map((category) => [category.name, category]));
  const conflicts: ImportConflicts = { endpoints: [], categories: [], messages: [] };
  for (const endpoint of file.endpoints) {
    if (existingUrls.has(endpoint.url)) {
      conflicts.endpoints.push(endpoint);
      conflicts.messages.push(`endpoint ${endpoint.url} already exists`);
    }
  }
  for (const category of file.ip_categories) {
    const existing = existingCategories.get(category.name);
    if (existing === undefined || sameCategory(category, existing)) continue;
    conflicts.categories.push(category);
    conflicts.messages.push(
      existing.builtin
        ? `IP category ${category.name} is built in on the target (read-only)`
        : `IP category ${category.name} already exists with other CIDRs or description`,
    );
  }
  return conflicts;
}

/** Every version must still pass the engine the target runs; checked up front so a bad one stops nothing half-way. */
function validateVersions(endpoints: readonly ExportEndpoint[]): void {
  const problems: string[] = [];
  for (const endpoint of endpoints) {
    for (const version of endpoint.policy_versions) {
      const result = validatePolicyText(version.traffic_policy, endpoint.type);
      for (const issue of result.errors) {
        problems.push(
          `${endpoint.url} v${version.version}:${issue.line}:${issue.column} ${issue.code} ${issue.message}`,
        );
      }
    }
  }
  if (problems.length > 0) {
    throw new CliError(`some policy versions in the export do not validate; nothing was imported`, 1, problems);
  }
}

interface ImportedEndpoint {
  url: string;
  id: string;
  versions: number;
  active_version: number | null;
  /** Set when the export's active version was not its latest: the restore appended this version. */
  restored_active_as: number | null;
}

function expectVersion(endpoint: ExportEndpoint, expected: number, actual: number | null): void {
  if (actual !== expected) {
    throw new CliError(
      `importing ${endpoint.url}: the API numbered the new version ${actual ?? 'null'} instead of ${expected}; the endpoint is incomplete — delete it and import again with --skip-existing`,
    );
  }
}

async function importEndpoint(client: GatehouseApi, endpoint: ExportEndpoint): Promise<ImportedEndpoint> {
  const [first, ...rest] = endpoint.policy_versions;
  const created = await client.createEndpoint({
    url: endpoint.url,
    type: endpoint.type,
    description: endpoint.description,
    metadata: endpoint.metadata,
    ...(endpoint.upstream_url === null ? {} : { upstream_url: endpoint.upstream_url }),
    ...(endpoint.type === 'internal' ? { upstream_host_header: endpoint.upstream_host_header } : {}),
    // Always sent, so the target's setting is the export's even if the API's default ever changes.
    request_log_capture: endpoint.request_log_capture,
    ...(first === undefined ? {} : { traffic_policy: first.traffic_policy, policy_message: first.message }),
  });
  if (first !== undefined) expectVersion(endpoint, 1, created.policy_version);
  for (const version of rest) {
    const source = version.restored_from === null ? undefined : endpoint.policy_versions[version.restored_from - 1];
    // A restore replays as a restore (keeping `restored_from`), as long as it copied the text it names.
    const saved =
      source !== undefined && source.traffic_policy === version.traffic_policy
        ? await client.restorePolicyVersion(created.id, source.version, version.message)
        : await client.createPolicyVersion(created.id, version.traffic_policy, version.message);
    expectVersion(endpoint, version.version, saved.version);
  }
  const latest = endpoint.policy_versions.length;
  let restoredActiveAs: number | null = null;
  if (endpoint.active_policy_version !== null && endpoint.active_policy_version !== latest) {
    // The API activates only by appending (restore copies version N as N+1); history before it is identical.
    const restored = await client.restorePolicyVersion(
      created.id,
      endpoint.active_policy_version,
      `Imported: version ${endpoint.active_policy_version} was active in the export`,
    );
    restoredActiveAs = restored.version;
  }
  return {
    url: endpoint.url,
    id: created.id,
    versions: latest + (restoredActiveAs === null ? 0 : 1),
    active_version: restoredActiveAs ?? (latest === 0 ? null : latest),
    restored_active_as: restoredActiveAs,
  };
}

async function runImport(context: CommandContext): Promise<number> {
  const name = context.positional(0) ?? '-';
  const text =
    name === '-'
      ? await readAllStdin(context.io)
      : await readFile(resolve(context.io.cwd, name), 'utf8').catch((error: NodeJS.ErrnoException) => {
          throw new CliError(`cannot read ${name}: ${error.code ?? error.message}`);
        });
  const file = parseExportFile(text, name === '-' ? '<stdin>' : name);
  const client = await context.client();
  const [existingEndpoints, existingCategories] = await Promise.all([
    client.listEndpoints(),
    client.listIpCategories(),
  ]);
  const conflicts = findConflicts(file, existingEndpoints, existingCategories);
  const skipExisting = context.flag('skip-existing');
  if (conflicts.messages.length > 0 && !skipExisting) {
    throw new CliError(
      `${client.apiUrl} already has ${plural(conflicts.messages.length, 'item')} of this export; nothing was imported (--skip-existing imports the rest)`,
      1,
      conflicts.messages,
    );
  }
  const existingUrls = new Set(existingEndpoints.map((endpoint) => endpoint.url));
  const existingNames = new Set(existingCategories.map((category) => category.name));
  const endpoints = file.endpoints.filter((endpoint) => !existingUrls.has(endpoint.url)).sort(byTypeThenUrl);
  const categories = file.ip_categories.filter((category) => !existingNames.has(category.name));
  validateVersions(endpoints);

  const importedCategories: string[] = [];
  for (const category of categories) {
    await client.putIpCategory(category.name, category.cidrs, category.description);
    importedCategories.push(category.name);
    if (!context.json) context.io.stdout(`imported IP category ${category.name}\n`);
  }
  const imported: ImportedEndpoint[] = [];
  for (const endpoint of endpoints) {
    try {
      const result = await importEndpoint(client, endpoint);
      imported.push(result);
      if (!context.json) {
        const active =
          result.restored_active_as === null
            ? ''
            : `; v${endpoint.active_policy_version ?? '?'} was active, restored as v${result.restored_active_as}`;
        context.io.stdout(
          `imported endpoint ${endpoint.url} (${result.id}, ${plural(result.versions, 'version')}${active})\n`,
        );
      }
    } catch (error) {
      context.io.stderr(
        `import stopped at ${endpoint.url} after ${plural(imported.length, 'endpoint')}; ` +
          `delete ${endpoint.url} on the target if it was created, then run import again with --skip-existing\n`,
      );
      throw error;
    }
  }
  const skipped = [
    ...file.endpoints.filter((endpoint) => existingUrls.has(endpoint.url)).map((endpoint) => endpoint.url),
    ...file.ip_categories.filter((category) => existingNames.has(category.name)).map((category) => category.name),
  ];
  if (context.json) {
    printJson(context.io, { imported_ip_categories: importedCategories, imported_endpoints: imported, skipped });
  } else {
    const skippedText =
      skipped.length === 0 ? '' : `; skipped ${skipped.length} already present: ${skipped.join(', ')}`;
    context.io.stdout(
      `Imported ${plural(imported.length, 'endpoint')} and ${plural(importedCategories.length, 'IP category', 'IP categories')} into ${client.apiUrl}${skippedText}\n`,
    );
  }
  return ExitCode.OK;
}

export const exportCommands: CommandSpec[] = [
  {
    name: 'export',
    summary: 'write every endpoint, all its policy versions and the custom IP categories as JSON',
    usage: 'gatehouse export [-o FILE]',
    description:
      'Reads everything over the REST API (any role may export). The file has format "gatehouse-export",\n' +
      'format_version 1 (see README). Policies can contain credentials: -o writes the file with mode 0600.',
    options: { output: { type: 'string', short: 'o', value: 'FILE', description: 'write to FILE instead of stdout' } },
    positionals: [],
    examples: [
      'gatehouse export -o backup.json',
      'gatehouse export --api-url http://old-host:4000 > gatehouse-export.json',
    ],
    run: runExport,
  },
  {
    name: 'import',
    summary: 'replay an export into this install (categories, then endpoints with their versions in order)',
    usage: 'gatehouse import <file> [--skip-existing]',
    description:
      'Each endpoint is created with version 1, then every later version is replayed in order (a restore as a\n' +
      'restore), so version numbers and messages carry over. When the active version was not the latest, it is\n' +
      'restored at the end (the API activates by appending a copy, so it becomes version N+1). Refuses, changing\n' +
      'nothing, when an endpoint URL (or a different IP category of the same name) already exists, unless\n' +
      '--skip-existing. Every version is validated locally before the first write.',
    options: {
      'skip-existing': { type: 'boolean', description: 'skip endpoints and IP categories that already exist' },
    },
    positionals: [{ name: 'file', required: true, description: 'the export JSON (- for stdin)' }],
    examples: [
      'gatehouse export --api-url http://old:4000 -o all.json && gatehouse import all.json --api-url http://new:4000',
      'gatehouse import backup.json --skip-existing',
    ],
    run: runImport,
  },
];
