import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, unwrap, unwrapAnswer } from '@gatehouse/api-client';
import { admin, apiAs, type ApiProcess, freePort, startApi } from './helpers/api-process.js';
import { CliWorkspace } from './helpers/cli-process.js';

/** login / whoami / logout through the built CLI against the real API. */
describe('gatehouse login, whoami, logout', () => {
  let api: ApiProcess;
  const workspaces: CliWorkspace[] = [];
  const workspace = async (): Promise<CliWorkspace> => {
    const created = await CliWorkspace.create(api.url);
    workspaces.push(created);
    return created;
  };
  /** The HTTP status of GET /api/auth/me with `key`: 200, or the ApiError's (401 once revoked). */
  const status = (key: string): Promise<number> =>
    apiAs(api, key)
      .GET('/api/auth/me')
      .then(
        ({ response }) => response.status,
        (error: unknown) => (error instanceof ApiError ? error.status : Promise.reject(error as Error)),
      );

  beforeAll(async () => {
    api = await startApi('gatehouse_cli_auth_test');
  });

  afterAll(async () => {
    // Revokes the keys the tests minted, so reruns do not pile up keys in the test database.
    await Promise.all(workspaces.map((item) => item.run(['logout'])));
    await api?.stop();
    await Promise.all(workspaces.map((item) => item.remove()));
  });

  it('refuses a wrong password with the API error code and saves nothing', async () => {
    const cli = await workspace();
    const result = await cli.run(['login', '--email', admin.email, '--password-stdin'], {
      input: 'not-the-password\n',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error INVALID_CREDENTIALS: Wrong email or password\n {2}\(request id [\w-]+\)\n$/);
    expect(existsSync(cli.configPath)).toBe(false);
  });

  it('mints an API key from a password login, saves it with mode 0600 and never prints it', async () => {
    const cli = await workspace();
    const result = await cli.run(['login', '--email', admin.email, '--password-stdin'], {
      input: `${admin.password}\n`,
    });
    expect(result.code, result.stderr).toBe(0);
    const config = await cli.readConfig();
    expect(config).toMatchObject({
      api_url: api.url,
      identity: admin.email,
      api_key_id: expect.stringMatching(/^key_/) as unknown,
    });
    const prefix = /^(gh_[0-9a-f]{8})_/.exec(config.api_key)?.[1] ?? 'missing';
    expect(result.stdout).toBe(
      `Logged in to ${api.url} as ${admin.email} (admin); API key ${prefix}_… saved to ${cli.configPath}\n`,
    );
    expect(result.stdout + result.stderr).not.toContain(config.api_key);
    expect((await stat(cli.configPath)).mode & 0o777).toBe(0o600);
    expect(await status(config.api_key)).toBe(200);

    const whoami = await cli.run(['whoami']);
    expect(whoami).toMatchObject({
      code: 0,
      stdout: `API key ${prefix} for ${admin.email} (admin) at ${api.url}\nkey from ${cli.configPath}\n`,
    });
    const json = JSON.parse((await cli.run(['whoami', '--json'])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      api_url: api.url,
      type: 'api_key',
      name: prefix,
      role: 'admin',
      key_source: cli.configPath,
    });
  });

  it('a new login revokes the key the previous login minted; logout revokes the current one', async () => {
    const cli = await workspace();
    const first = await cli.loginAsAdmin();
    const second = await cli.loginAsAdmin();
    expect(second).not.toBe(first);
    expect(await status(first)).toBe(401);
    expect(await status(second)).toBe(200);

    const logout = await cli.run(['logout']);
    expect(logout.code).toBe(0);
    expect(logout.stdout).toMatch(new RegExp(`^Logged out of ${api.url}; revoked API key gh_[0-9a-f]{8}_…\\n$`));
    expect(existsSync(cli.configPath)).toBe(false);
    expect(await status(second)).toBe(401);
    const whoami = await cli.run(['whoami']);
    expect(whoami.code).toBe(1);
    expect(whoami.stderr).toContain(`error: not logged in to ${api.url} (no saved login)`);
    expect((await cli.run(['logout'])).stdout).toBe(`Not logged in (no ${cli.configPath})\n`);
  });

  it('checks a given API key before saving it, and does not revoke it on logout', async () => {
    const minter = await workspace();
    const key = await minter.loginAsAdmin();
    const cli = await workspace();
    const bad = await cli.run(['login', '--api-key-stdin'], { input: 'gh_00000000_not-a-real-key\n' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error UNAUTHENTICATED:');
    expect(existsSync(cli.configPath)).toBe(false);

    const good = await cli.run(['login', '--api-key-stdin'], { input: `${key}\n` });
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).not.toContain(key);
    expect(await cli.readConfig()).toEqual({
      version: 1,
      api_url: api.url,
      api_key: key,
      identity: expect.stringMatching(/^gh_/) as unknown,
    });
    const logout = await cli.run(['logout']);
    expect(logout.stdout).toContain('was given to login, so it was not revoked');
    expect(await status(key)).toBe(200);
  });

  it('lets GATEHOUSE_API_KEY override the saved login, and never sends the saved key to another URL', async () => {
    const cli = await workspace();
    await cli.loginAsAdmin();
    const other = await workspace();
    const envKey = await other.loginAsAdmin();
    const viaEnv = JSON.parse((await cli.run(['whoami', '--json'], { env: { GATEHOUSE_API_KEY: envKey } })).stdout) as {
      name: string;
      key_source: string;
    };
    expect(viaEnv.key_source).toBe('GATEHOUSE_API_KEY');
    expect(envKey.startsWith(`${viaEnv.name}_`)).toBe(true);

    // A server that records what it is sent: pointing the CLI at it must not leak the saved key.
    const seen: (string | undefined)[] = [];
    const recorder: Server = createServer((request, response) => {
      seen.push(request.headers.authorization);
      response.writeHead(500).end();
    });
    recorder.listen(0, '127.0.0.1');
    await once(recorder, 'listening');
    const recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
    try {
      const result = await cli.run(['endpoints', 'list', '--api-url', recorderUrl]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `error: not logged in to ${recorderUrl} (the saved login is for ${api.url}, not ${recorderUrl})`,
      );
      expect(seen).toEqual([]);
    } finally {
      recorder.close();
      await once(recorder, 'close');
    }
  });

  it('says which URL it could not reach', async () => {
    const cli = await workspace();
    const port = await freePort();
    const result = await cli.run(['endpoints', 'list', '--api-url', `http://127.0.0.1:${port}`], {
      env: { GATEHOUSE_API_KEY: 'gh_00000000_unused' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: The Gatehouse API cannot be reached (GET http://127.0.0.1:${port}/api/endpoints?limit=500: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${port})). Check that it is running and the address is right.\n`,
    );
    const login = await cli.run(
      ['login', '--api-url', `http://127.0.0.1:${port}`, '--email', admin.email, '--password-stdin'],
      {
        input: 'x',
      },
    );
    expect(login.code).toBe(1);
    expect(login.stderr).toContain(
      `error: The Gatehouse API cannot be reached (POST http://127.0.0.1:${port}/api/auth/login: ECONNREFUSED`,
    );
  });

  it('tells a non-admin that the API lets only admins mint keys, and how to log in instead', async () => {
    const cli = await workspace();
    const adminKey = await cli.loginAsAdmin();
    const editor = {
      email: `editor-${Date.now()}@example.com`,
      password: 'editor-password-1234',
      role: 'editor' as const,
    };
    const created = await unwrapAnswer(apiAs(api, adminKey).POST('/api/users', { body: editor }));
    expect(created.response.status).toBe(201);
    try {
      const other = await workspace();
      const result = await other.run(['login', '--email', editor.email, '--password-stdin'], {
        input: editor.password,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`error: ${editor.email} is editor: only admins can create API keys`);
      expect(result.stderr).toContain('gatehouse login --api-key-stdin');
      expect(existsSync(other.configPath)).toBe(false);
    } finally {
      await unwrap(apiAs(api, adminKey).DELETE('/api/users/{id}', { params: { path: { id: created.data.id } } }));
    }
  });
});
