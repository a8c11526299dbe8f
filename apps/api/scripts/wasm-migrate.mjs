// Offline replacement for `prisma migrate dev` / `prisma migrate deploy`: drives the WebAssembly schema engine
// (@prisma/schema-engine-wasm, pinned exactly because Prisma marks it internal) through a Prisma driver adapter.
// The files it writes are the standard prisma/migrations/<timestamp>_<name>/migration.sql layout and it records runs
// in `_prisma_migrations`, so `prisma migrate deploy` applies the same files wherever the native engine exists.
//
// usage (DATABASE_URL in the environment, run from any directory):
//   node scripts/wasm-migrate.mjs deploy         apply committed migrations (what `npm run db:migrate` does, plus seed)
//   node scripts/wasm-migrate.mjs dev <name>     apply pending migrations, then create + apply one for schema changes
//   node scripts/wasm-migrate.mjs diff           print the SQL from the committed migrations to the schema (empty = current)
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
/* global WebAssembly */
import { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum } from '@prisma/driver-adapter-utils';

const require = createRequire(import.meta.url);
const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const schemaPath = path.join(repositoryRoot, 'prisma/schema.prisma');
export const migrationsDir = path.join(repositoryRoot, 'prisma/migrations');

let loadedBindings = null;

/** Instantiates the engine once per process: a second instance would swap the memory under live engine objects. */
export async function loadSchemaEngineWasm() {
  if (loadedBindings) return loadedBindings;
  // The panic hook the wasm module calls into.
  globalThis.PRISMA_WASM_PANIC_REGISTRY ??= {
    message: '',
    get() {
      return this.message;
    },
    set_message(message) {
      this.message = `RuntimeError: ${message}`;
    },
  };
  const bindings = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  const wasmPath = path.join(
    path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')),
    'schema_engine_bg.wasm',
  );
  const module = new WebAssembly.Module(fs.readFileSync(wasmPath));
  const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': bindings });
  bindings.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start?.();
  loadedBindings = bindings;
  return bindings;
}

export function readMigrations(baseDir) {
  fs.mkdirSync(baseDir, { recursive: true });
  const lockPath = path.join(baseDir, 'migration_lock.toml');
  const directories = fs
    .readdirSync(baseDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return {
    baseDir,
    lockfile: {
      path: 'migration_lock.toml',
      content: fs.existsSync(lockPath) ? fs.readFileSync(lockPath, 'utf8') : null,
    },
    shadowDbInitScript: '',
    migrationDirectories: directories.map((name) => {
      const file = path.join(baseDir, name, 'migration.sql');
      return {
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: fs.existsSync(file)
            ? { tag: 'ok', value: fs.readFileSync(file, 'utf8') }
            : { tag: 'error', value: 'missing migration.sql' },
        },
      };
    }),
  };
}

// Three workarounds are needed to drive the schema engine through @prisma/adapter-pg 7.10.1:
// 1) adapter-pg throws UnsupportedNativeDataType for the internal Postgres type "char" (OID 18), which the engine's
//    catalog queries return (pg_constraint.contype, pg_class.relkind, ...), and the engine then insists on reading it as
//    a Character column. So: report OID 18 as text to adapter-pg, remember which result columns were "char" (keyed by
//    SQL text: same SQL, same columns), and turn those columns back into ColumnTypeEnum.Character in queryRaw's result.
const charColumnsBySql = new Map();
function reportCharAsText(result, sql) {
  for (const each of Array.isArray(result) ? result : [result]) {
    const indexes = [];
    (each?.fields ?? []).forEach((field, index) => {
      if (field.dataTypeID === 18) {
        field.dataTypeID = 25;
        indexes.push(index);
      }
    });
    if (indexes.length > 0 && sql) charColumnsBySql.set(sql, indexes);
  }
  return result;
}
export class CharAsTextClient extends pg.Client {
  query(...args) {
    const sql = typeof args[0] === 'string' ? args[0] : args[0]?.text;
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (error, result) => callback(error, error ? result : reportCharAsText(result, sql));
    }
    const returned = super.query(...args);
    return returned && typeof returned.then === 'function'
      ? returned.then((result) => reportCharAsText(result, sql))
      : returned;
  }
}
function restoreCharColumns(queryable) {
  const queryRaw = queryable.queryRaw.bind(queryable);
  queryable.queryRaw = async (query) => {
    const out = await queryRaw(query);
    for (const index of charColumnsBySql.get(query.sql) ?? []) out.columnTypes[index] = ColumnTypeEnum.Character;
    return out;
  };
  if (queryable.executeScript && queryable.client) {
    // 3) adapter-pg's executeScript() splits the migration on ';', which breaks dollar-quoted function bodies and
    //    string literals. Send the whole script as one simple-protocol query instead.
    queryable.executeScript = async (script) => {
      try {
        await queryable.client.query(script);
      } catch (error) {
        queryable.onError(error);
      }
    };
  }
  if (queryable.startTransaction) {
    const startTransaction = queryable.startTransaction.bind(queryable);
    queryable.startTransaction = async (...args) => restoreCharColumns(await startTransaction(...args));
  }
  return queryable;
}
// 2) PrismaPg.connectToShadowDb() does `new Pool({ ...config, database: shadow })`; with a `connectionString` in config
//    node-postgres ignores `database`, so the "shadow" database is the main one. And its dispose() runs DROP DATABASE
//    before closing the shadow pool ("being accessed by other users").
export class PgMigrationAdapterFactory extends PrismaPg {
  async connect() {
    return restoreCharColumns(await super.connect());
  }
  async connectToShadowDb() {
    const main = await this.connect();
    const database = `prisma_migrate_shadow_db_${globalThis.crypto.randomUUID()}`;
    await main.executeScript(`CREATE DATABASE "${database}"`);
    const shadow = await new PgMigrationAdapterFactory({ ...this.config, database }).connect();
    const disposeShadow = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await disposeShadow();
      await main.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await main.dispose();
    };
    return shadow;
  }
}
export function pgMigrationAdapter(connectionString) {
  const url = new URL(connectionString);
  return new PgMigrationAdapterFactory({
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.slice(1),
    Client: CharAsTextClient,
  });
}

