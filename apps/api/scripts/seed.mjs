// Idempotent seed: the built-in IP categories of prisma/builtin-ip-categories.json. A built-in whose published ranges
// changed is updated, and the change goes through the config outbox like any other so data planes pick it up.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const builtinsPath = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../prisma/builtin-ip-categories.json',
);
// Same key as CONFIG_OUTBOX_LOCK_KEY in src/config-publisher/config-outbox.ts: outbox writers serialize on it so that
// commit order equals revision order.
const CONFIG_OUTBOX_LOCK_KEY = 4_710_202_611;

/**
 * Returns how many built-in categories were inserted or updated. Takes a connection string, or a connected pg client
 * (left open) for callers such as tests that already hold one.
 */
export async function seedBuiltinIpCategories(databaseUrlOrClient) {
  const builtins = JSON.parse(fs.readFileSync(builtinsPath, 'utf8'));
  const ownsClient = typeof databaseUrlOrClient === 'string';
  const client = ownsClient ? new pg.Client({ connectionString: databaseUrlOrClient }) : databaseUrlOrClient;
  if (ownsClient) await client.connect();
  let changed = 0;
  try {
    await client.query('BEGIN');
    // `source`, `retrieved` and `note` document where a list comes from; only name, description and cidrs are stored.
    for (const { name, description, cidrs } of builtins) {
      const category = { name, description, cidrs };
      const existing = await client.query('SELECT cidrs, description, builtin FROM ip_categories WHERE name = $1', [
        category.name,
      ]);
      const current = existing.rows[0];
      if (
        current &&
        current.builtin &&
        current.description === category.description &&
        JSON.stringify(current.cidrs) === JSON.stringify(category.cidrs)
      ) {
        continue;
      }
      await client.query(
        `INSERT INTO ip_categories (name, cidrs, description, builtin, created_at, updated_at)
         VALUES ($1, $2, $3, true, now(), now())
         ON CONFLICT (name) DO UPDATE SET cidrs = EXCLUDED.cidrs, description = EXCLUDED.description, builtin = true, updated_at = now()`,
        [category.name, category.cidrs, category.description],
      );
      await client.query('SELECT pg_advisory_xact_lock($1)', [CONFIG_OUTBOX_LOCK_KEY]);
      await client.query(
        `INSERT INTO config_changes (kind, entity_id, payload, created_at) VALUES ('ip_category.upserted', $1, $2, now())`,
        [category.name, JSON.stringify({ ip_category: { ...category, builtin: true }, endpoint: null })],
      );
      changed += 1;
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    if (ownsClient) await client.end();
  }
  return changed;
}
