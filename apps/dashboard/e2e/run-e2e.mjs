// `npm run test:e2e`: runs every *.test.mjs here with node's test runner (Node 20 takes a directory, not a glob).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const directory = fileURLToPath(new URL('.', import.meta.url));
// Its own process group, so a signal reaches every process of the run, the test file's included: the runner does
// not pass signals on, and the test file stops what it started (services.mjs) only when it gets one.
const runner = spawn(process.execPath, ['--test', '--test-concurrency=1', directory], {
  stdio: 'inherit',
  detached: true,
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    try {
      process.kill(-runner.pid, signal);
    } catch {
      // The group is already gone.
    }
  });
}
// A runner ended by a signal has no exit code: that is a failure.
runner.on('exit', (code) => process.exit(code ?? 1));
