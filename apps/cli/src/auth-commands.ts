// login, logout, whoami. The CLI never stores a session: a password login mints an API key and ends the session.
import { hostname } from 'node:os';
import { ApiError } from '@gatehouse/api-client';
import { CliError, ExitCode, UsageError } from './cli-errors.js';
import type { CommandContext, CommandSpec } from './command.js';
import { deleteConfigFile, writeConfigFile } from './config-store.js';
import { GatehouseApi, type Role, roles } from './gatehouse-api.js';
import { maskApiKey, printJson } from './output.js';
import { promptLine, promptSecret, readSecretFromStdin, stdinIsTerminal } from './prompt.js';

async function readPassword(context: CommandContext): Promise<string> {
  if (context.flag('password-stdin')) return readSecretFromStdin(context.io, 'password');
  const flagPassword = context.string('password');
  if (flagPassword !== undefined) {
    context.io.stderr('warning: --password is visible to other users of this machine; prefer --password-stdin\n');
    return flagPassword;
  }
  if (!stdinIsTerminal(context.io)) {
    throw new UsageError('no password: pass --password-stdin (stdin is not a terminal to prompt on)', 'login');
  }
  return promptSecret(context.io, 'Password: ');
}

async function readEmail(context: CommandContext): Promise<string> {
  const email = context.string('email');
  if (email !== undefined) return email;
  if (!stdinIsTerminal(context.io) || context.flag('password-stdin')) {
    throw new UsageError('--email is required when stdin is not a terminal (or carries the password)', 'login');
  }
  return promptLine(context.io, 'Email: ');
}

function parseRole(text: string | undefined): Role | undefined {
  if (text === undefined) return undefined;
  const role = roles.find((candidate) => candidate === text);
  if (role === undefined) throw new UsageError(`--role must be admin, editor or viewer, not "${text}"`, 'login');
  return role;
}

/** Exchanges email and password for an API key, ending the session whatever happens. */
async function mintApiKey(
  context: CommandContext,
  anonymous: GatehouseApi,
  email: string,
  password: string,
  requestedRole: Role | undefined,
): Promise<{ secret: string; id: string; role: Role; identity: string }> {
  const session = await anonymous.login(email, password);
  const sessionClient = anonymous.withSessionCookie(session.cookie);
  try {
    const role = requestedRole ?? session.role;
    const key = await sessionClient.createApiKey(`gatehouse CLI on ${hostname()}`.slice(0, 255), role);
    return { secret: key.secret, id: key.id, role: key.role, identity: session.email };
  } catch (error) {
    if (error instanceof ApiError && error.code === 'FORBIDDEN') {
      throw new CliError(
        `${session.email} is ${session.role}: only admins can create API keys, so the CLI cannot mint one for you. ` +
          'Ask an admin for a key and run: gatehouse login --api-key-stdin',
      );
    }
    throw error;
  } finally {
    await sessionClient.logoutSession().catch((error: unknown) => {
      context.io.stderr(`warning: could not end the login session: ${(error as Error).message}\n`);
    });
  }
}

