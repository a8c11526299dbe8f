import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAs, type ApiProcess, resetInstall, startApi } from './helpers/api-process.js';
import { CliWorkspace } from './helpers/cli-process.js';

/** vaults and secrets through the built CLI against the real API: the value comes from stdin, never argv. */
describe('gatehouse vaults and secrets', () => {
  let api: ApiProcess;
  let cli: CliWorkspace;
  let key: string;

  beforeAll(async () => {
    api = await startApi('gatehouse_cli_secrets_test');
    cli = await CliWorkspace.create(api.url);
    key = await cli.loginAsAdmin();
    await resetInstall(api, key);
  });

  afterAll(async () => {
    await cli?.run(['logout']);
    await api?.stop();
    await cli?.remove();
  });

  it('creates a vault, sets a secret from stdin, lists names only and deletes both', async () => {
    const vault = `cli-${Date.now().toString(36)}`;
    expect((await cli.run(['vaults', 'create', vault, '--description', 'from the CLI'])).code).toBe(0);
    const set = await cli.run(['secrets', 'set', vault, 'alice'], { input: 'stdin-secret-value-1\n' });
    expect(set, set.stderr).toMatchObject({ code: 0 });
    expect(set.stdout).toContain(`Stored secret ${vault}/alice`);
    expect(set.stdout).not.toContain('stdin-secret-value-1');

    const listed = await cli.run(['secrets', 'list', vault]);
    expect(listed.stdout).toContain('alice');
    expect(listed.stdout).not.toContain('stdin-secret-value-1');
    const vaults = await cli.run(['vaults', 'list', '--json']);
    expect(vaults.stdout).toContain(vault);
    expect(vaults.stdout).not.toContain('stdin-secret-value-1');

    const empty = await cli.run(['secrets', 'set', vault, 'bob'], { input: '' });
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toContain('no secret value on stdin');

    // No --value option exists: a value on the command line is refused, not stored.
    const onArgv = await cli.run(['secrets', 'set', vault, 'carol', '--value', 'visible-in-ps']);
    expect(onArgv.code).toBe(2);
    expect(
      JSON.stringify(await apiAs(api, key).GET('/api/vaults/{vault}/secrets', { params: { path: { vault } } })),
    ).not.toContain('carol');

    expect((await cli.run(['secrets', 'delete', vault, 'alice'])).stderr).toContain('pass --yes');
    expect((await cli.run(['secrets', 'delete', vault, 'alice', '--yes'])).code).toBe(0);
    expect((await cli.run(['vaults', 'delete', vault, '--yes'])).code).toBe(0);
  });
});
