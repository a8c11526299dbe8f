// Where `gatehouse login` keeps its credentials, and which API URL and key a command uses.
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { CliError } from './cli-errors.js';
import { DEFAULT_API_URL, normalizeApiUrl } from './gatehouse-api.js';

export const ConfigFileSchema = z.object({
  version: z.literal(1),
  api_url: z.string(),
  api_key: z.string(),
  /** Set when `login` minted the key from a password login, so `logout` can revoke it. */
  api_key_id: z.string().optional(),
  /** The user (email) or key prefix the key belongs to, for `whoami` without a round trip. */
  identity: z.string().optional(),
});
export type ConfigFile = z.infer<typeof ConfigFileSchema>;

export type Env = Readonly<Record<string, string | undefined>>;

/** `$GATEHOUSE_CONFIG`, else `$XDG_CONFIG_HOME/gatehouse/config.json` (XDG's default is ~/.config). */
export function configFilePath(env: Env): string {
  const explicit = env.GATEHOUSE_CONFIG;
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg !== undefined && xdg !== '' ? xdg : join(env.HOME ?? homedir(), '.config');
  return join(base, 'gatehouse', 'config.json');
}

export interface LoadedConfig {
  config: ConfigFile | null;
  /** A warning to print (the file is readable by others). */
  warning?: string;
}

export async function readConfigFile(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { config: null };
    throw new CliError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`the config file ${path} is not JSON; fix it or delete it and run gatehouse login`);
  }
  const parsed = ConfigFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new CliError(
      `the config file ${path} is not a gatehouse config; fix it or delete it and run gatehouse login`,
      1,
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  const { mode } = await stat(path);
  const warning =
    process.platform !== 'win32' && (mode & 0o077) !== 0
      ? `warning: ${path} holds an API key and is readable by other users; run chmod 600 ${path}`
      : undefined;
  return { config: parsed.data, ...(warning === undefined ? {} : { warning }) };
}

/** Writes the file with mode 0600 (directory 0700) through a rename, so a crash never leaves half a key on disk. */
export async function writeConfigFile(path: string, config: ConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode is ignored when the file exists and is masked by the umask; set it explicitly.
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

export async function deleteConfigFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

export interface Connection {
  apiUrl: string;
  apiKey: string | null;
  keySource: 'GATEHOUSE_API_KEY' | 'config file' | null;
  /** Why there is no key although a config file exists (it belongs to another API URL). */
  missingKeyReason?: string;
}

/**
 * The API URL is `--api-url`, else GATEHOUSE_API_URL, else the URL saved by `login`, else the default. The key is
 * GATEHOUSE_API_KEY, else the saved key — but only for the URL it was saved for, so pointing a command at another
 * server never sends it a key that belongs elsewhere.
 */
export function resolveConnection(flagApiUrl: string | undefined, env: Env, config: ConfigFile | null): Connection {
  const explicitUrl = flagApiUrl ?? (env.GATEHOUSE_API_URL !== '' ? env.GATEHOUSE_API_URL : undefined);
  const apiUrl = normalizeApiUrl(explicitUrl ?? config?.api_url ?? DEFAULT_API_URL);
  const envKey = env.GATEHOUSE_API_KEY;
  if (envKey !== undefined && envKey !== '') return { apiUrl, apiKey: envKey, keySource: 'GATEHOUSE_API_KEY' };
  if (config === null) return { apiUrl, apiKey: null, keySource: null };
  if (normalizeApiUrl(config.api_url) !== apiUrl) {
    return {
      apiUrl,
      apiKey: null,
      keySource: null,
      missingKeyReason: `the saved login is for ${config.api_url}, not ${apiUrl}`,
    };
  }
  return { apiUrl, apiKey: config.api_key, keySource: 'config file' };
}
