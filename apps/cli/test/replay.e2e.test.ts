import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '@gatehouse/api-client';
import { apiAs, type ApiProcess, resetInstall, startApi } from './helpers/api-process.js';
import { CliWorkspace } from './helpers/cli-process.js';
import { recordedGet, seedRequestLogs } from './helpers/request-log-seed.js';

const databaseName = 'gatehouse_replay_cli_test';

const activePolicy = [
  'on_http_request:',
  '  - name: answer',
  '    actions: [{ type: custom-response, config: { status_code: 200, body: ok } }]',
  '',
].join('\n');

const draftPolicy = [
  'on_http_request:',
  '  - name: token required',
  '    expressions: ["!hasReqHeader(\'authorization\')"]',
  '    actions: [{ type: deny, config: { status_code: 401 } }]',
  '  - name: answer',
  '    actions: [{ type: custom-response, config: { status_code: 200, body: ok } }]',
  '',
].join('\n');

/** `gatehouse policy replay` through the built CLI against the real API; recorded requests are seeded in Postgres. */
describe('gatehouse policy replay', () => {
  let api: ApiProcess;
  let cli: CliWorkspace;
  let endpointId = '';

  beforeAll(async () => {
    api = await startApi(databaseName);
    cli = await CliWorkspace.create(api.url);
    const key = await cli.loginAsAdmin();
    await resetInstall(api, key);
    const created = await unwrap(
      apiAs(api, key).POST('/api/endpoints', {
        body: { url: 'https://replay-cli.example.com', traffic_policy: activePolicy },
      }),
    );
    endpointId = created.id;
    // Four recorded requests, oldest first; the newest carries no Authorization header.
    await seedRequestLogs(
      databaseName,
      [0, 1, 2, 3].map((index) => ({
        id: `req_cli_replay_${index}`,
        endpointId,
        host: 'replay-cli.example.com',
        secondsFromNow: index - 10,
        decision: { phase: 'on_http_request', rule_index: 0, rule_name: 'answer', action: 'custom-response' },
        replay: recordedGet('replay-cli.example.com', { authorized: index < 3 }),
      })),
    );
    await writeFile(join(cli.directory, 'draft.yaml'), draftPolicy);
  });

  afterAll(async () => {
    await cli?.run(['logout']);
    await api?.stop();
    await cli?.remove();
  });

  it('prints the groups with example request ids, as JSON too, and refuses an invalid draft before sending it', async () => {
    const replayed = await cli.run(['policy', 'replay', 'https://replay-cli.example.com', '-f', 'draft.yaml']);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toMatch(
      /^https:\/\/replay-cli\.example\.com: replayed 4 recorded requests from .+ against version 1 \(active\) in \d+ ms\n/,
    );
    expect(replayed.stdout).toContain(
      '1 decision change, 3 unchanged:\n  1 request flips answer 200 → deny 401 (rule 0 "token required", deny)\n    e.g. req_cli_replay_3\n',
    );

    const json = await cli.run([
      'policy',
      'replay',
      'replay-cli.example.com',
      '--version',
      '1',
      '--against',
      'recorded',
      '--json',
    ]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ requests: 4, changed: 0, baseline: { kind: 'recorded' } });

    await writeFile(join(cli.directory, 'broken.yaml'), 'on_http_request: [{ actions: [{ type: nope }] }]\n');
    const broken = await cli.run(['policy', 'replay', 'replay-cli.example.com', '-f', 'broken.yaml']);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain('nope');
    const usage = await cli.run(['policy', 'replay', 'replay-cli.example.com']);
    expect(usage.code).toBe(2);
  });
});
