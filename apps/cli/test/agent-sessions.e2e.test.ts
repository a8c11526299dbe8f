import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, DATAPLANE_TOKEN, resetInstall, startApi } from './helpers/api-process.js';
import { CliWorkspace } from './helpers/cli-process.js';

/** agent-sessions list through the built CLI against the real API, with the test standing in for a data plane. */
describe('gatehouse agent-sessions', () => {
  let api: ApiProcess;
  let cli: CliWorkspace;

  beforeAll(async () => {
    api = await startApi('gatehouse_cli_agent_sessions_test');
    cli = await CliWorkspace.create(api.url);
    const key = await cli.loginAsAdmin();
    await resetInstall(api, key);
  });

  afterAll(async () => {
    await cli?.run(['logout']);
    await api?.stop();
    await cli?.remove();
  });

  async function registerAgent(secret: string, url: string): Promise<string> {
    const response = await fetch(`${api.url}/api/dataplane/agent-sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DATAPLANE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        authtoken: secret,
        remote_address: '198.51.100.4',
        dataplane_id: 'dp-cli',
        declaration: {
          agent_version: '0.1.0',
          hostname: 'build-box',
          session_key: randomBytes(18).toString('base64url'),
          endpoints: [{ name: 'mcp', url, upstream: 'http://127.0.0.1:3333' }],
        },
      }),
    });
    const body = (await response.json()) as { status: string; session_id: string };
    expect(body.status).toBe('accepted');
    return body.session_id;
  }

  it('lists sessions with their data planes and endpoints, filtered by state and token', async () => {
    const created = await cli.run(['authtokens', 'create', '--description', 'build box', '--json']);
    const token = JSON.parse(created.stdout) as { id: string; secret: string };
    const sessionId = await registerAgent(token.secret, 'https://build.cli.internal');

    const listed = await cli.run(['agent-sessions', 'list']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/ID\s+STATUS\s+HOST\s+ADDRESS/);
    const row = listed.stdout.split('\n').find((line) => line.startsWith(sessionId)) ?? '';
    expect(row).toMatch(/online\s+build-box\s+198\.51\.100\.4\s+0\.1\.0\s+dp-cli\s+https:\/\/build\.cli\.internal/);

    const live = JSON.parse((await cli.run(['agent-sessions', 'list', '--live', '--json'])).stdout) as {
      agent_sessions: { id: string }[];
    };
    expect(live.agent_sessions.map((session) => session.id)).toContain(sessionId);
    const mine = JSON.parse((await cli.run(['agent-sessions', 'list', '--authtoken', token.id, '--json'])).stdout) as {
      agent_sessions: { id: string }[];
    };
    expect(mine.agent_sessions.map((session) => session.id)).toEqual([sessionId]);

    const endpoints = await cli.run(['endpoints', 'list', '--type', 'agent']);
    expect(endpoints.stdout).toContain('https://build.cli.internal');

    // Revoking ends it: it moves to --ended with the reason.
    expect((await cli.run(['authtokens', 'revoke', token.id, '--yes'])).code).toBe(0);
    const ended = await cli.run(['agent-sessions', 'list', '--ended']);
    expect(ended.stdout.split('\n').find((line) => line.startsWith(sessionId))).toContain('(authtoken-revoked)');
    expect((await cli.run(['endpoints', 'list', '--type', 'agent'])).stdout).not.toContain('build.cli.internal');
  });

  it('refuses contradictory filters', async () => {
    const both = await cli.run(['agent-sessions', 'list', '--live', '--ended']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give --live or --ended, not both');
    const badType = await cli.run(['endpoints', 'list', '--type', 'robot']);
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('cloud, internal or agent');
  });
});
