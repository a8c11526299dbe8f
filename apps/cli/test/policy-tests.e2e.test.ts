import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '@gatehouse/api-client';
import { apiAs, type ApiProcess, resetInstall, startApi } from './helpers/api-process.js';
import { CliWorkspace } from './helpers/cli-process.js';

const guardedPolicy = [
  'on_http_request:',
  '  - name: block admin',
  '    expressions: ["req.url.path.startsWith(\'/admin\')"]',
  '    actions:',
  '      - type: deny',
  '  - name: office reports',
  "    expressions: [\"req.url.path == '/reports' && !('com.example.office' in conn.client_ip.categories)\"]",
  '    actions:',
  '      - type: deny',
  '        config: { status_code: 401 }',
  '  - actions:',
  '      - type: forward-internal',
  '        config: { url: https://app.example.internal }',
  '',
].join('\n');

/** The admin rule dropped: the regression the cases catch. */
const openPolicy = [
  'on_http_request:',
  '  - actions:',
  '      - type: forward-internal',
  '        config: { url: https://app.example.internal }',
  '',
].join('\n');

const tests = [
  '- name: admin is blocked',
  '  request: { path: /admin/users }',
  '  expect: { status: 403, decision: { rule: block admin, action: deny } }',
  '- name: the app gets the rest',
  '  request: { path: /orders }',
  '  expect: { status: 200, forwarded_to: https://app.example.internal }',
  '- name: reports from the office',
  '  request: { path: /reports, client_ip: 203.0.113.7 }',
  '  expect: { forwarded_to: https://app.example.internal }',
  '',
].join('\n');

const gatehouseFile = (policyFile: string, withTests: boolean): string =>
  [
    'version: 1',
    'ip_categories:',
    '  - name: com.example.office',
    '    cidrs: [203.0.113.0/24]',
    'endpoints:',
    '  - url: https://app.example.internal',
    '    upstream_url: http://127.0.0.1:3333/',
    '  - url: https://shop.example.com',
    `    policy_file: ${policyFile}`,
    ...(withTests ? ['    tests_file: tests.yaml'] : []),
    '',
  ].join('\n');

interface StoredVersion {
  version: number;
  tests: { name: string }[];
  test_result: { passed: number; failed: number } | null;
}

/** `policy test` and the test gate of `apply`, through the built CLI against the real API. */
describe('gatehouse policy test and apply with test cases', () => {
  let api: ApiProcess;
  let cli: CliWorkspace;
  let key = '';
  const write = (name: string, text: string) => writeFile(join(cli.directory, name), text);
  const shopVersions = async (): Promise<StoredVersion[]> => {
    const client = apiAs(api, key);
    const { endpoints } = await unwrap(client.GET('/api/endpoints'));
    const shop = endpoints.find((endpoint) => endpoint.url === 'https://shop.example.com');
    if (shop === undefined) return [];
    const { versions } = await unwrap(
      client.GET('/api/endpoints/{id}/policy-versions', { params: { path: { id: shop.id } } }),
    );
    return versions;
  };

  beforeAll(async () => {
    api = await startApi('gatehouse_ptests_cli_test');
    cli = await CliWorkspace.create(api.url);
    key = await cli.loginAsAdmin();
    await resetInstall(api, key);
    await write('guarded.yaml', guardedPolicy);
    await write('open.yaml', openPolicy);
    await write('tests.yaml', tests);
  });

  afterAll(async () => {
    await cli?.run(['logout']);
    await api?.stop();
    await cli?.remove();
  });

  it('policy test: exit 0 with every case passing, 1 with the report when one fails, 2 without cases', async () => {
    const categories =
      'tests:\n' +
      tests.replace(/^/gm, '  ').replace('client_ip: 203.0.113.7', 'client_ip_categories: [com.example.office]');
    await write('tests-stated.yaml', categories);
    const passing = await cli.run(['policy', 'test', '-f', 'guarded.yaml', '--tests', 'tests-stated.yaml']);
    expect(passing.code, passing.stderr).toBe(0);
    expect(passing.stdout).toBe(
      [
        'guarded.yaml:',
        '  PASS admin is blocked',
        '  PASS the app gets the rest',
        '  PASS reports from the office',
        '  3 passed, 0 failed',
        '',
      ].join('\n'),
    );

    const failing = await cli.run(['policy', 'test', '-f', 'open.yaml', '--tests', 'tests-stated.yaml']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain(
      '  FAIL admin is blocked\n       status: expected 403, got 200\n       decision: expected deny by rule "block admin", got forward-internal by rule 0 in on_http_request\n',
    );
    expect(failing.stderr).toBe('1 policy test failed\n');

    const json = await cli.run(['policy', 'test', '-f', 'open.yaml', '--tests', 'tests-stated.yaml', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ passed: 2, failed: 1 });

    const noCases = await cli.run(['policy', 'test', '-f', 'guarded.yaml']);
    expect(noCases.code).toBe(2);

    await write('broken-tests.yaml', '- name: x\n  request: { pth: / }\n  expect: { status: 200 }\n');
    const broken = await cli.run(['policy', 'test', '-f', 'guarded.yaml', '--tests', 'broken-tests.yaml']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('broken-tests.yaml:2:14 [0].request.pth: unknown key');
  });

  it("policy test -f gatehouse.yaml runs each endpoint's cases with the file's IP categories", async () => {
    await write('gatehouse.yaml', gatehouseFile('guarded.yaml', true));
    const result = await cli.run(['policy', 'test', '-f', 'gatehouse.yaml']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('https://shop.example.com:\n  PASS admin is blocked');
  });

  it('apply runs the cases first: failing ones change nothing; passing ones are stored with the version', async () => {
    await write('gatehouse.yaml', gatehouseFile('open.yaml', true));
    const refused = await cli.run(['apply', '-f', 'gatehouse.yaml', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error: 1 policy test failed; nothing was changed');
    expect(refused.stderr).toContain('  https://shop.example.com:\n    FAIL admin is blocked\n');
    expect(await shopVersions()).toEqual([]);
    const { endpoints } = await unwrap(apiAs(api, key).GET('/api/endpoints'));
    expect(endpoints).toEqual([]);

    await write('gatehouse.yaml', gatehouseFile('guarded.yaml', true));
    const applied = await cli.run(['apply', '-f', 'gatehouse.yaml', '--yes']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stderr).toContain('https://shop.example.com: 3 policy tests passed');
    const [first] = await shopVersions();
    expect(first).toMatchObject({ version: 1, test_result: { passed: 3, failed: 0 } });
    expect(first!.tests.map((test) => test.name)).toEqual([
      'admin is blocked',
      'the app gets the rest',
      'reports from the office',
    ]);
  });

  it("apply runs the server's stored cases against a changed policy the file gives none for", async () => {
    // No tests in the file: the API would carry version 1's cases over to the new version and run them.
    await write('gatehouse.yaml', gatehouseFile('open.yaml', false));
    const refused = await cli.run(['apply', '-f', 'gatehouse.yaml', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('FAIL admin is blocked');
    expect((await shopVersions()).map((version) => version.version)).toEqual([1]);

    const diff = await cli.run(['diff', '-f', 'gatehouse.yaml']);
    expect(diff.code).toBe(1);
  });
});
