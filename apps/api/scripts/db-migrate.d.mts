// Types of db-migrate.mjs, exported as `@gatehouse/api/migrations` (the embedded shape's root migrates at boot).
/** The part of a PGlite instance the migration uses (structural: the CommonJS and ESM builds are distinct types). */
export interface PGliteLike {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
  exec(sql: string): Promise<unknown>;
}

export interface MigrationResult {
  /** Whether the database itself had to be created. */
  created: boolean;
  /** Names of the migrations applied by this run (empty when the database was current). */
  applied: string[];
  /** Built-in IP categories inserted or updated. */
  seeded: number;
}

export function createDatabaseIfMissing(databaseUrl: string): Promise<boolean>;
export function migrateDatabase(databaseUrl: string): Promise<MigrationResult>;
export function migrateEmbeddedDatabase(pglite: PGliteLike): Promise<MigrationResult>;
