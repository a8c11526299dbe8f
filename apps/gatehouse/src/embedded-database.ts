import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PGlite } from '@electric-sql/pglite';
import type { DatabaseAdapter, Env } from '@gatehouse/api/control-plane';
import { migrateDatabase, migrateEmbeddedDatabase, type MigrationResult } from '@gatehouse/api/migrations';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Logger } from 'pino';
import { openPGlite } from './pglite-cluster.js';

const execFileAsync = promisify(execFile);

/** Where the data lives: the PGlite directory, or the Postgres URL without credentials. */
export type Storage = { kind: 'pglite'; directory: string } | { kind: 'postgres'; database: string };

export interface EmbeddedDatabase {
  /** The control plane's database port; undefined → it connects to DATABASE_URL itself. */
  adapter: DatabaseAdapter | undefined;
  storage: Storage;
  close: () => Promise<void>;
}

/**
 * Opens and migrates the embedded shape's database with the API's own migration scripts (what `npm run db:migrate`
 * runs): Postgres when DATABASE_URL is set, otherwise PGlite in `<data directory>/pgdata`, created on first start.
 * Migrating at every boot is cheap when nothing is pending and keeps an upgraded Gatehouse on its own schema.
 */
export async function openEmbeddedDatabase(env: Env, dataDirectory: string, logger: Logger): Promise<EmbeddedDatabase> {
  if (env.DATABASE_URL) {
    logMigration(logger, await migrateDatabase(env.DATABASE_URL));
    const url = new URL(env.DATABASE_URL);
    return {
      adapter: undefined,
      storage: { kind: 'postgres', database: `${url.hostname}:${url.port || '5432'}${url.pathname}` },
      close: () => Promise.resolve(),
    };
  }
  const directory = join(dataDirectory, 'pgdata');
  await mkdir(directory, { recursive: true });
  const pglite = await openMigratedPGlite(directory, logger);
  return {
    adapter: new PrismaPGlite(pglite),
    storage: { kind: 'pglite', directory },
    close: () => pglite.close(),
  };
}

/**
 * The PGlite instance to serve from, its schema migrated. Creating a cluster and migrating it grow PGlite's
 * WebAssembly memory, which can never shrink, and leave malloc heap and compiled code behind: done in this process, a
 * first start measured 670 MB of RSS at idle where a restart holds 264 MB, and after closing that instance and opening
 * a fresh one over the same files still ~25 MB more than a restart (249 MB against 223). So a first start creates and
 * migrates the cluster in a child process, and this one opens it as a restart does. A restart migrates in process
 * (nothing pending is one cheap query; after an upgrade, the instance that migrated is swapped for a fresh one).
 */
async function openMigratedPGlite(directory: string, logger: Logger): Promise<PGlite> {
  if (!existsSync(join(directory, 'PG_VERSION'))) logMigration(logger, await createInChildProcess(directory));
  const migrated = await openPGlite(directory);
  let migration: MigrationResult;
  try {
    migration = await migrateEmbeddedDatabase(migrated);
  } catch (error) {
    await migrated.close();
    throw error;
  }
  logMigration(logger, migration);
  if (migration.applied.length === 0) return migrated;
  await migrated.close();
  return openPGlite(directory);
}

/**
 * The built child entry: `../dist/` from both src/ (tests run the sources; the build must exist, as it does after
 * `npm run build`) and dist/ (npm start).
 */
const createEntry = fileURLToPath(new URL('../dist/create-embedded-database.js', import.meta.url));

async function createInChildProcess(directory: string): Promise<MigrationResult> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [createEntry, directory], {
      maxBuffer: 1024 * 1024,
      // initdb runs there: a wedged child must not hold the boot forever.
      timeout: 120_000,
    });
    // The result is the last line: whatever PGlite or a migration may print before it is not ours to parse.
    return JSON.parse(stdout.trimEnd().split('\n').at(-1) ?? '') as MigrationResult;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    const detail = stderr ? `: ${stderr.split('\n').slice(-5).join('\n')}` : '';
    throw new Error(`creating the embedded database in ${directory} failed${detail}`, { cause: error });
  }
}

function logMigration(logger: Logger, result: MigrationResult): void {
  if (result.applied.length > 0 || result.seeded > 0) {
    logger.info({ applied: result.applied, seeded_ip_categories: result.seeded }, 'database migrated');
  }
}
