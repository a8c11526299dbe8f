import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { DatabaseAdapter, Env } from '@gatehouse/api/control-plane';
import { migrateDatabase, migrateEmbeddedDatabase, type MigrationResult } from '@gatehouse/api/migrations';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Logger } from 'pino';

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

/** The PGlite instance to serve from, its schema migrated. */
async function openMigratedPGlite(directory: string, logger: Logger): Promise<PGlite> {
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
  // Creating the cluster and migrating it grow PGlite's WebAssembly memory, which can never shrink: a first start
  // measured 670 MB of RSS at idle where a restart holds 264 MB. A fresh instance over the same files starts small;
  // the old one's memory goes with it once collected.
  await migrated.close();
  return openPGlite(directory);
}

async function openPGlite(directory: string): Promise<PGlite> {
  // Postgres' default 128 MB of shared buffers is resident in PGlite's WebAssembly memory from the start (it is the
  // largest part of the embedded shape's idle RSS); 16 MB holds the hot pages of a single-node install, and the rest
  // of the data is read through the OS page cache as with any Postgres.
  const pglite = new PGlite(directory, {
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${embeddedSharedBuffers}`],
  });
  await pglite.waitReady;
  return pglite;
}

/** See openEmbeddedDatabase. */
const embeddedSharedBuffers = '16MB';

function logMigration(logger: Logger, result: MigrationResult): void {
  if (result.applied.length > 0 || result.seeded > 0) {
    logger.info({ applied: result.applied, seeded_ip_categories: result.seeded }, 'database migrated');
  }
}
