// vaults list | create | delete and secrets set | list | delete. A secret's value is read from stdin or a hidden
// prompt, never from the command line (argv is visible to every user of the machine and lands in shell history).
import { CliError, ExitCode, UsageError } from './cli-errors.js';
import type { CommandContext, CommandSpec } from './command.js';
import { printJson, printLines, renderTable } from './output.js';
import { confirm, promptSecret, readSecretFromStdin, stdinIsTerminal } from './prompt.js';

async function runVaultsList(context: CommandContext): Promise<number> {
  const vaults = await (await context.client()).listVaults();
  if (context.json) {
    printJson(context.io, { vaults });
    return ExitCode.OK;
  }
  if (vaults.length === 0) {
    context.io.stdout('No vaults. Create one with `gatehouse vaults create <name>`.\n');
    return ExitCode.OK;
  }
  printLines(
    context.io.stdout,
    renderTable(
      ['VAULT', 'DESCRIPTION', 'SECRETS'],
      vaults.map((vault) => [vault.name, vault.description, vault.secrets.map((secret) => secret.name).join(', ')]),
    ),
  );
  return ExitCode.OK;
}

async function runVaultsCreate(context: CommandContext): Promise<number> {
  const name = context.positional(0) ?? '';
  const vault = await (await context.client()).createVault(name, context.string('description') ?? '');
  if (context.json) printJson(context.io, vault);
  else context.io.stdout(`Created vault ${vault.name}\n`);
  return ExitCode.OK;
}

async function confirmed(context: CommandContext, command: string, question: string): Promise<void> {
  if (context.flag('yes')) return;
  if (!stdinIsTerminal(context.io))
    throw new UsageError('refusing to delete without confirmation: stdin is not a terminal; pass --yes', command);
  if (!(await confirm(context.io, question))) throw new CliError('cancelled; nothing was deleted');
}

async function runVaultsDelete(context: CommandContext): Promise<number> {
  const name = context.positional(0) ?? '';
  await confirmed(context, 'vaults delete', `Delete vault ${name} and every secret in it?`);
  await (await context.client()).deleteVault(name);
  if (context.json) printJson(context.io, { deleted: true, vault: name });
  else context.io.stdout(`Deleted vault ${name}\n`);
  return ExitCode.OK;
}

async function readValue(context: CommandContext): Promise<string> {
  if (!stdinIsTerminal(context.io)) return readSecretFromStdin(context.io, 'secret value');
  const value = await promptSecret(context.io, 'Value: ');
  context.io.stderr('\n');
  if (value === '') throw new CliError('no value entered; nothing was stored');
  return value;
}

async function runSecretsSet(context: CommandContext): Promise<number> {
  const vault = context.positional(0) ?? '';
  const name = context.positional(1) ?? '';
  const value = await readValue(context);
  const secret = await (await context.client()).putSecret(vault, name, value, context.string('description') ?? '');
  if (context.json) printJson(context.io, secret);
  else context.io.stdout(`Stored secret ${secret.vault}/${secret.name} (the value is never shown again)\n`);
  return ExitCode.OK;
}

async function runSecretsList(context: CommandContext): Promise<number> {
  const vault = context.positional(0) ?? '';
  const secrets = await (await context.client()).listSecrets(vault);
  if (context.json) {
    printJson(context.io, { secrets });
    return ExitCode.OK;
  }
  if (secrets.length === 0) {
    context.io.stdout(`Vault ${vault} has no secrets. Add one with \`gatehouse secrets set ${vault} <name>\`.\n`);
    return ExitCode.OK;
  }
  printLines(
    context.io.stdout,
    renderTable(
      ['NAME', 'DESCRIPTION', 'UPDATED', 'BY'],
      secrets.map((secret) => [secret.name, secret.description, secret.updated_at, secret.updated_by]),
    ),
  );
  return ExitCode.OK;
}

async function runSecretsDelete(context: CommandContext): Promise<number> {
  const vault = context.positional(0) ?? '';
  const name = context.positional(1) ?? '';
  await confirmed(context, 'secrets delete', `Delete secret ${vault}/${name}?`);
  await (await context.client()).deleteSecret(vault, name);
  if (context.json) printJson(context.io, { deleted: true, vault, name });
  else context.io.stdout(`Deleted secret ${vault}/${name}\n`);
  return ExitCode.OK;
}

const yes = { yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation' } } as const;
const description = {
  description: { type: 'string', value: 'TEXT', description: 'what it is for' },
} as const;
const vaultPositional = { name: 'vault', required: true, description: 'the vault name' };

export const secretsCommands: CommandSpec[] = [
  {
    name: 'vaults list',
    summary: 'list vaults and the names of their secrets (never values)',
    usage: 'gatehouse vaults list [--json]',
    options: {},
    positionals: [],
    examples: ['gatehouse vaults list'],
    run: runVaultsList,
  },
  {
    name: 'vaults create',
    summary: 'create a vault for secrets',
    usage: 'gatehouse vaults create <name> [--description TEXT]',
    options: description,
    positionals: [{ name: 'name', required: true, description: 'letters, digits, "_" and "-" (≤ 64)' }],
    examples: ['gatehouse vaults create auth --description "login passwords"'],
    run: runVaultsCreate,
  },
  {
    name: 'vaults delete',
    summary: 'delete a vault and its secrets (refused while a policy names one of them)',
    usage: 'gatehouse vaults delete <name> [--yes]',
    options: yes,
    positionals: [vaultPositional],
    examples: ['gatehouse vaults delete auth --yes'],
    run: runVaultsDelete,
  },
  {
    name: 'secrets set',
    summary: 'create or rotate a secret; the value comes from stdin or a hidden prompt, never the command line',
    usage: 'gatehouse secrets set <vault> <name> [--description TEXT] < value',
    description:
      'A rotation re-publishes every endpoint whose policy names the secret. One trailing newline on stdin is dropped.\n' +
      "Policies read it as secrets.get('<vault>', '<name>').",
    options: description,
    positionals: [vaultPositional, { name: 'name', required: true, description: 'the secret name' }],
    examples: ['gatehouse secrets set auth alice', 'printf %s "$PASSWORD" | gatehouse secrets set auth alice'],
    run: runSecretsSet,
  },
  {
    name: 'secrets list',
    summary: "list a vault's secrets (names and metadata, never values)",
    usage: 'gatehouse secrets list <vault> [--json]',
    options: {},
    positionals: [vaultPositional],
    examples: ['gatehouse secrets list auth'],
    run: runSecretsList,
  },
  {
    name: 'secrets delete',
    summary: 'delete a secret (refused while a policy names it; the error lists the endpoints)',
    usage: 'gatehouse secrets delete <vault> <name> [--yes]',
    options: yes,
    positionals: [vaultPositional, { name: 'name', required: true, description: 'the secret name' }],
    examples: ['gatehouse secrets delete auth alice --yes'],
    run: runSecretsDelete,
  },
];
