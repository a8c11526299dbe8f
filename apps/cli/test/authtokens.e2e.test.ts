import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, resetInstall, startApi } from './helpers/api-process.js';
import { CliWorkspace } from './helpers/cli-process.js';

/** authtokens list / create / revoke through the built CLI against the real API. */
describe('gatehouse authtokens', () => {
  let api: ApiProcess;
  let cli: CliWorkspace;

  beforeAll(async () => {
    api = await startApi('gatehouse_cli_authtokens_test');
    cli = await CliWorkspace.create(api.url);
    const key = await cli.loginAsAdmin();
    await resetInstall(api, key);
  });

  afterAll(async () => {
    await cli?.run(['logout']);
    await api?.stop();
    await cli?.remove();
  });

  it('creates a token, prints its secret once, lists it without it and revokes it', async () => {
    const created = await cli.run([
      'authtokens',
      'create',
      '--description',
      'laptop MCP server',
      '--url-patterns',
      '*.team-a.internal, mcp.example.internal',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const secret = /\b(gat_[0-9a-f]{8}_[\w-]{43})\b/.exec(created.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(created.stdout).toContain('may claim *.team-a.internal, mcp.example.internal');
    expect(created.stdout).toContain('only time the secret is shown');
    const id = /Created authtoken (atk_\w+)/.exec(created.stdout)?.[1] ?? '';

    const listed = await cli.run(['authtokens', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toContain('active');
    expect(listed.stdout).not.toContain(secret!.slice(13));

    const refused = await cli.run(['authtokens', 'revoke', id]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('pass --yes');

    const revoked = await cli.run(['authtokens', 'revoke', id, '--yes']);
    expect(revoked).toMatchObject({ code: 0, stdout: `Revoked authtoken ${id} (laptop MCP server)\n` });
    const json = JSON.parse((await cli.run(['authtokens', 'list', '--revoked', '--json'])).stdout) as {
      authtokens: { id: string; revoked_at: string | null }[];
    };
    // The database outlives a run and tokens are revoked, never deleted: judge only this run's token.
    expect(json.authtokens.find((token) => token.id === id)?.revoked_at).toEqual(expect.any(String));
    const active = JSON.parse((await cli.run(['authtokens', 'list', '--active', '--json'])).stdout) as {
      authtokens: { id: string }[];
    };
    expect(active.authtokens.map((token) => token.id)).not.toContain(id);
  });

  it('checks patterns before calling the API, and shows the API error for a missing token', async () => {
    const bad = await cli.run(['authtokens', 'create', '--description', 'x', '--url-patterns', 'https://a.internal']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('host only');
    const missing = await cli.run(['authtokens', 'revoke', 'atk_00000000000000000000000000', '--yes']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('AUTHTOKEN_NOT_FOUND');
    const noDescription = await cli.run(['authtokens', 'create']);
    expect(noDescription.code).toBe(2);
    expect(noDescription.stderr).toContain('--description is required');
  });
});
