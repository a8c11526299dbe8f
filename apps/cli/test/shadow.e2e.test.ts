import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '@gatehouse/api-client';
import { apiAs, type ApiProcess, resetInstall, startApi } from './helpers/api-process.js';
import { CliWorkspace } from './helpers/cli-process.js';
import { seedRequestLogs } from './helpers/request-log-seed.js';

const databaseName = 'gatehouse_shadow_cli_test';
const host = 'shadow-cli.example.com';

const activePolicy = [
  'on_http_request:',
  '  - name: answer',
  '    actions: [{ type: custom-response, config: { status_code: 200, body: ok } }]',
  '',
].join('\n');

const candidatePolicy = [
  'on_http_request:',
  '  - name: block admin',
  '    expressions: ["req.url.path.startsWith(\'/admin\')"]',
  '    actions: [{ type: deny }]',
  '  - name: answer',
  '    actions: [{ type: custom-response, config: { status_code: 200, body: ok } }]',
  '',
].join('\n');

/**
 * `gatehouse policy shadow` through the built CLI against the real API. What data planes record about a shadow is
 * seeded in Postgres as the request-log worker writes it (the data plane's and worker's own tests cover that path).
 */
describe('gatehouse policy shadow', () => {
  let api: ApiProcess;
  let cli: CliWorkspace;
  let key = '';
  let endpointId = '';

  /** A request the shadow judged (as the request-log worker stores it): `differs` → it would have blocked /admin. */
  const seedRequest = (id: string, secondsFromNow: number, differs: boolean, sha256: string) =>
    seedRequestLogs(databaseName, [
      {
        id,
        endpointId,
        host,
        path: differs ? '/admin/users' : '/',
        secondsFromNow,
        decision: { phase: 'on_http_request', rule_index: 0, rule_name: 'answer', action: 'custom-response' },
        shadow: {
          sha256,
          outcome: 'respond',
          status: differs ? 403 : 200,
          forwarded_to: null,
          decision: differs
            ? { phase: 'on_http_request', rule_index: 0, rule_name: 'block admin', action: 'deny' }
            : { phase: 'on_http_request', rule_index: 1, rule_name: 'answer', action: 'custom-response' },
          differs,
          response: null,
        },
      },
    ]);

  beforeAll(async () => {
    api = await startApi(databaseName);
    cli = await CliWorkspace.create(api.url);
    key = await cli.loginAsAdmin();
    await resetInstall(api, key);
    const created = await unwrap(
      apiAs(api, key).POST('/api/endpoints', { body: { url: `https://${host}`, traffic_policy: activePolicy } }),
    );
    endpointId = created.id;
    await writeFile(join(cli.directory, 'candidate.yaml'), candidatePolicy);
  });

  afterAll(async () => {
    await cli?.run(['logout']);
    await api?.stop();
    await cli?.remove();
  });

  it('publishes a file as shadow, shows its differences, refuses a stale promote and promotes it as the next version', async () => {
    const none = await cli.run(['policy', 'shadow', host]);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toBe(`https://${host} has no shadow policy.\n`);

    const published = await cli.run(['policy', 'shadow', host, '-f', 'candidate.yaml', '-m', 'block admin']);
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout).toMatch(
      new RegExp(`^https://${host.replaceAll('.', '\\.')}: shadow [0-9a-f]{12} published; data planes evaluate it`),
    );
    const endpoint = await unwrap(apiAs(api, key).GET('/api/endpoints/{id}', { params: { path: { id: endpointId } } }));
    const shadow = endpoint.shadow_policy!;
    expect(shadow).toMatchObject({ traffic_policy: candidatePolicy, message: 'block admin' });

    // Before the shadow was published (an earlier shadow's difference), after it (two differ, one agrees).
    await seedRequest('req_shadow_cli_old', -3600, true, 'f'.repeat(64));
    await seedRequest('req_shadow_cli_1', 1, true, shadow.sha256);
    await seedRequest('req_shadow_cli_2', 2, true, shadow.sha256);
    await seedRequest('req_shadow_cli_same', 3, false, shadow.sha256);

    const shown = await cli.run(['policy', 'shadow', `https://${host}`]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`shadow ${shadow.sha256} published ${shadow.created_at} (block admin)\n`);
    expect(shown.stdout).toContain('2 requests decided differently since then (active: version 1)\n');
    expect(shown.stdout).toMatch(/GET \/admin\/users +200 \(custom-response\) +403 \(deny\) +req_shadow_cli_2\n/);
    expect(shown.stdout).not.toContain('req_shadow_cli_old');
    expect(shown.stdout).not.toContain('req_shadow_cli_same');

    const json = await cli.run(['policy', 'shadow', host, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      endpoint_id: endpointId,
      shadow_policy: { sha256: shadow.sha256 },
      differences: { count: 2, more: false },
    });

    const stale = await cli.run(['policy', 'shadow', host, '--promote', '--sha256', 'a'.repeat(64)]);
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toContain('SHADOW_POLICY_CHANGED');

    const promoted = await cli.run(['policy', 'shadow', host, '--promote', '--sha256', shadow.sha256]);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toBe(`https://${host}: promoted the shadow policy as version 2 (active)\n`);
    const after = await unwrap(apiAs(api, key).GET('/api/endpoints/{id}', { params: { path: { id: endpointId } } }));
    expect(after).toMatchObject({ policy_version: 2, traffic_policy: candidatePolicy, shadow_policy: null });
  });

  it('publishes a stored version as shadow and discards it; refuses mixed options and a missing shadow', async () => {
    const published = await cli.run(['policy', 'shadow', host, '--version', '1', '--json']);
    expect(published.code, published.stderr).toBe(0);
    expect(JSON.parse(published.stdout)).toMatchObject({
      shadow_policy: { traffic_policy: activePolicy, message: 'Shadow of version 1' },
    });

    const discarded = await cli.run(['policy', 'shadow', host, '--discard']);
    expect(discarded.code, discarded.stderr).toBe(0);
    expect(discarded.stdout).toBe(`https://${host}: shadow policy discarded\n`);
    const after = await unwrap(apiAs(api, key).GET('/api/endpoints/{id}', { params: { path: { id: endpointId } } }));
    expect(after.shadow_policy ?? null).toBeNull();

    const nothing = await cli.run(['policy', 'shadow', host, '--promote']);
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toContain('has no shadow policy to promote');
    const again = await cli.run(['policy', 'shadow', host, '--discard']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('SHADOW_POLICY_NOT_FOUND');

    const mixed = await cli.run(['policy', 'shadow', host, '-f', 'candidate.yaml', '--discard']);
    expect(mixed.code).toBe(2);
    await writeFile(join(cli.directory, 'broken.yaml'), 'on_http_request: [{ actions: [{ type: nope }] }]\n');
    const broken = await cli.run(['policy', 'shadow', host, '-f', 'broken.yaml']);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain('nope');
  });
});
