import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '@gatehouse/api-client';
import { apiAs, type ApiProcess, resetInstall, startApi } from './helpers/api-process.js';
import { CliWorkspace } from './helpers/cli-process.js';

const denyPolicy = (status: number): string =>
  `on_http_request:\n  - name: block\n    actions:\n      - type: deny\n        config:\n          status_code: ${status}\n`;

const forwardPolicy = [
  'on_http_request:',
  '  - name: forward',
  '    actions:',
  '      - type: forward-internal',
  '        config:',
  '          url: https://upstream.example.internal',
  '',
].join('\n');

/** endpoints and policy commands through the built CLI against the real API. */
describe('gatehouse endpoints and policy', () => {
  let api: ApiProcess;
  let cli: CliWorkspace;
  let key = '';

  beforeAll(async () => {
    api = await startApi('gatehouse_cli_endpoints_test');
    cli = await CliWorkspace.create(api.url);
    key = await cli.loginAsAdmin();
    await resetInstall(api, key);
    await writeFile(join(cli.directory, 'forward.yaml'), forwardPolicy);
    await writeFile(join(cli.directory, 'deny-403.yaml'), denyPolicy(403));
    await writeFile(join(cli.directory, 'deny-401.yaml'), denyPolicy(401));
  });

  afterAll(async () => {
    // Revokes the key minted in beforeAll, so reruns do not pile up keys in the test database.
    await cli?.run(['logout']);
    await api?.stop();
    await cli?.remove();
  });

  it('creates an internal endpoint (type from the host) and a cloud endpoint with its first policy version', async () => {
    const internal = await cli.run([
      'endpoints',
      'create',
      '--url',
      'https://upstream.example.internal',
      '--upstream',
      'http://127.0.0.1:3333/',
      '--description',
      'MCP server',
    ]);
    expect(internal.code, internal.stderr).toBe(0);
    expect(internal.stdout).toMatch(
      /^Created internal endpoint https:\/\/upstream\.example\.internal \(ep_\w+, no policy\)\n$/,
    );

    const cloud = await cli.run([
      'endpoints',
      'create',
      '--url',
      'https://MCP.example.com',
      '--policy-file',
      'forward.yaml',
      '-m',
      'first',
      '--capture-headers',
      '--json',
    ]);
    expect(cloud.code, cloud.stderr).toBe(0);
    expect(JSON.parse(cloud.stdout)).toMatchObject({
      url: 'https://mcp.example.com',
      type: 'cloud',
      policy_version: 1,
      traffic_policy: forwardPolicy,
      request_log_capture: { headers: true, bodies: false },
    });
  });

  it('shows the API error code for a conflict, and local line/column for an invalid policy without creating anything', async () => {
    const taken = await cli.run([
      'endpoints',
      'create',
      '--url',
      'https://mcp.example.com',
      '--policy-file',
      'forward.yaml',
    ]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(
      /^error ENDPOINT_URL_TAKEN: An endpoint with URL https:\/\/mcp\.example\.com already exists\n/,
    );

    await writeFile(
      join(cli.directory, 'broken.yaml'),
      'on_http_request:\n  - actions:\n      - type: deny\n        config: { status_code: "x" }\n',
    );
    const invalid = await cli.run([
      'endpoints',
      'create',
      '--url',
      'https://broken.example.com',
      '--policy-file',
      'broken.yaml',
    ]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(
      /^error: broken\.yaml is not a valid cloud policy \(2 errors\); nothing was saved\n/,
    );
    expect(invalid.stderr).toContain(
      '  broken.yaml:4:32 POLICY_CONFIG_INVALID deny status_code: expected number, got the string "x"\n',
    );
    const missingUpstream = await cli.run(['endpoints', 'create', '--url', 'https://other.example.internal']);
    expect(missingUpstream.code).toBe(2);
    expect(missingUpstream.stderr).toContain('an internal endpoint needs --upstream');
    const internalCapture = await cli.run([
      'endpoints',
      'create',
      '--url',
      'https://other.example.internal',
      '--upstream',
      'http://127.0.0.1:3333',
      '--capture-bodies',
    ]);
    expect(internalCapture.code).toBe(2);
    expect(internalCapture.stderr).toContain('request-log capture is a cloud endpoint setting');
    const listed = await unwrap(apiAs(api, key).GET('/api/endpoints'));
    expect(listed.endpoints).toHaveLength(2);
  });

  it('lists endpoints as a table and as JSON, and finds one by id, URL or host', async () => {
    const table = await cli.run(['endpoints', 'list']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+URL\s+TYPE\s+POLICY\s+UPSTREAM\s+DESCRIPTION$/);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/).slice(1))).toEqual([
      ['https://mcp.example.com', 'cloud', 'v1', '-'],
      ['https://upstream.example.internal', 'internal', '-', 'http://127.0.0.1:3333', 'MCP server'],
    ]);
    const json = JSON.parse((await cli.run(['endpoints', 'list', '--type', 'internal', '--json'])).stdout) as {
      endpoints: { id: string; url: string }[];
    };
    expect(json.endpoints.map((endpoint) => endpoint.url)).toEqual(['https://upstream.example.internal']);
    const id = json.endpoints[0]?.id ?? '';
    for (const reference of [id, 'https://upstream.example.internal', 'upstream.example.internal']) {
      const shown = await cli.run(['endpoints', 'get', reference]);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toContain(
        `id:          ${id}\nurl:         https://upstream.example.internal\ntype:        internal`,
      );
      expect(shown.stdout).toContain('upstream:    http://127.0.0.1:3333 (host header: preserve)');
    }
    const missing = await cli.run(['endpoints', 'get', 'nothing.example.com']);
    expect(missing).toMatchObject({ code: 1, stderr: 'error: no endpoint has the id or host nothing.example.com\n' });
  });

  it('prints the active policy byte for byte', async () => {
    const result = await cli.run(['policy', 'get', 'mcp.example.com']);
    expect(result).toMatchObject({ code: 0, stdout: forwardPolicy });
  });

  it('saves a new version, skips an identical one, and refuses an invalid file with its line and column', async () => {
    const saved = await cli.run(['policy', 'set', 'https://mcp.example.com', '-f', 'deny-403.yaml', '-m', 'block all']);
    expect(saved).toMatchObject({ code: 0, stdout: 'https://mcp.example.com: saved and activated policy version 2\n' });
    const again = await cli.run(['policy', 'set', 'https://mcp.example.com', '-f', 'deny-403.yaml']);
    expect(again).toMatchObject({
      code: 0,
      stdout: 'https://mcp.example.com: unchanged (version 2 is already this text)\n',
    });

    await writeFile(
      join(cli.directory, 'bad.yaml'),
      'on_http_request:\n  - expressions: ["req.methd == \'GET\'"]\n    actions:\n      - type: deny\n',
    );
    const invalid = await cli.run(['policy', 'set', 'https://mcp.example.com', '-f', 'bad.yaml']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('bad.yaml:2:24 POLICY_EXPRESSION_INVALID Invalid expression: No such key: methd');
    expect(invalid.stderr).toContain('bad.yaml:2:5 POLICY_NOT_TERMINATING');

    const versions = JSON.parse((await cli.run(['policy', 'versions', 'mcp.example.com', '--json'])).stdout) as {
      versions: { version: number; active: boolean; message: string }[];
    };
    expect(versions.versions.map(({ version, active, message }) => ({ version, active, message }))).toEqual([
      { version: 2, active: true, message: 'block all' },
      { version: 1, active: false, message: 'first' },
    ]);
  });

  it('restores an old version as a new one and shows the history as a table', async () => {
    // --yes: stdin is not a terminal here; the preview (diff and replay) comes first, the result last.
    const restored = await cli.run(['policy', 'restore', 'mcp.example.com', '1', '--yes']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/\nhttps:\/\/mcp\.example\.com: restored version 1 as version 3 \(active\)\n$/);
    expect((await cli.run(['policy', 'get', 'mcp.example.com'])).stdout).toBe(forwardPolicy);
    expect((await cli.run(['policy', 'get', 'mcp.example.com', '--version', '2'])).stdout).toBe(denyPolicy(403));

    const table = (await cli.run(['policy', 'versions', 'mcp.example.com'])).stdout.trimEnd().split('\n');
    expect(table[0]).toMatch(/^VERSION\s+ACTIVE\s+RESTORED FROM\s+CREATED\s+BY\s+MESSAGE$/);
    expect(table[1]).toMatch(/^3\s+\*\s+v1\s+\S+Z\s+gh_[0-9a-f]{8}\s+Restored version 1$/);
    expect(table).toHaveLength(4);

    const missing = await cli.run(['policy', 'restore', 'mcp.example.com', '9', '--yes']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error POLICY_VERSION_NOT_FOUND: Endpoint ep_\w+ has no policy version 9\n/);
  });

  it('deletes only with confirmation: refused without --yes when stdin is not a terminal', async () => {
    const refused = await cli.run(['endpoints', 'delete', 'mcp.example.com']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('refusing to delete without confirmation: stdin is not a terminal; pass --yes');
    expect((await cli.run(['endpoints', 'get', 'mcp.example.com'])).code).toBe(0);

    const deleted = await cli.run(['endpoints', 'delete', 'mcp.example.com', '--yes']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toMatch(/^Deleted endpoint https:\/\/mcp\.example\.com \(ep_\w+\)\n$/);
    expect((await cli.run(['endpoints', 'get', 'mcp.example.com'])).code).toBe(1);
  });

  it('leaves the API healthy after the bad paths', async () => {
    expect((await apiAs(api, key).GET('/api/health')).response.status).toBe(200);
    expect((await cli.run(['whoami'])).code).toBe(0);
  });
});
