// The command table and the dispatcher: finds the command words, parses the rest, runs the command, and turns every
// failure into its message and exit code. `runCli` takes its I/O as a parameter so tests can drive it in process.
import { readFileSync } from 'node:fs';
import { agentSessionsCommands } from './agent-sessions-commands.js';
import { authCommands } from './auth-commands.js';
import { authtokensCommands } from './authtokens-commands.js';
import { ExitCode, exitCodeOf, formatError, isReportedError, UsageError } from './cli-errors.js';
import {
  CommandContext,
  type CommandSpec,
  globalOptions,
  parseCommandArguments,
  renderCommandHelp,
} from './command.js';
import { declarativeCommands } from './declarative-commands.js';
import { endpointsCommands } from './endpoints-commands.js';
import { exportCommands } from './export-commands.js';
import { type Io, printLines } from './output.js';
import { policyCommands } from './policy-commands.js';
import { secretsCommands } from './secrets-commands.js';

export const commands: readonly CommandSpec[] = [
  ...authCommands,
  ...endpointsCommands,
  ...policyCommands,
  ...declarativeCommands,
  ...authtokensCommands,
  ...agentSessionsCommands,
  ...exportCommands,
  ...secretsCommands,
];

const groups: Record<string, string> = {
  'agent-sessions': 'list the gatehouse-agent sessions and the endpoints they serve',
  authtokens: 'list, create and revoke the authtokens gatehouse-agent runs with',
  endpoints: 'list, show, create and delete endpoints',
  policy: 'read, save, list, restore and validate Traffic Policies',
  secrets: 'set (from stdin or a prompt), list and delete secrets in vaults',
  vaults: 'list, create and delete vaults of secrets',
};

/** Global options that take a value: the word after them is not a command word. */
const valueOptions = new Set(
  Object.entries(globalOptions)
    .filter(([, spec]) => spec.type === 'string')
    .map(([name]) => `--${name}`),
);

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return manifest.version ?? 'unknown';
}

function renderMainHelp(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  const lines = [
    'gatehouse — the command line of Gatehouse, the self-hosted traffic-policy gateway',
    '',
    'Usage: gatehouse <command> [arguments] [options]',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Global options (every command):',
    '  --api-url URL  the API (default: $GATEHOUSE_API_URL, else the URL saved by login, else http://127.0.0.1:4000)',
    '  --json         machine-readable JSON on stdout',
    '  -h, --help     help for a command, with examples',
    '',
    'Environment: GATEHOUSE_API_URL, GATEHOUSE_API_KEY (overrides the saved login), GATEHOUSE_CONFIG, XDG_CONFIG_HOME',
    'Exit codes: 0 success · 1 error · 2 usage error, or `diff` with changes pending',
    '',
    'Examples:',
    '  gatehouse login',
    '  gatehouse endpoints list',
    '  gatehouse policy validate -f policy.yaml',
    '  gatehouse diff -f gatehouse.yaml && echo "in sync"',
    '',
    'Run `gatehouse <command> --help` for its options and examples.',
  ];
  return `${lines.join('\n')}\n`;
}

function renderGroupHelp(group: string): string {
  const members = commands.filter((command) => command.name.startsWith(`${group} `));
  const width = Math.max(...members.map((command) => command.name.length));
  return [
    `gatehouse ${group} — ${groups[group] ?? ''}`,
    '',
    `Usage: gatehouse ${group} <command> [arguments] [options]`,
    '',
    'Commands:',
    ...members.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    `Run \`gatehouse ${group} <command> --help\` for its options and examples.`,
    '',
  ].join('\n');
}

/** Splits argv into the command words (`endpoints`, `list`) and everything else, wherever global options sit. */
export function splitCommandWords(argv: readonly string[]): { words: string[]; rest: string[] } {
  const words: string[] = [];
  const wordIndexes = new Set<number>();
  for (let index = 0; index < argv.length; index++) {
    const token = argv[index] ?? '';
    if (token === '--') break;
    if (token.startsWith('-')) {
      if (valueOptions.has(token)) index++;
      continue;
    }
    words.push(token);
    wordIndexes.add(index);
    const first = words[0] ?? '';
    const wanted = first in groups || first === 'help' ? 2 : 1;
    if (words.length >= wanted) break;
  }
  return { words, rest: argv.filter((_, index) => !wordIndexes.has(index)) };
}

function wantsHelp(args: readonly string[]): boolean {
  return args.some((arg) => arg === '--help' || arg === '-h');
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const { words, rest } = splitCommandWords(argv);
  const [first, second] = words;
  if (first === undefined) {
    if (rest.includes('--version')) {
      io.stdout(`${version()}\n`);
      return ExitCode.OK;
    }
    if (wantsHelp(rest)) {
      io.stdout(renderMainHelp());
      return ExitCode.OK;
    }
    io.stderr(renderMainHelp());
    return ExitCode.USAGE;
  }
  if (first === 'help') {
    if (second === undefined) io.stdout(renderMainHelp());
    else if (second in groups) io.stdout(renderGroupHelp(second));
    else {
      const command = commands.find((candidate) => candidate.name === second);
      if (command === undefined) throw new UsageError(`unknown command "${second}"`);
      io.stdout(renderCommandHelp(command));
    }
    return ExitCode.OK;
  }
  if (first === 'version') {
    io.stdout(`${version()}\n`);
    return ExitCode.OK;
  }
  if (first in groups) {
    if (second === undefined) {
      if (wantsHelp(rest)) {
        io.stdout(renderGroupHelp(first));
        return ExitCode.OK;
      }
      io.stderr(renderGroupHelp(first));
      return ExitCode.USAGE;
    }
  }
  const name = first in groups ? `${first} ${second ?? ''}` : first;
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    throw new UsageError(
      first in groups
        ? `unknown command "${name}"; see gatehouse ${first} --help`
        : `unknown command "${first}"; see gatehouse --help`,
    );
  }
  const parsed = parseCommandArguments(command, rest);
  if (parsed.values.help === true) {
    io.stdout(renderCommandHelp(command));
    return ExitCode.OK;
  }
  return command.run(new CommandContext(command, io, parsed.values, parsed.positionals));
}

export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (isReportedError(error)) {
      printLines(io.stderr, formatError(error));
      return exitCodeOf(error);
    }
    // A bug, not a user error: say so, with the stack for the report.
    io.stderr(
      `error: unexpected failure (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return ExitCode.ERROR;
  }
}
