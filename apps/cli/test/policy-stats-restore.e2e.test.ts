import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '@gatehouse/api-client';
import { apiAs, type ApiProcess, databaseUrl, resetInstall, startApi } from './helpers/api-process.js';
import { CliWorkspace } from './helpers/cli-process.js';
import { recordedGet, seedRequestLogs } from './helpers/request-log-seed.js';
import { deleteRuleCounters, seedRuleCounters } from './helpers/rule-counter-seed.js';

const databaseName = 'gatehouse_stats_restore_cli_test';

const guardedPolicy = [
  'on_http_request:',
  '  - name: token required',
  '    expressions: ["!hasReqHeader(\'authorization\')"]',
  '    actions: [{ type: deny, config: { status_code: 401 } }]',
  '  - name: answer',
  '    actions: [{ type: custom-response, config: { status_code: 200, body: ok } }]',
  'on_http_response:',
  '  - name: tag',
  '    actions: [{ type: add-headers, config: { headers: { x-tag: "1" } } }]',
  '',
].join('\n');

const openPolicy = [
  'on_http_request:',
  '  - name: answer',
  '    actions: [{ type: custom-response, config: { status_code: 200, body: ok } }]',
  '',
].join('\n');

const seededRequestIds = [0, 1, 2, 3].map((index) => `req_cli_restore_${index}`);

/** Deletes rows this file seeded: the CLI e2e databases outlive a run. */
async function deleteSeededRequests(): Promise<void> {
  const db = new pg.Client({ connectionString: databaseUrl(databaseName) });
  await db.connect();
  try {
    await db.query('DELETE FROM request_replay_facts WHERE request_log_id = ANY($1)', [seededRequestIds]);
    await db.query('DELETE FROM request_logs WHERE id = ANY($1)', [seededRequestIds]);
  } finally {
    await db.end();
  }
}

