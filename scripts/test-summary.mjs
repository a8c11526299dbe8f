// Adds up the JSON reports every workspace's vitest run writes to output/test-results/ and prints one closing line,
// so CI logs end with the totals of the whole suite. Exits non-zero when nothing ran or anything failed.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const directory = join(import.meta.dirname, '..', 'output', 'test-results');
const reports = existsSync(directory) ? readdirSync(directory).filter((file) => file.endsWith('.json')) : [];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of reports) {
  const report = JSON.parse(readFileSync(join(directory, file), 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  console.log(`${file.replace(/\.json$/, '')}: ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
}
console.log(`Tests: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
if (passed === 0 || failed > 0) process.exit(1);