async function runLogin(context: CommandContext): Promise<number> {
  const flagKey = context.string('api-key');
  const keyFromStdin = context.flag('api-key-stdin');
  const withPassword =
    context.string('email') !== undefined || context.string('password') !== undefined || context.flag('password-stdin');
  if ((flagKey !== undefined || keyFromStdin) && withPassword) {
    throw new UsageError('use either an API key or email/password, not both', 'login');
  }
  if (flagKey !== undefined && keyFromStdin)
    throw new UsageError('use --api-key or --api-key-stdin, not both', 'login');
  const requestedRole = parseRole(context.string('role'));
  const previous = await context.loadConfig();
  const anonymous = await context.anonymousClient();

  let saved: { secret: string; id?: string; role: Role; identity: string };
  if (flagKey !== undefined || keyFromStdin) {
    if (requestedRole !== undefined) throw new UsageError('--role only applies to email/password logins', 'login');
    const secret = flagKey ?? (await readSecretFromStdin(context.io, 'API key'));
    // Checked before it is saved, so a typo fails here and not in the next command.
    const me = await anonymous.withApiKey(secret).me();
    saved = { secret, role: me.role, identity: me.user?.email ?? me.name };
  } else {
    const email = await readEmail(context);
    const password = await readPassword(context);
    saved = await mintApiKey(context, anonymous, email, password, requestedRole);
  }

  await writeConfigFile(context.configPath, {
    version: 1,
    api_url: anonymous.apiUrl,
    api_key: saved.secret,
    ...(saved.id === undefined ? {} : { api_key_id: saved.id }),
    identity: saved.identity,
  });

  // The new login is saved first; only then is the key the previous password login minted revoked, so a failure here
  // can orphan the old key (reported) but never lose the new one.
  let revokedPrevious: string | undefined;
  if (
    previous?.api_key_id !== undefined &&
    previous.api_url === anonymous.apiUrl &&
    previous.api_key !== saved.secret
  ) {
    try {
      await anonymous.withApiKey(saved.secret).deleteApiKey(previous.api_key_id);
      revokedPrevious = maskApiKey(previous.api_key);
    } catch (error) {
      const alreadyGone = error instanceof ApiError && error.status === 404;
      if (!alreadyGone) {
        context.io.stderr(
          `warning: the previous CLI key ${maskApiKey(previous.api_key)} could not be revoked ` +
            `(${(error as Error).message}); an admin can revoke it in the dashboard\n`,
        );
      }
    }
  }

  if (context.json) {
    printJson(context.io, {
      api_url: anonymous.apiUrl,
      identity: saved.identity,
      role: saved.role,
      api_key: maskApiKey(saved.secret),
      api_key_id: saved.id ?? null,
      config_path: context.configPath,
    });
  } else {
    context.io.stdout(
      `Logged in to ${anonymous.apiUrl} as ${saved.identity} (${saved.role}); API key ${maskApiKey(saved.secret)} ` +
        `saved to ${context.configPath}\n`,
    );
    if (revokedPrevious !== undefined) context.io.stdout(`Revoked the previous CLI key ${revokedPrevious}\n`);
  }
  if (context.io.env.GATEHOUSE_API_KEY !== undefined && context.io.env.GATEHOUSE_API_KEY !== '') {
    context.io.stderr('note: GATEHOUSE_API_KEY is set and takes precedence over the saved login\n');
  }
  return ExitCode.OK;
}

async function runLogout(context: CommandContext): Promise<number> {
  const config = await context.loadConfig();
  const envKeyNote =
    context.io.env.GATEHOUSE_API_KEY !== undefined && context.io.env.GATEHOUSE_API_KEY !== ''
      ? 'note: GATEHOUSE_API_KEY is still set in this environment\n'
      : '';
  if (config === null) {
    context.io.stdout(`Not logged in (no ${context.configPath})\n`);
    context.io.stderr(envKeyNote);
    return ExitCode.OK;
  }
  let revocation: 'revoked' | 'not-minted' | 'already-gone' | 'failed' = 'not-minted';
  if (config.api_key_id !== undefined) {
    const client = new GatehouseApi({ apiUrl: config.api_url, apiKey: config.api_key });
    try {
      await client.deleteApiKey(config.api_key_id);
      revocation = 'revoked';
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 404)) {
        revocation = 'already-gone';
      } else if (error instanceof ApiError) {
        revocation = 'failed';
        context.io.stderr(
          `warning: the API key ${maskApiKey(config.api_key)} could not be revoked (${error.message}); ` +
            'it stays valid until an admin revokes it (dashboard → API keys)\n',
        );
      } else {
        throw error;
      }
    }
  }
  await deleteConfigFile(context.configPath);
  if (context.json) {
    printJson(context.io, { logged_out: true, api_url: config.api_url, api_key_revoked: revocation === 'revoked' });
  } else {
    const detail =
      revocation === 'revoked'
        ? `; revoked API key ${maskApiKey(config.api_key)}`
        : revocation === 'not-minted'
          ? `; the API key ${maskApiKey(config.api_key)} was given to login, so it was not revoked`
          : '';
    context.io.stdout(`Logged out of ${config.api_url}${detail}\n`);
  }
  context.io.stderr(envKeyNote);
  return ExitCode.OK;
}

