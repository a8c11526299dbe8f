import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAs, type ApiProcess, resetInstall, startApi } from './helpers/api-process.js';
import { CliWorkspace } from './helpers/cli-process.js';

const denyPolicy = (status: number): string =>
  `on_http_request:\n  - actions:\n      - type: deny\n        config:\n          status_code: ${status}\n`;
const headerPolicy =
  'on_http_request:\n  - actions:\n      - type: add-headers\n        config:\n          headers:\n            x-via: gatehouse\n';

interface ExportedVersion {
  version: number;
  traffic_policy: string;
  message: string;
  restored_from: number | null;
}
interface ExportedEndpoint {
  id: string;
  url: string;
  description: string;
  metadata: string;
  request_log_capture?: { headers: boolean; bodies: boolean };
  active_policy_version: number | null;
  policy_versions: ExportedVersion[];
}
interface Exported {
  format: string;
  format_version: number;
  ip_categories: { name: string }[];
  endpoints: ExportedEndpoint[];
}

/** What must survive a round trip: everything but ids, timestamps, authors and the source URL. */
function portable(file: Exported) {
  return {
    ip_categories: file.ip_categories,
    endpoints: file.endpoints.map(({ id: _id, policy_versions, ...endpoint }) => ({
      ...endpoint,
      policy_versions: policy_versions.map(({ version, traffic_policy, message, restored_from }) => ({
        version,
        traffic_policy,
        message,
        restored_from,
      })),
    })),
  };
}

