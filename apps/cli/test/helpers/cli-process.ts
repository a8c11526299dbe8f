import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { admin } from './api-process.js';

/** The built binary, run exactly as a user runs it (`node dist/main.js`), never imported. */
const cliMain = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SavedConfig {
  api_url: string;
  api_key: string;
  api_key_id?: string;
  identity?: string;
}

export interface CliOptions {
  /** Written to stdin, which is then closed (so stdin is never a terminal). */
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
}

/**
 * A temporary HOME with its own config file: runs never read the developer's login or GATEHOUSE_* variables, and
 * every workspace is removed afterwards.
 */
export class CliWorkspace {
  private constructor(
    readonly directory: string,
    readonly apiUrl: string,
  ) {}

  static async create(apiUrl: string): Promise<CliWorkspace> {
    return new CliWorkspace(await mkdtemp(join(tmpdir(), 'gatehouse-cli-e2e-')), apiUrl);
  }

  get configPath(): string {
    return join(this.directory, 'config', 'config.json');
  }

  async run(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
    const child = spawn(process.execPath, [cliMain, ...args], {
      cwd: options.cwd ?? this.directory,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: this.directory,
        GATEHOUSE_CONFIG: this.configPath,
        GATEHOUSE_API_URL: this.apiUrl,
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdin.end(options.input ?? '');
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, stdout, stderr };
  }

  /** `gatehouse login` as the bootstrap admin; answers the minted key (read back from the config file). */
  async loginAsAdmin(): Promise<string> {
    const result = await this.run(['login', '--email', admin.email, '--password-stdin'], {
      input: `${admin.password}\n`,
    });
    if (result.code !== 0) throw new Error(`login failed (${result.code}): ${result.stderr}`);
    return (await this.readConfig()).api_key;
  }

  async readConfig(): Promise<SavedConfig> {
    return JSON.parse(await readFile(this.configPath, 'utf8')) as SavedConfig;
  }

  async remove(): Promise<void> {
    await rm(this.directory, { recursive: true, force: true });
  }
}