async function runWhoami(context: CommandContext): Promise<number> {
  const connection = await context.connection();
  const client = await context.client();
  const me = await client.me();
  const keySource = connection.keySource === 'config file' ? context.configPath : connection.keySource;
  if (context.json) {
    printJson(context.io, {
      api_url: client.apiUrl,
      type: me.type,
      id: me.id,
      name: me.name,
      role: me.role,
      email: me.user?.email ?? null,
      key_source: keySource,
    });
    return ExitCode.OK;
  }
  const config = await context.loadConfig();
  const owner =
    connection.keySource === 'config file' && config?.identity !== undefined ? ` for ${config.identity}` : '';
  const who = me.type === 'api_key' ? `API key ${me.name}${owner}` : (me.user?.email ?? me.name);
  context.io.stdout(`${who} (${me.role}) at ${client.apiUrl}\nkey from ${keySource ?? 'nowhere'}\n`);
  return ExitCode.OK;
}

export const authCommands: CommandSpec[] = [
  {
    name: 'login',
    summary: 'save credentials for the API (an API key; a password login mints one)',
    usage: 'gatehouse login [--api-url URL] (--api-key-stdin | --api-key KEY | --email EMAIL [--password-stdin])',
    description:
      'With an API key, checks it (GET /api/auth/me) and saves it. With email and password, logs in, creates an API\n' +
      'key for the CLI (admins only: the API lets only admins create keys) with your role or --role, and ends the\n' +
      'session, so no session is stored. Email and password are prompted for when stdin is a terminal.\n' +
      'Credentials go to $GATEHOUSE_CONFIG or $XDG_CONFIG_HOME/gatehouse/config.json (mode 0600).\n' +
      'GATEHOUSE_API_KEY, when set, overrides the saved key for every command.',
    options: {
      'api-key': {
        type: 'string',
        value: 'KEY',
        description: 'an existing API key (visible in `ps`; prefer --api-key-stdin)',
      },
      'api-key-stdin': { type: 'boolean', description: 'read the API key from stdin' },
      email: { type: 'string', value: 'EMAIL', description: 'log in with this user' },
      password: {
        type: 'string',
        value: 'PASSWORD',
        description: 'the password (visible in `ps`; prefer --password-stdin)',
      },
      'password-stdin': { type: 'boolean', description: 'read the password from stdin (for scripts)' },
      role: {
        type: 'string',
        value: 'ROLE',
        description: 'role of the minted key: admin, editor or viewer (default: yours)',
      },
    },
    positionals: [],
    examples: [
      'gatehouse login                                   # prompts for email and password',
      'gatehouse login --api-url https://gatehouse.example.com --email admin@example.com',
      'printf %s "$PASSWORD" | gatehouse login --email admin@example.com --password-stdin --role editor',
      'printf %s "$GATEHOUSE_KEY" | gatehouse login --api-key-stdin',
    ],
    run: runLogin,
  },
  {
    name: 'logout',
    summary: 'forget the saved credentials (revoking the key when login minted it)',
    usage: 'gatehouse logout',
    description:
      'Revokes the API key that `login` created from a password login (when that key may revoke itself: admin role),\n' +
      'then deletes the config file. A key given with --api-key is not revoked; GATEHOUSE_API_KEY is not touched.',
    options: {},
    positionals: [],
    examples: ['gatehouse logout'],
    run: runLogout,
  },
  {
    name: 'whoami',
    summary: 'show who the API sees (user or API key, role) and where the key comes from',
    usage: 'gatehouse whoami',
    options: {},
    positionals: [],
    examples: ['gatehouse whoami', 'GATEHOUSE_API_KEY=gh_… gatehouse whoami --json'],
    run: runWhoami,
  },
];
