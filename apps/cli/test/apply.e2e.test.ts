import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '@gatehouse/api-client';
import { apiAs, type ApiProcess, resetInstall, startApi } from './helpers/api-process.js';
import { CliWorkspace } from './helpers/cli-process.js';

const gatewayPolicy = (status: number): string =>
  [
    'on_http_request:',
    '  - name: office only',
    '    expressions:',
    '      - "!(\'com.example.office\' in conn.client_ip.categories)"',
    '    actions:',
    '      - type: deny',
    '        config:',
    `          status_code: ${status}`,
    '  - name: forward',
    '    actions:',
    '      - type: forward-internal',
    '        config:',
    '          url: https://mcp.example.internal',
    '',
  ].join('\n');

const gatehouseFile = (options: { gatewayDescription: string; withLegacy: boolean; gatewayCapture?: string }): string =>
  [
    'version: 1',
    'ip_categories:',
    '  - name: com.example.office',
    '    description: Office egress',
    '    cidrs: [203.0.113.0/24]',
    'endpoints:',
    '  - url: https://mcp.example.internal',
    '    upstream_url: http://127.0.0.1:3333/',
    '    description: MCP server',
    '  - url: https://mcp.example.com',
    `    description: ${options.gatewayDescription}`,
    // Only headers: `bodies` stays unmanaged, so later files that set it must not disturb the other option.
    `    request_log_capture: ${options.gatewayCapture ?? '{ headers: true }'}`,
    '    policy_file: policies/gateway.yaml',
    ...(options.withLegacy
      ? [
          '  - url: https://legacy.example.com',
          '    policy: |',
          '      on_http_request:',
          '        - actions:',
          '            - type: deny',
          '              config:',
          '                status_code: 410',
        ]
      : []),
    '',
  ].join('\n');

interface VersionList {
  versions: { version: number; message: string }[];
}