export async function openEngine({ adapterFactory }) {
  const bindings = await loadSchemaEngineWasm();
  const schema = fs.readFileSync(schemaPath, 'utf8');
  const debug = process.env.DEBUG_SE ? (message) => console.error('[schema-engine]', message) : () => {};
  const engine = await bindings.SchemaEngine.new(
    { datamodels: [[schemaPath, schema]] },
    debug,
    bindMigrationAwareSqlAdapterFactory(adapterFactory),
  );
  return { engine, schema };
}

const filters = { externalTables: [], externalEnums: [] };

export async function deploy({ engine }) {
  const result = await engine.applyMigrations({ migrationsList: readMigrations(migrationsDir), filters });
  return result.appliedMigrationNames;
}

export async function dev({ engine, schema, name }) {
  const migrationsList = readMigrations(migrationsDir);
  const diagnostic = await engine.devDiagnostic({ migrationsList, filters });
  if (diagnostic.action.tag === 'reset') throw new Error(`migrate dev needs a reset: ${diagnostic.action.reason}`);
  const applied = (await engine.applyMigrations({ migrationsList, filters })).appliedMigrationNames;
  const out = await engine.createMigration({
    draft: false,
    migrationName: name,
    migrationsList,
    schema: { files: [{ path: schemaPath, content: schema }] },
    filters,
  });
  if (!out.migrationScript) return { applied, created: null };
  const directory = path.join(migrationsDir, out.generatedMigrationName);
  fs.mkdirSync(directory, { recursive: true });
  fs.writeFileSync(path.join(directory, `migration.${out.extension}`), out.migrationScript);
  const lockPath = path.join(migrationsDir, 'migration_lock.toml');
  if (!fs.existsSync(lockPath)) {
    fs.writeFileSync(
      lockPath,
      `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${out.connectorType}"\n`,
    );
  }
  const appliedAfter = (await engine.applyMigrations({ migrationsList: readMigrations(migrationsDir), filters }))
    .appliedMigrationNames;
  return { applied: [...applied, ...appliedAfter], created: out.generatedMigrationName };
}

/** SQL that would bring the committed migrations up to the schema; empty when the migrations are current. */
export async function diff({ engine, schema }) {
  const result = await engine.diff({
    from: { tag: 'migrations', ...readMigrations(migrationsDir) },
    to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] },
    script: true,
    exitCode: null,
    filters,
  });
  return result.stdout ?? '';
}

export async function runMigrationCommand(command, { databaseUrl, name }) {
  const { engine, schema } = await openEngine({ adapterFactory: pgMigrationAdapter(databaseUrl) });
  try {
    if (command === 'deploy') return await deploy({ engine });
    if (command === 'dev') return await dev({ engine, schema, name });
    if (command === 'diff') return await diff({ engine, schema });
    throw new Error(`unknown command ${command} (expected deploy, dev <name> or diff)`);
  } finally {
    engine.free();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command = 'deploy', name = 'migration'] = process.argv.slice(2);
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error('DATABASE_URL is required');
    process.exit(2);
  }
  const result = await runMigrationCommand(command, { databaseUrl, name });
  console.log(typeof result === 'string' ? result : JSON.stringify(result));
  process.exit(0);
}
