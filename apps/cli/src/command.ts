// What a command is (options, positionals, help, run), how its arguments are parsed with node:util parseArgs, and
// the context it runs with (output, config file, API client).
import { parseArgs } from 'node:util';
import { CliError, UsageError } from './cli-errors.js';
import { configFilePath, type ConfigFile, type Connection, readConfigFile, resolveConnection } from './config-store.js';
import { GatehouseApi } from './gatehouse-api.js';
import type { Io } from './output.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder in the help text, e.g. `URL`. */
  value?: string;
  description: string;
}

export interface PositionalSpec {
  name: string;
  required: boolean;
  description: string;
}

export interface CommandSpec {
  /** `endpoints list`, `apply`. */
  name: string;
  summary: string;
  usage: string;
  /** Paragraphs shown between usage and options. */
  description?: string;
  options: Record<string, OptionSpec>;
  positionals: PositionalSpec[];
  examples: string[];
  run(context: CommandContext): Promise<number>;
}

export const globalOptions: Record<string, OptionSpec> = {
  'api-url': {
    type: 'string',
    value: 'URL',
    description: 'Gatehouse API (default: $GATEHOUSE_API_URL, else the URL saved by login, else http://127.0.0.1:4000)',
  },
  json: { type: 'boolean', description: 'machine-readable JSON on stdout' },
  help: { type: 'boolean', short: 'h', description: 'show help for the command' },
};

type OptionValue = string | boolean | undefined;

export class CommandContext {
  readonly configPath: string;
  #config: Promise<ConfigFile | null> | undefined;

  constructor(
    readonly command: CommandSpec,
    readonly io: Io,
    readonly values: Readonly<Record<string, OptionValue>>,
    readonly positionals: readonly string[],
  ) {
    this.configPath = configFilePath(io.env);
  }

  get json(): boolean {
    return this.values.json === true;
  }

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  requireString(name: string): string {
    const value = this.string(name);
    if (value === undefined || value === '') throw new UsageError(`--${name} is required`, this.command.name);
    return value;
  }

  positional(index: number): string | undefined {
    return this.positionals[index];
  }

  /** The saved login, read once per command (a permissive mode is reported on stderr). */
  loadConfig(): Promise<ConfigFile | null> {
    this.#config ??= readConfigFile(this.configPath).then(({ config, warning }) => {
      if (warning !== undefined) this.io.stderr(`${warning}\n`);
      return config;
    });
    return this.#config;
  }

  async connection(): Promise<Connection> {
    return resolveConnection(this.string('api-url'), this.io.env, await this.loadConfig());
  }

  /** A client without credentials (login, health). */
  async anonymousClient(): Promise<GatehouseApi> {
    const { apiUrl } = await this.connection();
    return new GatehouseApi({ apiUrl });
  }

  /** A client with the API key; fails with a hint when there is none. */
  async client(): Promise<GatehouseApi> {
    const connection = await this.connection();
    if (connection.apiKey === null) {
      const reason = connection.missingKeyReason ?? 'no saved login';
      throw new CliError(
        `not logged in to ${connection.apiUrl} (${reason}): run gatehouse login --api-url ${connection.apiUrl}, or set GATEHOUSE_API_KEY`,
      );
    }
    return new GatehouseApi({ apiUrl: connection.apiUrl, apiKey: connection.apiKey });
  }
}

export interface ParsedCommandLine {
  values: Record<string, OptionValue>;
  positionals: string[];
}

/** Parses the arguments after the command words; unknown options and missing or extra positionals are usage errors. */
export function parseCommandArguments(command: CommandSpec, args: readonly string[]): ParsedCommandLine {
  const options = { ...globalOptions, ...command.options };
  let parsed: { values: Record<string, OptionValue>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...args],
      options: Object.fromEntries(
        Object.entries(options).map(([name, spec]) => [
          name,
          {
            type: spec.type,
            ...(spec.short === undefined ? {} : { short: spec.short }),
          },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // parseArgs explains the problem well ("Unknown option '--nope'"); keep its words, drop the hint about `--`.
    const message = error instanceof Error ? error.message.split('. To specify a positional')[0] : String(error);
    throw new UsageError(message ?? 'invalid arguments', command.name);
  }
  if (parsed.values.help === true) return parsed;
  const required = command.positionals.filter((positional) => positional.required).length;
  if (parsed.positionals.length < required) {
    const missing = command.positionals.slice(parsed.positionals.length).filter((positional) => positional.required);
    throw new UsageError(`missing ${missing.map((positional) => `<${positional.name}>`).join(' ')}`, command.name);
  }
  if (parsed.positionals.length > command.positionals.length) {
    const extra = parsed.positionals.slice(command.positionals.length);
    throw new UsageError(`unexpected argument ${extra.map((item) => JSON.stringify(item)).join(' ')}`, command.name);
  }
  return parsed;
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  const entries = Object.entries(options).map(([name, spec]) => {
    const short = spec.short === undefined ? '    ' : `-${spec.short}, `;
    const value = spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : '';
    return [`${short}--${name}${value}`, spec.description] as const;
  });
  const width = Math.max(...entries.map(([flag]) => flag.length));
  return entries.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`);
}

export function renderCommandHelp(command: CommandSpec): string {
  const lines = [`gatehouse ${command.name} — ${command.summary}`, '', `Usage: ${command.usage}`];
  if (command.description !== undefined) lines.push('', ...command.description.split('\n'));
  if (command.positionals.length > 0) {
    const width = Math.max(...command.positionals.map((positional) => positional.name.length + 2));
    lines.push('', 'Arguments:');
    for (const positional of command.positionals) {
      lines.push(`  ${`<${positional.name}>`.padEnd(width)}  ${positional.description}`);
    }
  }
  if (Object.keys(command.options).length > 0) lines.push('', 'Options:', ...optionLines(command.options));
  lines.push('', 'Global options:', ...optionLines(globalOptions));
  if (command.examples.length > 0) lines.push('', 'Examples:', ...command.examples.map((example) => `  ${example}`));
  return `${lines.join('\n')}\n`;
}
