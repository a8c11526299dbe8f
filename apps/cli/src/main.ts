#!/usr/bin/env node
// The `gatehouse` binary: binds the dispatcher to this process and exits with its code.
import { runCli } from './cli.js';

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
// exitCode rather than exit(): pending stdout writes to a pipe are flushed before the process ends.
process.exitCode = code;