/** export from one install, import into a second one on another database, both through the built CLI. */
describe('gatehouse export and import', () => {
  let source: ApiProcess;
  let target: ApiProcess;
  let from: CliWorkspace;
  let to: CliWorkspace;
  let targetKey = '';

  const exportFrom = async (cli: CliWorkspace): Promise<Exported> => {
    const result = await cli.run(['export']);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Exported;
  };

  beforeAll(async () => {
    // One after the other, so that afterAll can stop the first if the second fails to start.
    source = await startApi('gatehouse_cli_export_test');
    target = await startApi('gatehouse_cli_import_test');
    from = await CliWorkspace.create(source.url);
    to = await CliWorkspace.create(target.url);
    const sourceKey = await from.loginAsAdmin();
    targetKey = await to.loginAsAdmin();
    await Promise.all([resetInstall(source, sourceKey), resetInstall(target, targetKey)]);

    // A history worth preserving: an IP category, an internal endpoint with its own policy, and a cloud endpoint with
    // versions 1–2 saved, 3 restored from 1, and 4 applied.
    await writeFile(
      join(from.directory, 'gatehouse.yaml'),
      [
        'version: 1',
        'ip_categories:',
        '  - { name: com.example.office, description: Office, cidrs: [203.0.113.0/24, "2001:db8::/32"] }',
        'endpoints:',
        '  - url: https://mcp.example.internal',
        '    upstream_url: http://127.0.0.1:3333',
        '    upstream_host_header: rewrite',
        '    metadata: team=platform',
        `    policy: ${JSON.stringify(headerPolicy)}`,
        '  - url: https://mcp.example.com',
        '    description: gateway',
        '    request_log_capture: { headers: false, bodies: true }',
        `    policy: ${JSON.stringify(denyPolicy(403))}`,
        '',
      ].join('\n'),
    );
    await writeFile(join(from.directory, 'v2.yaml'), denyPolicy(401));
    await writeFile(join(from.directory, 'v4.yaml'), denyPolicy(451));
    const steps = [
      ['apply', '-f', 'gatehouse.yaml', '--yes', '-m', 'initial'],
      ['policy', 'set', 'mcp.example.com', '-f', 'v2.yaml', '-m', 'second'],
      ['policy', 'restore', 'mcp.example.com', '1', '--yes', '-m', 'back to 403'],
      ['policy', 'set', 'mcp.example.com', '-f', 'v4.yaml', '-m', 'legal'],
    ];
    for (const args of steps) {
      const result = await from.run(args);
      if (result.code !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
    }
  });

  afterAll(async () => {
    // Revokes the keys minted in beforeAll, so reruns do not pile up keys in the test databases.
    await Promise.all([from?.run(['logout']), to?.run(['logout'])]);
    await Promise.all([source?.stop(), target?.stop()]);
    await Promise.all([from?.remove(), to?.remove()]);
  });

  it('exports every endpoint with all its versions and the custom categories, privately', async () => {
    const result = await from.run(['export', '-o', 'backup.json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(
      `Exported 2 endpoints (5 policy versions) and 1 IP category from ${source.url} to backup.json\n`,
    );
    expect((await stat(join(from.directory, 'backup.json'))).mode & 0o777).toBe(0o600);
    const file = JSON.parse(await readFile(join(from.directory, 'backup.json'), 'utf8')) as Exported;
    expect(file).toMatchObject({ format: 'gatehouse-export', format_version: 1 });
    expect(file.ip_categories).toEqual([
      { name: 'com.example.office', cidrs: ['203.0.113.0/24', '2001:db8::/32'], description: 'Office' },
    ]);
    expect(file.endpoints.map((endpoint) => endpoint.url)).toEqual([
      'https://mcp.example.internal',
      'https://mcp.example.com',
    ]);
    expect(file.endpoints.map((endpoint) => endpoint.request_log_capture)).toEqual([
      { headers: false, bodies: false },
      { headers: false, bodies: true },
    ]);
    const cloud = file.endpoints[1];
    expect(cloud?.active_policy_version).toBe(4);
    expect(
      cloud?.policy_versions.map(({ version, message, restored_from }) => [version, message, restored_from]),
    ).toEqual([
      [1, 'initial', null],
      [2, 'second', null],
      [3, 'back to 403', 1],
      [4, 'legal', null],
    ]);
  });

  it('imports into a fresh install with the same versions, messages, restores and active versions', async () => {
    await writeFile(join(to.directory, 'backup.json'), await readFile(join(from.directory, 'backup.json')));
    const result = await to.run(['import', 'backup.json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.replace(/ep_\w+/g, 'ep_…')).toBe(
      [
        'imported IP category com.example.office',
        'imported endpoint https://mcp.example.internal (ep_…, 1 version)',
        'imported endpoint https://mcp.example.com (ep_…, 4 versions)',
        `Imported 2 endpoints and 1 IP category into ${target.url}`,
        '',
      ].join('\n'),
    );
    const original = await exportFrom(from);
    const copy = await exportFrom(to);
    expect(portable(copy)).toEqual(portable(original));
    const internal = JSON.parse(
      (await to.run(['endpoints', 'get', 'mcp.example.internal', '--json'])).stdout,
    ) as Record<string, unknown>;
    expect(internal).toMatchObject({
      upstream_url: 'http://127.0.0.1:3333',
      upstream_host_header: 'rewrite',
      metadata: 'team=platform',
      traffic_policy: headerPolicy,
    });
    // Also inside portable(), but checked on its own: equality alone would hold if both exports lacked it.
    const gateway = JSON.parse((await to.run(['endpoints', 'get', 'mcp.example.com', '--json'])).stdout) as {
      request_log_capture: unknown;
    };
    expect(gateway.request_log_capture).toEqual({ headers: false, bodies: true });
  });

  it('refuses to import over existing endpoints, changing nothing, unless --skip-existing', async () => {
    const before = portable(await exportFrom(to));
    const refused = await to.run(['import', 'backup.json']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      [
        `error: ${target.url} already has 2 items of this export; nothing was imported (--skip-existing imports the rest)`,
        '  endpoint https://mcp.example.internal already exists',
        '  endpoint https://mcp.example.com already exists',
        '',
      ].join('\n'),
    );
    expect(portable(await exportFrom(to))).toEqual(before);
    const skipped = await to.run(['import', 'backup.json', '--skip-existing']);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stdout).toContain(
      'Imported 0 endpoints and 0 IP categories into ' +
        `${target.url}; skipped 3 already present: https://mcp.example.internal, https://mcp.example.com, com.example.office`,
    );
    expect(portable(await exportFrom(to))).toEqual(before);
  });

  it('restores the active version when it was not the latest (it becomes version N+1)', async () => {
    const file = JSON.parse(await readFile(join(from.directory, 'backup.json'), 'utf8')) as Exported;
    const cloud = file.endpoints[1];
    if (cloud === undefined) throw new Error('no cloud endpoint in the export');
    const crafted = {
      ...file,
      ip_categories: [],
      endpoints: [{ ...cloud, url: 'https://rolled-back.example.com', active_policy_version: 2 }],
    };
    await writeFile(join(to.directory, 'rolled-back.json'), JSON.stringify(crafted));
    const result = await to.run(['import', 'rolled-back.json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /imported endpoint https:\/\/rolled-back\.example\.com \(ep_\w+, 5 versions; v2 was active, restored as v5\)/,
    );
    const versions = JSON.parse((await to.run(['policy', 'versions', 'rolled-back.example.com', '--json'])).stdout) as {
      versions: (ExportedVersion & { active: boolean })[];
    };
    const [latest, ...history] = versions.versions;
    expect(latest).toMatchObject({ version: 5, active: true, restored_from: 2, traffic_policy: denyPolicy(401) });
    expect(history.reverse().map(({ version, message, restored_from }) => [version, message, restored_from])).toEqual([
      [1, 'initial', null],
      [2, 'second', null],
      [3, 'back to 403', 1],
      [4, 'legal', null],
    ]);
  });

  it('imports a format_version 1 file written before request_log_capture existed, with capture off', async () => {
    const file = JSON.parse(await readFile(join(from.directory, 'backup.json'), 'utf8')) as Exported;
    const cloud = file.endpoints[1];
    if (cloud === undefined) throw new Error('no cloud endpoint in the export');
    const { request_log_capture: _capture, ...older } = cloud;
    const crafted = { ...file, ip_categories: [], endpoints: [{ ...older, url: 'https://older.example.com' }] };
    await writeFile(join(to.directory, 'older.json'), JSON.stringify(crafted));
    const result = await to.run(['import', 'older.json']);
    expect(result.code, result.stderr).toBe(0);
    const imported = JSON.parse((await to.run(['endpoints', 'get', 'older.example.com', '--json'])).stdout) as {
      request_log_capture: unknown;
    };
    expect(imported.request_log_capture).toEqual({ headers: false, bodies: false });
  });

  it('refuses a damaged or foreign export file with the path of the problem', async () => {
    const file = JSON.parse(await readFile(join(from.directory, 'backup.json'), 'utf8')) as Exported;
    const damaged = structuredClone(file);
    const version = damaged.endpoints[1]?.policy_versions[1];
    if (version) version.traffic_policy = denyPolicy(418);
    if (damaged.endpoints[1]) damaged.endpoints[1].url = 'https://damaged.example.com';
    await writeFile(join(to.directory, 'damaged.json'), JSON.stringify(damaged));
    const result = await to.run(['import', 'damaged.json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: damaged.json is not a valid gatehouse export (1 problem)\n' +
        '  endpoints[1].policy_versions[1].sha256: does not match traffic_policy (the file was changed or damaged)\n',
    );
    await writeFile(join(to.directory, 'future.json'), JSON.stringify({ ...file, format_version: 2 }));
    const future = await to.run(['import', 'future.json']);
    expect(future.code).toBe(1);
    expect(future.stderr).toContain('format_version: unsupported format version 2; this CLI reads 1');
    expect((await to.run(['endpoints', 'get', 'damaged.example.com'])).code).toBe(1);
  });

  it('leaves both APIs healthy', async () => {
    expect((await apiAs(target, targetKey).GET('/api/health')).response.status).toBe(200);
    expect((await from.run(['whoami'])).code).toBe(0);
  });
});
