import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from './test-env';

const API_ROOT = path.join(__dirname, '..');
const MIGRATIONS = path.join(API_ROOT, '..', '..', 'prisma', 'migrations');

/** Runs a migration script the way `npm run db:migrate` does: in its own Node process (the wasm engine is per process). */
function runScript(script: string, args: string[], databaseUrl: string): string {
  return execFileSync(process.execPath, [path.join(API_ROOT, 'scripts', script), ...args], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    encoding: 'utf8',
    stdio: 'pipe',
  });
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

describe('migrations (offline wasm schema engine)', () => {
  it('create and migrate an empty database, seed the built-in IP categories, and are idempotent', async () => {
    const database = `gatehouse_migration_test_${process.pid}_${Date.now()}`;
    const url = withDatabase(TEST_DATABASE_URL, database);
    const admin = new pg.Client({ connectionString: withDatabase(TEST_DATABASE_URL, 'postgres') });
    await admin.connect();
    try {
      const first = runScript('db-migrate.mjs', [], url);
      // Every committed migration, oldest first, and nothing else.
      const committed = readdirSync(MIGRATIONS, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort();
      expect(committed[0]).toMatch(/^\d{14}_init$/);
      expect(first).toContain(
        `db:migrate: created database, applied ${committed.length} migration(s) (${committed.join(', ')}), seeded 4 built-in IP categories`,
      );

      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const tables = await client.query<{ table_name: string }>(
          "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
        );
        expect(tables.rows.map((row) => row.table_name)).toEqual([
          '_prisma_migrations',
          'agent_endpoint_members',
          'agent_session_dataplanes',
          'agent_sessions',
          'api_keys',
          'audit_events',
          'authtokens',
          'config_changes',
          'dataplanes',
          'endpoints',
          'ip_categories',
          'policy_rule_counters',
          'policy_versions',
          'request_logs',
          'request_replay_facts',
          'secrets',
          'sessions',
          'traffic_rollup_keys',
          'traffic_rollups',
          'users',
          'vaults',
        ]);
        const anthropic = await client.query('SELECT cidrs, builtin FROM ip_categories WHERE name = $1', [
          'com.anthropic.api',
        ]);
        expect(anthropic.rows).toEqual([{ cidrs: ['160.79.104.0/21', '2607:6bc0::/48'], builtin: true }]);
        const applied = await client.query(
          'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL',
        );
        expect(applied.rowCount).toBe(committed.length);
        const capture = await client.query(
          "SELECT column_name, column_default FROM information_schema.columns WHERE table_name = 'endpoints' AND column_name LIKE 'request_log_capture_%' ORDER BY column_name",
        );
        expect(capture.rows).toEqual([
          { column_name: 'request_log_capture_bodies', column_default: 'false' },
          { column_name: 'request_log_capture_headers', column_default: 'false' },
        ]);
      } finally {
        await client.end();
      }

      const second = runScript('db-migrate.mjs', [], url);
      expect(second.trim()).toBe('db:migrate: applied 0 migration(s), seeded 0 built-in IP categories');
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await admin.end();
    }
  });

  it('are current: the committed migrations produce exactly prisma/schema.prisma', () => {
    const sql = runScript('wasm-migrate.mjs', ['diff'], TEST_DATABASE_URL);
    expect(sql.trim(), 'run `npm run db:migration:create -w @gatehouse/api -- <name>`').toMatch(
      /^(-- This is an empty migration\.)?$/,
    );
  });
});
