// `npm run db:migrate`: create the database named by DATABASE_URL if missing, apply the committed migrations
// (offline wasm schema engine), then seed the built-in IP categories idempotently. Safe to run any number of times.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { deploy, openEngine, runMigrationCommand } from './wasm-migrate.mjs';
import { seedBuiltinIpCategories } from './seed.mjs';

export async function createDatabaseIfMissing(databaseUrl) {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
    return found.rowCount === 0;
  } finally {
    await client.end();
  }
}

export async function migrateDatabase(databaseUrl) {
  const created = await createDatabaseIfMissing(databaseUrl);
  const applied = await runMigrationCommand('deploy', { databaseUrl });
  const seeded = await seedBuiltinIpCategories(databaseUrl);
  return { created, applied, seeded };
}

/**
 * pglite-prisma-adapter 0.7.2 runs migration scripts without awaiting them, so a failing migration would be recorded
 * as applied; this factory awaits them and reports the error to the engine.
 */
class PGliteMigrationAdapterFactory extends PrismaPGlite {
  async connect() {
    const adapter = await super.connect();
    adapter.executeScript = async (script) => {
      try {
        await adapter.client.exec(script);
      } catch (error) {
        adapter.onError(error);
      }
    };
    return adapter;
  }
}

/**
 * The embedded shape's `db:migrate`, run at every boot: applies the committed migrations to an open PGlite database
 * and seeds the built-in IP categories (PGlite's query() answers like a pg client's, which the seed relies on).
 */
export async function migrateEmbeddedDatabase(pglite) {
  const { engine } = await openEngine({ adapterFactory: new PGliteMigrationAdapterFactory(pglite) });
  let applied;
  try {
    applied = await deploy({ engine });
  } finally {
    engine.free();
  }
  const seeded = await seedBuiltinIpCategories(pglite);
  return { created: false, applied, seeded };
}

const invokedDirectly =
  process.argv[1] && path.resolve(process.argv[1]) === fs.realpathSync(new URL(import.meta.url).pathname);
if (invokedDirectly) {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error('db:migrate: DATABASE_URL is required (e.g. postgresql://postgres@127.0.0.1:5432/gatehouse)');
    process.exit(2);
  }
  const result = await migrateDatabase(databaseUrl);
  console.log(
    `db:migrate: ${result.created ? 'created database, ' : ''}applied ${result.applied.length} migration(s)` +
      `${result.applied.length ? ` (${result.applied.join(', ')})` : ''}, seeded ${result.seeded} built-in IP categor${result.seeded === 1 ? 'y' : 'ies'}`,
  );
  process.exit(0);
}
