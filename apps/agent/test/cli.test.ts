import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The built binary, as users run it (`npm run build` first; turbo's test task depends on the build). */
const bin = fileURLToPath(new URL('../bin/gatehouse-agent.mjs', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'gatehouse-agent-cli-'));

function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GATEHOUSE_AUTHTOKEN: '', ...env },
    timeout: 20_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function file(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

describe('gatehouse-agent command line', () => {
  it('config check: ok with a count, or exit 2 with file:line:col for each problem', () => {
    const good = file(
      'good.yml',
      'version: 3\nagent:\n  authtoken: ${TOKEN}\nendpoints:\n  - { name: mcp, url: https://mcp.example.internal, upstream: { url: 3333 } }\n',
    );
    const ok = run(['config', 'check', '--config', good], { TOKEN: 'x' });
    expect(ok).toMatchObject({ status: 0, stdout: `${good}: ok (1 endpoint)\n` });

    const missingVariable = run(['config', 'check', '--config', good]);
    expect(missingVariable.status).toBe(2);
    expect(missingVariable.stderr).toBe(`${good}:3:14: agent.authtoken: environment variable TOKEN is not set\n`);

    const bad = file(
      'bad.yml',
      'version: 3\nendpoints:\n  - name: mcp\n    url: https://mcp.example.internal\n    upstream: { url: 3333 }\n    pooling: true\n    traffic_policy:\n      on_http_request:\n        - actions: [{ type: nope }]\n',
    );
    const checked = run(['config', 'check', '--config', bad]);
    expect(checked.status).toBe(2);
    const lines = checked.stderr.trim().split('\n');
    expect(lines[0]).toBe(`${bad}:6:5: unknown field "endpoints.0.pooling"`);
    // The endpoint's policy is checked too, though its fields were refused.
    expect(lines[1]).toMatch(/bad\.yml:9:29: traffic_policy: POLICY_UNKNOWN_ACTION: /);
    expect(lines).toHaveLength(2);
    const policy = run([
      'config',
      'check',
      '--config',
      file(
        'policy.yml',
        'version: 3\nendpoints:\n  - name: mcp\n    url: https://mcp.example.internal\n    upstream: { url: 3333 }\n    traffic_policy:\n      on_http_request:\n        - actions: [{ type: nope }]\n',
      ),
    ]);
    expect(policy.status).toBe(2);
    expect(policy.stderr).toMatch(/policy\.yml:8:29: traffic_policy: POLICY_UNKNOWN_ACTION: /);
  });

  it('usage errors exit 2 with a message that says what to do', () => {
    expect(run([]).status).toBe(2);
    const noFile = run(['config', 'check', '--config', join(directory, 'absent.yml')]);
    expect(noFile).toMatchObject({ status: 2, stderr: `${join(directory, 'absent.yml')}: no such file\n` });
    const noToken = run(['http', '3333', '--url', 'https://mcp.example.internal']);
    expect(noToken.status).toBe(2);
    expect(noToken.stderr).toMatch(/no authtoken/);
    const badUrl = run(['http', '3333', '--url', 'ftp://x', '--authtoken', 't']);
    expect(badUrl.status).toBe(2);
    expect(badUrl.stderr).toMatch(/^--url: /);
    const unknown = run([
      'start',
      'nope',
      '--config',
      file('one.yml', 'version: 3\nendpoints:\n  - { name: mcp, url: https://a.internal, upstream: { url: 1 } }\n'),
      '--authtoken',
      't',
    ]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/has no endpoint named nope \(it has: mcp\)/);
    expect(run(['--bogus']).status).toBe(2);
  });
});
