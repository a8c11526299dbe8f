// Writes policy.schema.json (the JSON Schema of a policy document, generated from the zod schema) for editors and
// tools that cannot import the package. With --check it only compares and fails when the committed file is stale.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { policyDocumentJsonSchema } from '../src/schema.js';

const target = join(import.meta.dirname, '..', 'policy.schema.json');
const generated = `${JSON.stringify(policyDocumentJsonSchema(), null, 2)}\n`;

if (process.argv.includes('--check')) {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== generated) {
    console.error(
      'packages/traffic-policy/policy.schema.json is stale: run `npm run generate -w @gatehouse/traffic-policy` and commit it.',
    );
    process.exit(1);
  }
  console.log('policy.schema.json is current');
} else {
  await writeFile(target, generated);
  console.log(`wrote ${target}`);
}
