import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, waitFor } from './processes.js';

const run = promisify(execFile);

/**
 * A throwaway Postgres cluster of the test's own (initdb into a temporary directory, a free port, trust auth on
 * 127.0.0.1 only), so a test can stop and start it without touching the machine's server. initdb and postgres refuse
 * to run as root: as root (CI) they run as the `postgres` user through `runuser`.
 */
export interface OwnPostgres {
  readonly port: number;
  /** A URL of this cluster for `database` (db-migrate.mjs creates it). */
  url(database: string): string;
  /** `pg_ctl stop -m immediate`: every connection drops at once, as when the server dies. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

function binDirectory(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((entry) => existsSync(join(root, entry, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no Postgres server binaries under ${root} (install postgresql)`);
  return join(root, versions[0]!, 'bin');
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = binDirectory();
  const port = await freePort();
  const directory = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-pg-'));
  const data = join(directory, 'data');
  const asRoot = process.getuid?.() === 0;
  const command = async (program: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]]
      : [join(bin, program), args];
    try {
      return await run(file, argv, { timeout: 60_000 });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(
        `${program} ${args.join(' ')} failed: ${(error as Error).message}\n${stdout ?? ''}${stderr ?? ''}`,
        {
          cause: error,
        },
      );
    }
  };
  if (asRoot) await chown(directory, ...(await postgresIds()));
  await command('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const options = [
    `-p ${port}`,
    "-c listen_addresses='127.0.0.1'",
    `-c unix_socket_directories='${directory}'`,
    // Stopping the server (even `-m immediate`) keeps what the OS has: fsync only matters for a machine crash, which
    // is not what is tested. synchronous_commit stays on: a commit the worker saw must survive the server's crash.
    '-c fsync=off',
    '-c full_page_writes=off',
  ].join(' ');
  const url = (database: string) => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  const start = async () => {
    await command('pg_ctl', [
      '-D',
      data,
      '-l',
      join(directory, 'server.log'),
      '-o',
      options,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    await waitFor(
      async () => {
        const client = new pg.Client({ connectionString: url('postgres') });
        try {
          await client.connect();
          await client.query('SELECT 1');
          return true;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      { timeoutMs: 30_000, what: `Postgres on port ${port}` },
    );
  };
  const stop = async () => {
    await command('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
  };
  // An interrupted run must not leave a server holding a port and a temporary directory on a shared machine.
  const onExit = () => {
    try {
      const argv = ['-D', data, '-m', 'immediate', 'stop'];
      if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...argv], { stdio: 'ignore' });
      else execFileSync(join(bin, 'pg_ctl'), argv, { stdio: 'ignore' });
    } catch {
      // Already stopped.
    }
  };
  process.once('exit', onExit);
  await start();
  return {
    port,
    url,
    stop,
    start,
    destroy: async () => {
      process.off('exit', onExit);
      await stop().catch(() => undefined);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<[number, number]> {
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: group } = await run('id', ['-g', 'postgres']);
  return [Number(stdout.trim()), Number(group.trim())];
}
