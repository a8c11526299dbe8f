// Starts what the browser walkthrough needs: a fresh Postgres database migrated by the API's own script, the real
// control plane (apps/api/dist) on a free port, and the built dashboard served by `vite preview`, which proxies /api
// to that control plane (same origin, as in production). Anything missing is an error, never a skip.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dashboardDirectory = fileURLToPath(new URL('..', import.meta.url));
const repositoryRoot = join(dashboardDirectory, '..', '..');
const apiDirectory = join(repositoryRoot, 'apps', 'api');

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const screenshotDirectory = join(repositoryRoot, 'output', 'screenshots');
/** The Postgres server (no database): E2E_POSTGRES_URL, else DATABASE_URL's server (CI sets it), else the local one. */
function postgresServerUrlOf(environment) {
  if (environment.E2E_POSTGRES_URL) return environment.E2E_POSTGRES_URL.replace(/\/$/, '');
  if (environment.DATABASE_URL) {
    const url = new URL(environment.DATABASE_URL);
    url.pathname = '';
    url.search = '';
    return url.toString().replace(/\/$/, '');
  }
  return 'postgresql://postgres@127.0.0.1:5432';
}
const postgresServerUrl = postgresServerUrlOf(process.env);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const databaseName = 'gatehouse_dashboard_e2e';

function requireFile(path, hint) {
  if (!existsSync(path)) throw new Error(`${path} is missing: ${hint}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(description, probe, timeoutMs, isAlive) {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`${description}: the process exited early`);
    try {
      if (await probe()) return;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${description} did not become ready within ${timeoutMs} ms (${lastProblem})`);
}

function startProcess(name, command, args, options) {
  const output = [];
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk) => {
    output.push(chunk.toString());
    if (output.length > 400) output.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  return {
    name,
    child,
    isAlive: () => !exited,
    output: () => output.join(''),
    stop: () =>
      new Promise((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** Runs SQL against the walkthrough's database (to seed what other processes would have written). */
export function runSql(databaseUrl, sql) {
  execFileSync('psql', [databaseUrl, '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql], { stdio: 'pipe' });
}

/** Recreates the walkthrough's database so every run starts at first-run setup. */
function recreateDatabase() {
  const adminUrl = `${postgresServerUrl}/postgres`;
  try {
    execFileSync(
      'psql',
      [adminUrl, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`],
      {
        stdio: 'pipe',
      },
    );
  } catch (error) {
    throw new Error(
      `Postgres at ${postgresServerUrl} is not usable (${error.stderr?.toString().trim() || error.message})`,
      {
        cause: error,
      },
    );
  }
  const databaseUrl = `${postgresServerUrl}/${databaseName}`;
  execFileSync(process.execPath, [join(apiDirectory, 'scripts', 'db-migrate.mjs')], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: 'pipe',
  });
  return databaseUrl;
}

export async function startServices() {
  requireFile(chromiumPath, 'install Debian Chromium (apt-get install -y chromium) or set CHROMIUM_PATH');
  requireFile(join(apiDirectory, 'dist', 'main.js'), 'build the API first (npm run build)');
  requireFile(
    join(dashboardDirectory, 'dist', 'index.html'),
    'build the dashboard first (npm run build -w @gatehouse/dashboard)',
  );
  try {
    execFileSync('redis-cli', ['-u', redisUrl, 'ping'], { stdio: 'pipe' });
  } catch {
    throw new Error(`Redis does not answer at ${redisUrl}`);
  }

  const databaseUrl = recreateDatabase();
  const dataDirectory = mkdtempSync(join(tmpdir(), 'gatehouse-dashboard-e2e-'));
  const [apiPort, dashboardPort] = await Promise.all([freePort(), freePort()]);
  const started = [];
  const stopAll = async () => {
    await Promise.all(started.map((process) => process.stop()));
    rmSync(dataDirectory, { recursive: true, force: true });
  };

  try {
    const api = startProcess('api', process.execPath, [join(apiDirectory, 'dist', 'main.js')], {
      cwd: apiDirectory,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        REDIS_URL: redisUrl,
        API_PORT: String(apiPort),
        GATEHOUSE_DATA_DIR: dataDirectory,
        LOG_LEVEL: 'warn',
        SCARF_ANALYTICS: 'false',
      },
    });
    started.push(api);
    await waitFor(
      'the control plane',
      async () => (await fetch(`http://127.0.0.1:${apiPort}/api/health`)).status < 500,
      60_000,
      api.isAlive,
    ).catch((error) => {
      throw new Error(`${error.message}\n--- api output ---\n${api.output()}`);
    });

    const viteBinary = join(repositoryRoot, 'node_modules', 'vite', 'bin', 'vite.js');
    const dashboard = startProcess(
      'dashboard',
      process.execPath,
      [viteBinary, 'preview', '--host', '127.0.0.1', '--port', String(dashboardPort), '--strictPort'],
      { cwd: dashboardDirectory, env: { ...process.env, GATEHOUSE_DASHBOARD_API_URL: `http://127.0.0.1:${apiPort}` } },
    );
    started.push(dashboard);
    await waitFor(
      'vite preview',
      async () => (await fetch(`http://127.0.0.1:${dashboardPort}/`)).ok,
      30_000,
      dashboard.isAlive,
    ).catch((error) => {
      throw new Error(`${error.message}\n--- vite output ---\n${dashboard.output()}`);
    });

    return {
      databaseUrl,
      dashboardUrl: `http://127.0.0.1:${dashboardPort}`,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      logs: () => started.map((process) => `--- ${process.name} ---\n${process.output()}`).join('\n'),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
