import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiClient, type GatehouseApiClient, unwrap } from '@gatehouse/api-client';

/**
 * The real control plane (`apps/api/dist/main.js`, built) on a database of the test's own, migrated with the API's
 * idempotent `scripts/db-migrate.mjs` (which creates it). Each test file names its own database and empties it through
 * the REST API first (resetInstall), so files never see each other's endpoints and reruns start clean.
 */
const apiDirectory = fileURLToPath(new URL('../../../api', import.meta.url));
const apiMain = join(apiDirectory, 'dist/main.js');

export const admin = { email: 'cli-admin@example.com', password: 'cli-admin-password-1234' };

/** Postgres server from DATABASE_URL (as CI sets it) or the local default; the database name is the test's. */
export function databaseUrl(name: string): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${name}`;
  return url.toString();
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function runToCompletion(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(process.execPath, args, { cwd: apiDirectory, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${args.join(' ')} failed (${code}): ${output}`);
}

/** The data-plane token the API under test accepts, so a test can stand in for a data plane (agent sessions). */
export const DATAPLANE_TOKEN = 'cli-test-dataplane-token-0123456789';

export interface ApiProcess {
  /** `http://127.0.0.1:PORT`, what --api-url takes. */
  url: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startApi(databaseName: string): Promise<ApiProcess> {
  if (!existsSync(apiMain)) {
    throw new Error(`${apiMain} is missing: run npx turbo run build --filter=@gatehouse/api first`);
  }
  const database = databaseUrl(databaseName);
  await runToCompletion([join(apiDirectory, 'scripts/db-migrate.mjs')], {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: database,
  });
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [apiMain], {
    cwd: apiDirectory,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      DATABASE_URL: database,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      API_PORT: String(port),
      GATEHOUSE_SECRETS_KEY: '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',
      GATEHOUSE_ADMIN_EMAIL: admin.email,
      GATEHOUSE_ADMIN_PASSWORD: admin.password,
      LOG_LEVEL: 'warn',
      GATEHOUSE_DATAPLANE_TOKEN: DATAPLANE_TOKEN,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API exited (${child.exitCode}): ${output}`);
    const healthy = await fetch(`${url}/api/health`)
      .then((response) => response.ok)
      .catch(() => false);
    if (healthy) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the API did not answer /api/health within 60 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { url, output: () => output, stop };
}

/** The REST API as the test itself uses it (setup and independent checks), not through the CLI under test. */
export function apiAs(api: { url: string }, key: string): GatehouseApiClient {
  return createApiClient({ baseUrl: api.url, headers: { authorization: `Bearer ${key}` } });
}

/**
 * Deletes every endpoint and custom IP category, so a test file starts from a known, empty install. Agent endpoints
 * cannot be deleted (409): revoking every authtoken ends their sessions, which removes them.
 */
export async function resetInstall(api: { url: string }, key: string): Promise<void> {
  const client = apiAs(api, key);
  const { authtokens } = await unwrap(
    client.GET('/api/authtokens', { params: { query: { limit: 500, revoked: 'false' } } }),
  );
  for (const token of authtokens) {
    await unwrap(client.DELETE('/api/authtokens/{id}', { params: { path: { id: token.id } } }));
  }
  for (;;) {
    const { endpoints } = await unwrap(client.GET('/api/endpoints', { params: { query: { limit: 500 } } }));
    if (endpoints.length === 0) break;
    for (const endpoint of endpoints) {
      await unwrap(client.DELETE('/api/endpoints/{id}', { params: { path: { id: endpoint.id } } }));
    }
  }
  const { ip_categories: categories } = await unwrap(client.GET('/api/ip-categories'));
  for (const category of categories) {
    if (!category.builtin) {
      await unwrap(client.DELETE('/api/ip-categories/{name}', { params: { path: { name: category.name } } }));
    }
  }
}
