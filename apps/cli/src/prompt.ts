// Terminal input: prompts go to stderr so that stdout stays clean for pipes and --json.
import { createInterface } from 'node:readline/promises';
import { CliError } from './cli-errors.js';
import type { Io } from './output.js';

export function stdinIsTerminal(io: Io): boolean {
  return io.stdin.isTTY === true;
}

/** All of stdin as text (for `--password-stdin`, `-f -`). */
export async function readAllStdin(io: Io): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** A secret piped on stdin: one trailing newline (what `echo` and here-strings add) is not part of it. */
export async function readSecretFromStdin(io: Io, what: string): Promise<string> {
  const secret = (await readAllStdin(io)).replace(/\r?\n$/, '');
  if (secret === '') throw new CliError(`no ${what} on stdin`);
  return secret;
}

export async function promptLine(io: Io, question: string): Promise<string> {
  const reader = createInterface({ input: io.stdin, output: process.stderr, terminal: true });
  try {
    return (await reader.question(question)).trim();
  } finally {
    reader.close();
  }
}

/** Reads a line without echoing it (raw mode, so the password never appears on screen or in scrollback). */
export async function promptSecret(io: Io, question: string): Promise<string> {
  const input = io.stdin;
  if (input.setRawMode === undefined) throw new CliError('cannot read a password: stdin is not a terminal');
  io.stderr(question);
  input.setRawMode(true);
  input.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (chunk: Buffer | string): void => {
        for (const character of chunk.toString()) {
          if (character === '\r' || character === '\n') {
            input.off('data', onData);
            resolve(value);
            return;
          }
          if (character === '\u0003') {
            input.off('data', onData);
            reject(new CliError('interrupted'));
            return;
          }
          if (character === '\u007f' || character === '\b') value = value.slice(0, -1);
          else value += character;
        }
      };
      input.on('data', onData);
    });
  } finally {
    input.setRawMode(false);
    input.pause();
    io.stderr('\n');
  }
}

export async function confirm(io: Io, question: string): Promise<boolean> {
  const answer = await promptLine(io, `${question} [y/N] `);
  return /^y(es)?$/i.test(answer);
}