/** `gatehouse policy stats` and `gatehouse policy restore` through the built CLI against the real API and Postgres. */
describe('gatehouse policy stats and policy restore', () => {
  let api: ApiProcess;
  let cli: CliWorkspace;
  const endpointIds: string[] = [];

  beforeAll(async () => {
    api = await startApi(databaseName);
    cli = await CliWorkspace.create(api.url);
    const key = await cli.loginAsAdmin();
    await resetInstall(api, key);
    const client = apiAs(api, key);
    // stats-cli: version 1 is the guarded policy.
    const stats = await unwrap(
      client.POST('/api/endpoints', { body: { url: 'https://stats-cli.example.com', traffic_policy: guardedPolicy } }),
    );
    // restore-cli: v1 guarded, v2 open, v3 guarded with a test case that the open policy fails (active).
    const restore = await unwrap(
      client.POST('/api/endpoints', {
        body: { url: 'https://restore-cli.example.com', traffic_policy: guardedPolicy },
      }),
    );
    endpointIds.push(stats.id, restore.id);
    await unwrap(
      client.POST('/api/endpoints/{id}/policy-versions', {
        params: { path: { id: restore.id } },
        body: { traffic_policy: openPolicy, message: 'open' },
      }),
    );
    await unwrap(
      client.POST('/api/endpoints/{id}/policy-versions', {
        params: { path: { id: restore.id } },
        body: {
          traffic_policy: guardedPolicy,
          message: 'guarded, with a test',
          tests: [{ name: 'no token is refused', request: { path: '/' }, expect: { status: 401 } }],
        },
      }),
    );
    // Four recorded requests on restore-cli; the newest carries no Authorization header.
    await seedRequestLogs(
      databaseName,
      seededRequestIds.map((id, index) => ({
        id,
        endpointId: restore.id,
        host: 'restore-cli.example.com',
        secondsFromNow: index - 10,
        decision: { phase: 'on_http_request', rule_index: 1, rule_name: 'answer', action: 'custom-response' },
        replay: recordedGet('restore-cli.example.com', { authorized: index < 3 }),
      })),
    );
  });

  afterAll(async () => {
    if (endpointIds.length > 0) await deleteRuleCounters(databaseName, endpointIds);
    await deleteSeededRequests();
    await cli?.run(['logout']);
    await api?.stop();
    await cli?.remove();
  });

  it('says so when a version has no traffic yet, and refuses a bad window or version', async () => {
    const empty = await cli.run(['policy', 'stats', 'stats-cli.example.com']);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toMatch(
      /^https:\/\/stats-cli\.example\.com: version 1 \(active\) has no traffic in the last hour yet \(data planes report counts every \d+ s\)\n$/,
    );
    const json = await cli.run(['policy', 'stats', 'stats-cli.example.com', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ policy_version: 1, window: '1h', rules: [] });

    const window = await cli.run(['policy', 'stats', 'stats-cli.example.com', '--window', '7d']);
    expect(window.code).toBe(2);
    expect(window.stderr).toContain('--window must be 1h or 24h, not "7d"');
    const missing = await cli.run(['policy', 'stats', 'stats-cli.example.com', '--version', '9']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error POLICY_VERSION_NOT_FOUND: Endpoint ep_\w+ has no policy version 9\n/);
  });

  it('prints hits, denies, latency and last match per phase and rule over the last hour or day, and as JSON', async () => {
    const [endpointId = ''] = endpointIds;
    await seedRuleCounters(databaseName, [
      // this bucket: 10 evaluations of rule 0, 4 denied; three hours ago: 100 more, 50 denied.
      {
        endpointId,
        version: 1,
        phase: 'on_http_request',
        ruleIndex: 0,
        hoursAgo: 0,
        evaluations: 10,
        hits: 4,
        denies: 4,
        latencySumMs: 0.2,
        lastMatchSecondsAgo: 30,
      },
      {
        endpointId,
        version: 1,
        phase: 'on_http_request',
        ruleIndex: 0,
        hoursAgo: 3,
        evaluations: 100,
        hits: 50,
        denies: 50,
        latencySumMs: 5,
      },
      {
        endpointId,
        version: 1,
        phase: 'on_http_request',
        ruleIndex: 1,
        hoursAgo: 0,
        evaluations: 6,
        hits: 6,
        denies: 0,
        latencySumMs: 12,
        lastMatchSecondsAgo: 10,
      },
    ]);

    const hour = await cli.run(['policy', 'stats', 'https://stats-cli.example.com']);
    expect(hour.code, hour.stderr).toBe(0);
    const lines = hour.stdout.split('\n');
    expect(lines[0]).toBe('https://stats-cli.example.com: rule counters of version 1 (active) over the last hour');
    expect(lines[2]).toMatch(/^PHASE\s+RULE\s+NAME\s+EVALUATED\s+HITS\s+DENIES\s+AVG LATENCY\s+LAST MATCH$/);
    expect(lines[3]).toMatch(/^on_http_request\s+0\s+token required\s+10\s+4\s+4\s+20 µs\s+\d{4}-\d\d-\d\dT\S+Z$/);
    expect(lines[4]).toMatch(/^on_http_request\s+1\s+answer\s+6\s+6\s+0\s+2\.00 ms\s+\S+Z$/);
    // A rule no data plane counted still gets its row.
    expect(lines[5]).toMatch(/^on_http_response\s+0\s+tag\s+0\s+0\s+0\s+-\s+never$/);

    const day = await cli.run(['policy', 'stats', 'stats-cli.example.com', '--window', '24h']);
    expect(day.stdout).toContain('over the last day');
    expect(day.stdout).toMatch(/\non_http_request\s+0\s+token required\s+110\s+54\s+54\s+47 µs\s/);

    const json = await cli.run(['policy', 'stats', 'stats-cli.example.com', '--version', '1', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as { rules: { rule_name: string | null; last_day: { hits: number } }[] };
    expect(parsed).toMatchObject({ policy_version: 1, url: 'https://stats-cli.example.com', window: '1h' });
    expect(parsed.rules.map((rule) => [rule.rule_name, rule.last_day.hits])).toEqual([
      ['token required', 54],
      ['answer', 6],
    ]);

    // A new active version starts without counts; the old one's stay readable with --version.
    await writeFile(join(cli.directory, 'open.yaml'), openPolicy);
    expect((await cli.run(['policy', 'set', 'stats-cli.example.com', '-f', 'open.yaml'])).code).toBe(0);
    expect((await cli.run(['policy', 'stats', 'stats-cli.example.com'])).stdout).toContain(
      'version 2 (active) has no traffic in the last hour yet',
    );
    expect((await cli.run(['policy', 'stats', 'stats-cli.example.com', '--version', '1'])).stdout).toContain(
      'rule counters of version 1 over the last hour',
    );
  });

  it('refuses to restore without a terminal or --yes, before asking the API anything', async () => {
    const refused = await cli.run(['policy', 'restore', 'restore-cli.example.com', '2']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('refusing to restore without confirmation: stdin is not a terminal; pass --yes');
    expect(refused.stdout).toBe('');
  });

  it('previews the diff and the replay, and prints the API refusal when the test cases fail', async () => {
    const failed = await cli.run(['policy', 'restore', 'restore-cli.example.com', '2', '--yes']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(
      'https://restore-cli.example.com: restoring version 2 over version 3 (active)\n\n' +
        '--- version 3 (active)\n+++ version 2\n',
    );
    expect(failed.stdout).toContain(`-  - name: token required\n`);
    expect(failed.stdout).toMatch(/replayed 4 recorded requests from .+ against version 3 \(active\) in \d+ ms\n/);
    expect(failed.stdout).toContain('1 decision change, 3 unchanged:\n');
    expect(failed.stdout).toContain('    e.g. req_cli_restore_3\n');
    expect(failed.stderr).toMatch(/^error POLICY_TESTS_FAILED: 1 of 1 policy test failed/);
    expect(failed.stderr).toContain('no token is refused');
    const versions = await cli.run(['policy', 'versions', 'restore-cli.example.com', '--json']);
    expect((JSON.parse(versions.stdout) as { versions: unknown[] }).versions).toHaveLength(3);
  });

  it('restores after the preview with --yes (and --allow-failing-tests), as JSON too', async () => {
    const restored = await cli.run([
      'policy',
      'restore',
      'restore-cli.example.com',
      '2',
      '--yes',
      '--allow-failing-tests',
      '-m',
      'open again',
    ]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain('1 decision change, 3 unchanged:\n');
    expect(
      restored.stdout.endsWith('https://restore-cli.example.com: restored version 2 as version 4 (active)\n'),
    ).toBe(true);
    expect((await cli.run(['policy', 'get', 'restore-cli.example.com'])).stdout).toBe(openPolicy);

    const json = await cli.run(['policy', 'restore', 'restore-cli.example.com', '1', '--yes', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as { diff: string[]; replay: { requests: number; changed: number } };
    expect(parsed).toMatchObject({
      url: 'https://restore-cli.example.com',
      replay: { requests: 4, changed: 1 },
      restored: { version: 5, restored_from: 1, active: true },
    });
    expect(parsed.diff.slice(0, 2)).toEqual(['--- version 4 (active)', '+++ version 1']);

    const active = await cli.run(['policy', 'restore', 'restore-cli.example.com', '5', '--yes']);
    expect(active.code).toBe(1);
    expect(active.stderr).toContain('version 5 is already active; nothing to restore');
  });
});
