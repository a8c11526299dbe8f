import { migrateEmbeddedDatabase } from '@gatehouse/api/migrations';
import { openPGlite } from './pglite-cluster.js';

/**
 * `node dist/create-embedded-database.js DIRECTORY`: creates the embedded shape's PGlite cluster in DIRECTORY and
 * migrates it, then prints the MigrationResult as JSON on the last line. openEmbeddedDatabase runs it as a child
 * process on a first start, so the serving process never holds what creating a cluster leaves behind (see there).
 */
const directory = process.argv[2];
if (directory === undefined) {
  process.stderr.write('usage: create-embedded-database DIRECTORY\n');
  process.exit(2);
}
const pglite = await openPGlite(directory);
let result: string;
try {
  result = JSON.stringify(await migrateEmbeddedDatabase(pglite));
} finally {
  await pglite.close();
}
// Exits once the answer is written: something the modules leave behind kept the event loop alive for ~10 s after
// the close, and the parent's boot waits for this process.
process.stdout.write(`\n${result}\n`, () => process.exit(0));
