import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AgentEndpointDeclarationSchema, parseEndpointUrl, type AgentEndpointDeclaration } from '@gatehouse/contracts';
import { GatehouseAgent, agentVersion, type AgentStatus } from './agent.js';
import { defaultConnectUrl, formatProblem, parseAgentConfig, upstreamOrigin, type AgentConfig } from './config.js';
import type { Log } from './upstream.js';

const usage = `gatehouse-agent ${agentVersion}: put local servers behind Gatehouse over an outbound tunnel

  gatehouse-agent start NAME… --config FILE     run the named endpoints of the config file
  gatehouse-agent start --all --config FILE     run every endpoint of the config file
  gatehouse-agent config check --config FILE    check the config file (exit 2 with file:line:col on errors)
  gatehouse-agent http PORT --url URL [--authtoken TOKEN] [--connect-url URL] [--pooling]

The authtoken comes from the config (agent.authtoken), --authtoken, or GATEHOUSE_AUTHTOKEN.
`;

/** Usage and config errors exit 2 (like ngrok's agent), so scripts can tell them from a crash. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      all: { type: 'boolean', default: false },
      url: { type: 'string' },
      authtoken: { type: 'string' },
      'connect-url': { type: 'string' },
      pooling: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      version: { type: 'boolean', default: false },
    },
  });
  if (values.version) {
    console.log(agentVersion);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    console.log(usage);
    return command === undefined && !values.help ? 2 : 0;
  }
  switch (command) {
    case 'config': {
      if (rest[0] !== 'check') throw new UsageError('the config command has one verb: `config check --config FILE`');
      const config = await loadConfig(values.config);
      console.log(
        `${values.config}: ok (${config.endpoints.length} endpoint${config.endpoints.length === 1 ? '' : 's'})`,
      );
      return 0;
    }
    case 'start': {
      const config = await loadConfig(values.config);
      if (!values.all && rest.length === 0)
        throw new UsageError('name the endpoints to start (`start mcp api`), or `start --all`');
      let endpoints = config.endpoints;
      if (!values.all) {
        const unknown = rest.filter((name) => !endpoints.some((endpoint) => endpoint.name === name));
        if (unknown.length > 0)
          throw new UsageError(
            `${values.config} has no endpoint named ${unknown.join(', ')} (it has: ${endpoints.map((endpoint) => endpoint.name).join(', ')})`,
          );
        endpoints = endpoints.filter((endpoint) => rest.includes(endpoint.name));
      }
      return run({
        authtoken: values.authtoken ?? config.authtoken ?? process.env.GATEHOUSE_AUTHTOKEN,
        connectUrl: values['connect-url'] ?? config.connectUrl,
        endpoints,
      });
    }
    case 'http': {
      const port = rest[0];
      if (port === undefined || rest.length > 1) throw new UsageError('usage: gatehouse-agent http PORT --url URL');
      if (values.url === undefined) throw new UsageError('--url is required (e.g. --url https://mcp.example.internal)');
      const upstream = upstreamOrigin(port);
      if (typeof upstream !== 'string') throw new UsageError(`PORT: ${upstream.problem}`);
      const address = parseEndpointUrl(values.url);
      if (!address.ok) throw new UsageError(`--url: ${address.problem}`);
      const endpoint: AgentEndpointDeclaration = AgentEndpointDeclarationSchema.parse({
        name: 'http',
        url: address.value.url,
        upstream,
        pooling_enabled: values.pooling,
      });
      return run({
        authtoken: values.authtoken ?? process.env.GATEHOUSE_AUTHTOKEN,
        connectUrl: values['connect-url'] ?? process.env.GATEHOUSE_CONNECT_URL ?? defaultConnectUrl,
        endpoints: [endpoint],
      });
    }
    default:
      throw new UsageError(`unknown command "${command}"\n\n${usage}`);
  }
}

async function loadConfig(file: string | undefined): Promise<AgentConfig> {
  if (file === undefined) throw new UsageError('--config FILE is required');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error)}`,
    );
  }
  const result = await parseAgentConfig(text, process.env);
  if (!result.ok) throw new UsageError(result.problems.map((problem) => formatProblem(file, problem)).join('\n'));
  return result.config;
}

async function run(settings: {
  authtoken: string | undefined;
  connectUrl: string;
  endpoints: AgentEndpointDeclaration[];
}): Promise<number> {
  if (settings.authtoken === undefined || settings.authtoken === '')
    throw new UsageError(
      'no authtoken: set agent.authtoken in the config, pass --authtoken, or set GATEHOUSE_AUTHTOKEN',
    );
  if (!URL.canParse(settings.connectUrl) || !/^https?:$/.test(new URL(settings.connectUrl).protocol))
    throw new UsageError(`connect URL "${settings.connectUrl}" must be an http:// or https:// origin`);
  const tty = process.stderr.isTTY === true && process.env.GATEHOUSE_AGENT_LOG !== 'json';
  const status = tty ? new StatusLine() : undefined;
  const log: Log = (level, message, fields = {}) => {
    if (status !== undefined)
      status.print(`${level === 'info' ? '' : `${level}: `}${message}${describeFields(fields)}`);
    else
      process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
  };
  const agent = new GatehouseAgent({
    connectUrl: new URL(settings.connectUrl).origin,
    authtoken: settings.authtoken,
    endpoints: settings.endpoints,
    log,
  });
  log('info', 'gatehouse-agent starting', {
    version: agentVersion,
    pid: process.pid,
    connect_url: settings.connectUrl,
    endpoints: settings.endpoints.map((endpoint) => `${endpoint.url} → ${endpoint.upstream}`),
  });
  agent.start();
  const ticker = status === undefined ? undefined : setInterval(() => status.update(summary(agent.status())), 1_000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  if (ticker !== undefined) clearInterval(ticker);
  status?.update('');
  log('info', 'stopping: closing tunnels after in-flight requests');
  await agent.stop();
  return 0;
}

/** "endpoints 1/2 online · data planes 1/1 connected · requests 12 (1 in flight)": the TTY status line. */
export function summary(status: AgentStatus): string {
  const online = status.endpoints.filter((endpoint) => endpoint.status === 'online').length;
  const connected = status.dataplanes.filter((dataplane) => dataplane.connected).length;
  const parts = [
    `endpoints ${online}/${status.endpoints.length} online`,
    `data planes ${connected}/${status.dataplanes.length} connected`,
    `requests ${status.requests} (${status.inFlight} in flight)`,
  ];
  if (status.lastError !== null) parts.push(`last error: ${status.lastError}`);
  return parts.join(' · ');
}

/** Log lines scroll above one status line that is rewritten in place. */
class StatusLine {
  #current = '';

  print(line: string): void {
    process.stderr.write(`\r\x1b[2K${line}\n${this.#current}`);
  }

  update(line: string): void {
    this.#current = line;
    process.stderr.write(`\r\x1b[2K${line}`);
  }
}

function describeFields(fields: Record<string, unknown>): string {
  const entries = Object.entries(fields);
  if (entries.length === 0) return '';
  return ` (${entries.map(([key, value]) => `${key}: ${Array.isArray(value) ? value.join(', ') : String(value)}`).join('; ')})`;
}

try {
  const code = await main(process.argv.slice(2));
  process.exit(code);
} catch (error) {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
  throw error;
}
