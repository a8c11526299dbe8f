// authtokens list | create | revoke: the credentials gatehouse-agent runs its sessions with.
import { authtokenUrlPatternProblem } from '@gatehouse/contracts';
import { CliError, ExitCode, UsageError } from './cli-errors.js';
import type { CommandContext, CommandSpec } from './command.js';
import type { Authtoken } from './gatehouse-api.js';
import { printJson, printLines, renderTable } from './output.js';
import { confirm, stdinIsTerminal } from './prompt.js';

/** `--url-patterns a,b` → its patterns, checked here with the API's own rule so a typo fails before any request. */
function parsePatterns(context: CommandContext): string[] {
  const text = context.string('url-patterns');
  if (text === undefined) return [];
  const patterns = text
    .split(',')
    .map((pattern) => pattern.trim())
    .filter((pattern) => pattern !== '');
  for (const pattern of patterns) {
    const problem = authtokenUrlPatternProblem(pattern);
    if (problem !== undefined) throw new UsageError(`--url-patterns: ${problem}`, context.command.name);
  }
  return patterns;
}

const scopeOf = (token: Authtoken) => (token.url_patterns.length === 0 ? 'any URL' : token.url_patterns.join(', '));

async function runList(context: CommandContext): Promise<number> {
  const revoked = context.flag('revoked');
  const active = context.flag('active');
  if (revoked && active) throw new UsageError('give --revoked or --active, not both', 'authtokens list');
  const client = await context.client();
  const authtokens = await client.listAuthtokens(revoked ? { revoked: 'true' } : active ? { revoked: 'false' } : {});
  if (context.json) {
    printJson(context.io, { authtokens });
    return ExitCode.OK;
  }
  if (authtokens.length === 0) {
    context.io.stdout('No authtokens. Create one with `gatehouse authtokens create --description TEXT`.\n');
    return ExitCode.OK;
  }
  printLines(
    context.io.stdout,
    renderTable(
      ['ID', 'PREFIX', 'DESCRIPTION', 'MAY CLAIM', 'LAST USED', 'STATUS'],
      authtokens.map((token) => [
        token.id,
        token.prefix,
        token.description,
        scopeOf(token),
        token.last_used_at ?? 'never',
        token.revoked_at === null ? 'active' : `revoked ${token.revoked_at}`,
      ]),
    ),
  );
  return ExitCode.OK;
}

async function runCreate(context: CommandContext): Promise<number> {
  const description = context.requireString('description');
  const patterns = parsePatterns(context);
  const client = await context.client();
  const created = await client.createAuthtoken(description, patterns);
  if (context.json) {
    printJson(context.io, created);
    return ExitCode.OK;
  }
  printLines(context.io.stdout, [
    `Created authtoken ${created.id} (${created.description}; may claim ${scopeOf(created)}).`,
    '',
    `  ${created.secret}`,
    '',
    'This is the only time the secret is shown: put it in the agent config (agent.authtoken) or its environment now.',
  ]);
  return ExitCode.OK;
}

async function runRevoke(context: CommandContext): Promise<number> {
  const id = context.positional(0) ?? '';
  const yes = context.flag('yes');
  if (!yes && !stdinIsTerminal(context.io)) {
    throw new UsageError(
      'refusing to revoke without confirmation: stdin is not a terminal; pass --yes',
      'authtokens revoke',
    );
  }
  const client = await context.client();
  const token = await client.getAuthtoken(id);
  if (!yes) {
    const confirmed = await confirm(
      context.io,
      `Revoke authtoken ${token.id} (${token.description})? Agents using it are disconnected and refused from then on.`,
    );
    if (!confirmed) throw new CliError('cancelled; nothing was revoked');
  }
  await client.revokeAuthtoken(token.id);
  if (context.json) printJson(context.io, { revoked: true, id: token.id });
  else context.io.stdout(`Revoked authtoken ${token.id} (${token.description})\n`);
  return ExitCode.OK;
}

export const authtokensCommands: CommandSpec[] = [
  {
    name: 'authtokens list',
    summary: 'list agent authtokens (all pages; secrets are never shown again)',
    usage: 'gatehouse authtokens list [--active | --revoked] [--json]',
    options: {
      active: { type: 'boolean', description: 'only tokens that are not revoked' },
      revoked: { type: 'boolean', description: 'only revoked tokens' },
    },
    positionals: [],
    examples: ['gatehouse authtokens list', 'gatehouse authtokens list --active --json | jq -r ".authtokens[].id"'],
    run: runList,
  },
  {
    name: 'authtokens create',
    summary: 'create an authtoken for gatehouse-agent (the secret is printed once)',
    usage: 'gatehouse authtokens create --description TEXT [--url-patterns LIST] [--json]',
    description:
      'An authtoken runs agent sessions and can do nothing else. --url-patterns limits the endpoint hosts its agents\n' +
      'may claim: exact hosts or *.suffix, comma-separated (default: any). Needs the editor role.',
    options: {
      description: {
        type: 'string',
        value: 'TEXT',
        description: 'what it is for, e.g. "laptop MCP server" (required)',
      },
      'url-patterns': {
        type: 'string',
        value: 'LIST',
        description: 'hosts it may claim, e.g. "*.team-a.internal,mcp.example.internal"',
      },
    },
    positionals: [],
    examples: [
      'gatehouse authtokens create --description "laptop MCP server" --url-patterns "mcp.example.internal"',
      'export GATEHOUSE_AUTHTOKEN=$(gatehouse authtokens create --description ci --json | jq -r .secret)',
    ],
    run: runCreate,
  },
  {
    name: 'authtokens revoke',
    summary: 'revoke an authtoken; its agents are refused from then on',
    usage: 'gatehouse authtokens revoke <id> [--yes]',
    description: 'Asks for confirmation on a terminal; without one (scripts, CI) --yes is required.',
    options: { yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation' } },
    positionals: [{ name: 'id', required: true, description: 'the authtoken id (atk_…)' }],
    examples: ['gatehouse authtokens revoke atk_01jq8x3m6r2v9c4k7t5w0y1z3b --yes'],
    run: runRevoke,
  },
];
