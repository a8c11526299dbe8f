import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const cliDirectory = fileURLToPath(new URL('..', import.meta.url));

/**
 * The integration tests run `dist/main.js` as a child process, so it is rebuilt here from the current sources: a stale
 * build would test yesterday's CLI. (turbo's `test` task only builds the dependencies.)
 */
export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: cliDirectory, stdio: 'inherit' });
  if (!existsSync(new URL('../dist/main.js', import.meta.url))) throw new Error('the CLI build wrote no dist/main.js');
}