/** apply / diff through the built CLI against the real API. */
describe('gatehouse apply and diff', () => {
  let api: ApiProcess;
  let cli: CliWorkspace;
  let key = '';

  const write = (name: string, text: string) => writeFile(join(cli.directory, name), text);
  const versionsOf = async (endpoint: string): Promise<VersionList['versions']> => {
    const result = await cli.run(['policy', 'versions', endpoint, '--json']);
    return (JSON.parse(result.stdout) as VersionList).versions;
  };
  const endpointCount = async (): Promise<number> =>
    (await unwrap(apiAs(api, key).GET('/api/endpoints'))).endpoints.length;

  beforeAll(async () => {
    api = await startApi('gatehouse_cli_apply_test');
    cli = await CliWorkspace.create(api.url);
    key = await cli.loginAsAdmin();
    await resetInstall(api, key);
    await mkdir(join(cli.directory, 'policies'));
    await write('policies/gateway.yaml', gatewayPolicy(403));
    await write('gatehouse.yaml', gatehouseFile({ gatewayDescription: 'Public MCP gateway', withLegacy: true }));
  });

  afterAll(async () => {
    // Revokes the key minted in beforeAll, so reruns do not pile up keys in the test database.
    await cli?.run(['logout']);
    await api?.stop();
    await cli?.remove();
  });

  it('diff prints the plan and exits 2 while changes are pending', async () => {
    const diff = await cli.run(['diff', '-f', 'gatehouse.yaml']);
    expect(diff.code, diff.stderr).toBe(2);
    expect(diff.stdout).toBe(
      [
        '+ create ip category com.example.office (203.0.113.0/24)',
        '+ create internal endpoint https://mcp.example.internal → http://127.0.0.1:3333',
        '    description: "MCP server"',
        '+ create cloud endpoint https://mcp.example.com',
        '    description: "Public MCP gateway"',
        '    request_log_capture.headers: true',
        '    policy: version 1 from policies/gateway.yaml',
        '+ create cloud endpoint https://legacy.example.com',
        '    policy: version 1 from gatehouse.yaml endpoints[2].policy',
        '',
        'Plan: 4 to create, 0 to update, 0 to delete, 0 unchanged.',
        '',
      ].join('\n'),
    );
  });

  it('apply refuses to run unattended without --yes and changes nothing', async () => {
    const result = await cli.run(['apply', '-f', 'gatehouse.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('refusing to apply without confirmation: stdin is not a terminal; pass --yes');
    expect(await endpointCount()).toBe(0);
  });

  it('apply --yes prints the plan, applies it in dependency order, and a second apply is a no-op', async () => {
    const first = await cli.run(['apply', '-f', 'gatehouse.yaml', '--yes']);
    expect(first.code, first.stderr).toBe(0);
    const progress = first.stdout.split('\n').filter((line) => /^(created|updated|deleted) /.test(line));
    expect(progress.map((line) => line.replace(/ \(ep_\w+/, ' (ep_…'))).toEqual([
      'created ip category com.example.office',
      'created endpoint https://mcp.example.internal (ep_…)',
      'created endpoint https://mcp.example.com (ep_…, policy v1)',
      'created endpoint https://legacy.example.com (ep_…, policy v1)',
    ]);
    expect(first.stdout).toContain('Applied 4 changes.');
    // No POLICY_FORWARD_TARGET_UNKNOWN: the internal endpoint existed before the policy that forwards to it.
    expect(first.stderr).toBe('');

    const internal = JSON.parse(
      (await cli.run(['endpoints', 'get', 'mcp.example.internal', '--json'])).stdout,
    ) as Record<string, unknown>;
    expect(internal).toMatchObject({
      upstream_url: 'http://127.0.0.1:3333',
      description: 'MCP server',
      policy_version: null,
    });
    expect((await cli.run(['policy', 'get', 'mcp.example.com'])).stdout).toBe(gatewayPolicy(403));
    const gateway = JSON.parse((await cli.run(['endpoints', 'get', 'mcp.example.com', '--json'])).stdout) as {
      request_log_capture: unknown;
    };
    expect(gateway.request_log_capture).toEqual({ headers: true, bodies: false });
    expect((await cli.run(['endpoints', 'get', 'mcp.example.com'])).stdout).toContain(
      '\nlog capture: headers on, bodies off\n',
    );
    const legacy = (await cli.run(['policy', 'get', 'legacy.example.com'])).stdout;
    expect(legacy).toBe(
      'on_http_request:\n  - actions:\n      - type: deny\n        config:\n          status_code: 410\n',
    );

    const second = await cli.run(['apply', '-f', 'gatehouse.yaml', '--yes']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('No changes (0 to create, 0 to update, 0 to delete, 4 unchanged).');
    expect(second.stdout).not.toContain('Applied');
    expect(await versionsOf('mcp.example.com')).toHaveLength(1);
    expect(await versionsOf('legacy.example.com')).toHaveLength(1);
    expect(await cli.run(['diff', '-f', 'gatehouse.yaml'])).toMatchObject({ code: 0 });
  });

  it('plans a field change and a policy change with a diff, and applies both as one new version', async () => {
    await write('policies/gateway.yaml', gatewayPolicy(401));
    await write('gatehouse.yaml', gatehouseFile({ gatewayDescription: 'Gateway v2', withLegacy: true }));
    const diff = await cli.run(['diff', '-f', 'gatehouse.yaml']);
    expect(diff.code).toBe(2);
    expect(diff.stdout).toMatch(/~ update cloud endpoint https:\/\/mcp\.example\.com \(ep_\w+\)\n/);
    expect(diff.stdout).toContain(
      [
        '    description: "Public MCP gateway" → "Gateway v2"',
        '    policy: v1 → new version',
        '      --- https://mcp.example.com active policy (v1)',
        '      +++ policies/gateway.yaml',
        '      @@ -5,7 +5,7 @@',
        '           actions:',
        '             - type: deny',
        '               config:',
        '      -          status_code: 403',
        '      +          status_code: 401',
        '         - name: forward',
      ].join('\n'),
    );
    const json = JSON.parse((await cli.run(['diff', '-f', 'gatehouse.yaml', '--json'])).stdout) as {
      changes_pending: boolean;
      summary: Record<string, number>;
    };
    expect(json).toMatchObject({ changes_pending: true, summary: { create: 0, update: 1, delete: 0, unchanged: 3 } });

    const applied = await cli.run(['apply', '-f', 'gatehouse.yaml', '--yes', '-m', 'release 2']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/updated endpoint https:\/\/mcp\.example\.com \(ep_\w+, policy v2\)\n/);
    expect((await versionsOf('mcp.example.com')).map(({ version, message }) => ({ version, message }))).toEqual([
      { version: 2, message: 'release 2' },
      { version: 1, message: 'gatehouse apply (gatehouse.yaml)' },
    ]);
    expect((await cli.run(['diff', '-f', 'gatehouse.yaml'])).code).toBe(0);
  });

  it('plans a request_log_capture change as a field update: one PATCH, no policy version', async () => {
    const file = gatehouseFile({
      gatewayDescription: 'Gateway v2',
      withLegacy: true,
      gatewayCapture: '{ headers: false, bodies: true }',
    });
    await write('gatehouse.yaml', file);
    const diff = await cli.run(['diff', '-f', 'gatehouse.yaml']);
    expect(diff.code, diff.stderr).toBe(2);
    expect(diff.stdout).toMatch(
      /~ update cloud endpoint https:\/\/mcp\.example\.com \(ep_\w+\)\n {4}request_log_capture\.headers: true → false\n {4}request_log_capture\.bodies: false → true\n= /,
    );
    const applied = await cli.run(['apply', '-f', 'gatehouse.yaml', '--yes']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/updated endpoint https:\/\/mcp\.example\.com \(ep_\w+, policy v2\)\n/);
    expect(await versionsOf('mcp.example.com')).toHaveLength(2);
    const gateway = JSON.parse((await cli.run(['endpoints', 'get', 'mcp.example.com', '--json'])).stdout) as {
      request_log_capture: unknown;
    };
    expect(gateway.request_log_capture).toEqual({ headers: false, bodies: true });
    const again = await cli.run(['apply', '-f', 'gatehouse.yaml', '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('No changes (0 to create, 0 to update, 0 to delete, 4 unchanged).');
    // Back to the usual file, which manages only `headers`: bodies stays on.
    await write('gatehouse.yaml', gatehouseFile({ gatewayDescription: 'Gateway v2', withLegacy: true }));
    expect((await cli.run(['apply', '-f', 'gatehouse.yaml', '--yes'])).code).toBe(0);
    const after = JSON.parse((await cli.run(['endpoints', 'get', 'mcp.example.com', '--json'])).stdout) as {
      request_log_capture: unknown;
    };
    expect(after.request_log_capture).toEqual({ headers: true, bodies: true });
    expect(await versionsOf('mcp.example.com')).toHaveLength(2);
  });

  it('never deletes without --prune; with it, deletes what the file no longer lists', async () => {
    await write('gatehouse.yaml', gatehouseFile({ gatewayDescription: 'Gateway v2', withLegacy: false }));
    const kept = await cli.run(['diff', '-f', 'gatehouse.yaml']);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toContain(
      '? cloud endpoint https://legacy.example.com is not in the file (kept; --prune deletes it)',
    );
    expect((await cli.run(['apply', '-f', 'gatehouse.yaml', '--yes'])).code).toBe(0);
    expect(await endpointCount()).toBe(3);

    const pending = await cli.run(['diff', '-f', 'gatehouse.yaml', '--prune']);
    expect(pending.code).toBe(2);
    expect(pending.stdout).toMatch(
      /- delete cloud endpoint https:\/\/legacy\.example\.com \(ep_\w+\) and its policy versions/,
    );
    const pruned = await cli.run(['apply', '-f', 'gatehouse.yaml', '--yes', '--prune']);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain('deleted endpoint https://legacy.example.com\n');
    expect(await endpointCount()).toBe(2);
    expect((await cli.run(['diff', '-f', 'gatehouse.yaml', '--prune'])).code).toBe(0);
  });

  it('rejects a bad gatehouse.yaml with the line, column and path of each field, changing nothing', async () => {
    await write(
      'bad.yaml',
      [
        'version: 1',
        'endpoints:',
        '  - url: https://new.example.internal',
        '    upstream: http://127.0.0.1:3333',
        '  - url: https://new.example.com/path',
        '    policy_file: policies/gateway.yaml',
        '',
      ].join('\n'),
    );
    const result = await cli.run(['apply', '-f', 'bad.yaml', '--yes']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      [
        'error: bad.yaml is not a valid gatehouse file (3 problems)',
        '  bad.yaml:4:5 endpoints[0].upstream: unknown key',
        '  bad.yaml:3:5 endpoints[0].upstream_url: required for internal endpoints (the private http(s) server they front)',
        '  bad.yaml:5:10 endpoints[1].url: An endpoint URL is scheme://host[:port] only: no path, query or fragment',
        '',
      ].join('\n'),
    );
    expect(await endpointCount()).toBe(2);
  });

  it('rejects invalid policies with their position in the file they live in, before any change', async () => {
    await write(
      'policies/gateway.yaml',
      gatewayPolicy(401).replace("'com.example.office' in", "'com.example.office' on"),
    );
    await write(
      'gatehouse.yaml',
      gatehouseFile({ gatewayDescription: 'Gateway v3', withLegacy: true }).replace(
        'status_code: 410',
        'status_code: "gone"',
      ),
    );
    const result = await cli.run(['apply', '-f', 'gatehouse.yaml', '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the file's policies have ");
    expect(result.stderr).toMatch(/\n {2}policies\/gateway\.yaml:4:\d+ POLICY_EXPRESSION_INVALID /);
    expect(result.stderr).toContain(
      '\n  gatehouse.yaml:20:30 POLICY_CONFIG_INVALID deny status_code: expected number, got the string "gone"',
    );
    expect(await endpointCount()).toBe(2);
    expect(await versionsOf('mcp.example.com')).toHaveLength(2);
    const description = JSON.parse((await cli.run(['endpoints', 'get', 'mcp.example.com', '--json'])).stdout) as {
      description: string;
    };
    expect(description.description).toBe('Gateway v2');
  });

  it('refuses to redefine a built-in IP category', async () => {
    await write('builtin.yaml', 'version: 1\nip_categories:\n  - name: com.anthropic.api\n    cidrs: [10.0.0.0/8]\n');
    const result = await cli.run(['diff', '-f', 'builtin.yaml']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: builtin.yaml cannot be applied to ${api.url}\n` +
        '  ip_categories[0].name: com.anthropic.api is a built-in IP category and read-only; remove it from the file\n',
    );
  });

  it('leaves the API healthy after the bad paths', async () => {
    expect((await apiAs(api, key).GET('/api/health')).response.status).toBe(200);
  });
});
