import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands, runCli, splitCommandWords } from './cli.js';
import type { Io } from './output.js';

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'gatehouse-cli-unit-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Runs the CLI in process with captured output, stdin that is not a terminal, and no saved login. */
async function run(args: string[], stdin = '', env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    stdin: Readable.from([stdin]),
    env: { GATEHOUSE_CONFIG: join(directory, 'absent-config.json'), ...env },
    cwd: directory,
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

describe('command words', () => {
  it('finds the command wherever global options sit', () => {
    expect(splitCommandWords(['--api-url', 'http://h', 'endpoints', '--json', 'get', 'ep_1'])).toEqual({
      words: ['endpoints', 'get'],
      rest: ['--api-url', 'http://h', '--json', 'ep_1'],
    });
    expect(splitCommandWords(['policy', 'set', 'a.example.com', '-f', 'p.yaml'])).toEqual({
      words: ['policy', 'set'],
      rest: ['a.example.com', '-f', 'p.yaml'],
    });
    expect(splitCommandWords(['apply', '-f', 'x.yaml'])).toEqual({ words: ['apply'], rest: ['-f', 'x.yaml'] });
  });
});

describe('help and usage errors', () => {
  it('lists every command in the main help (exit 0 with --help, 2 without a command)', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const command of commands) expect(help.stdout).toContain(`  ${command.name} `);
    const bare = await run([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: gatehouse <command>');
  });

  it.each(commands.map((command) => [command.name]))(
    'gatehouse %s --help shows usage, options and examples',
    async (name) => {
      const result = await run([...name.split(' '), '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: gatehouse ${name}`);
      expect(result.stdout).toContain('--api-url URL');
      expect(result.stdout).toMatch(/Examples:\n {2}gatehouse /);
    },
  );

  it('shows group help', async () => {
    const result = await run(['policy', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('policy validate');
    expect((await run(['endpoints'])).code).toBe(2);
  });

  it.each([
    [['nope'], 'error: unknown command "nope"; see gatehouse --help'],
    [['endpoints', 'lst'], 'error: unknown command "endpoints lst"; see gatehouse endpoints --help'],
    [['endpoints', 'list', '--nope'], "error: Unknown option '--nope'\n  see: gatehouse endpoints list --help"],
    [['policy', 'get'], 'error: missing <endpoint>\n  see: gatehouse policy get --help'],
    [['policy', 'restore', 'a.example.com', 'latest'], 'error: the version must be a positive integer, not "latest"'],
    [['endpoints', 'get', 'a', 'b'], 'error: unexpected argument "b"'],
    [['policy', 'validate'], 'error: --file is required'],
    [['login', '--api-key', 'k', '--email', 'a@b.c'], 'error: use either an API key or email/password, not both'],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const result = await run(args);
    expect(result.stderr).toContain(message);
    expect(result.code).toBe(2);
  });

  it('refuses apply and delete without --yes when stdin is not a terminal, before touching anything', async () => {
    const apply = await run(['apply', '-f', 'does-not-exist.yaml']);
    expect(apply.code).toBe(2);
    expect(apply.stderr).toContain('refusing to apply without confirmation: stdin is not a terminal; pass --yes');
    const remove = await run(['endpoints', 'delete', 'ep_1']);
    expect(remove.code).toBe(2);
    expect(remove.stderr).toContain('pass --yes');
  });

  it('asks for a password source when it cannot prompt', async () => {
    const result = await run(['login', '--email', 'a@example.com']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no password: pass --password-stdin');
  });

  it('explains a missing login and never contacts the API for it', async () => {
    const result = await run(['endpoints', 'list', '--api-url', 'http://127.0.0.1:1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: not logged in to http://127.0.0.1:1 (no saved login): run gatehouse login --api-url http://127.0.0.1:1, or set GATEHOUSE_API_KEY\n',
    );
  });
});

describe('policy validate (local, no server)', () => {
  const invalid = [
    'on_http_request:',
    '  - expressions:',
    '      - "req.methd == \'GET\'"',
    '    actions:',
    '      - type: deny',
    '        config:',
    '          status_code: "abc"',
    '',
  ].join('\n');

  it('prints every issue as file:line:col CODE message and exits 1', async () => {
    await writeFile(join(directory, 'bad.yaml'), invalid);
    const result = await run(['policy', 'validate', '-f', 'bad.yaml']);
    expect(result.code).toBe(1);
    const [notTerminating, ...rest] = result.stdout.split('\n');
    expect(notTerminating).toMatch(/^bad\.yaml:2:5 POLICY_NOT_TERMINATING A cloud endpoint must end on_http_request /);
    expect(rest).toEqual([
      'bad.yaml:3:14 POLICY_EXPRESSION_INVALID Invalid expression: No such key: methd. Did you mean "method"?',
      'bad.yaml:7:24 POLICY_CONFIG_INVALID deny status_code: expected number, got the string "abc"',
      '',
    ]);
    expect(result.stderr).toBe('bad.yaml: 3 errors\n');
  });

  it('validates against the endpoint type and reads stdin', async () => {
    const forward = 'on_http_request:\n  - expressions: ["req.method == \'GET\'"]\n    actions:\n      - type: deny\n';
    const cloud = await run(['policy', 'validate', '-f', '-'], forward);
    expect(cloud.code).toBe(1);
    expect(cloud.stdout).toContain('<stdin>:');
    expect(cloud.stdout).toContain('POLICY_NOT_TERMINATING');
    const internal = await run(['policy', 'validate', '-f', '-', '--type', 'internal'], forward);
    expect(internal).toMatchObject({ code: 0, stdout: '<stdin>: valid internal policy\n' });
  });

  it('answers JSON with --json', async () => {
    await writeFile(join(directory, 'ok.yaml'), 'on_http_request:\n  - actions:\n      - type: deny\n');
    const result = await run(['policy', 'validate', '-f', 'ok.yaml', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      file: 'ok.yaml',
      endpoint_type: 'cloud',
      valid: true,
      errors: [],
      warnings: [],
    });
  });

  it('says which file it cannot read', async () => {
    const result = await run(['policy', 'validate', '-f', 'missing.yaml']);
    expect(result).toMatchObject({ code: 1, stderr: 'error: cannot read missing.yaml: ENOENT\n' });
  });
});
