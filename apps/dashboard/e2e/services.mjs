// Starts what the browser walkthrough needs: a fresh Postgres database migrated by the API's own script, an emptied
// Redis database of its own, the real control plane (apps/api/dist) on a free port, its request-log worker
// (apps/api/dist/worker.js), one real data plane (apps/dataplane/dist) synced from that control plane, and the built
// dashboard served by `vite preview`, which proxies /api to that control plane (same origin, as in production).
// Anything missing is an error, never a skip.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dashboardDirectory = fileURLToPath(new URL('..', import.meta.url));
const repositoryRoot = join(dashboardDirectory, '..', '..');
const apiDirectory = join(repositoryRoot, 'apps', 'api');
const dataplaneDirectory = join(repositoryRoot, 'apps', 'dataplane');

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
/**
 * The walkthrough's own Redis database (number 14) on REDIS_URL's server, emptied at start like its Postgres database:
 * the request-log queue is shared by every worker on one Redis database, so another stack's worker must not take the
 * data plane's request logs, nor this worker ingest another stack's leftovers.
 */
const redisDatabase = 14;
function redisUrlOf(serverUrl) {
  const url = new URL(serverUrl);
  url.pathname = `/${redisDatabase}`;
  return url.toString();
}
const redisUrl = redisUrlOf(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
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
  requireFile(join(apiDirectory, 'dist', 'worker.js'), 'build the API first (npm run build)');
  requireFile(join(dataplaneDirectory, 'dist', 'main.js'), 'build the data plane first (npm run build)');
  requireFile(
    join(dashboardDirectory, 'dist', 'index.html'),
    'build the dashboard first (npm run build -w @gatehouse/dashboard)',
  );
  try {
    execFileSync('redis-cli', ['-u', redisUrl, 'FLUSHDB'], { stdio: 'pipe' });
  } catch {
    throw new Error(`Redis does not answer at ${redisUrl}`);
  }

  const databaseUrl = recreateDatabase();
  const dataDirectory = mkdtempSync(join(tmpdir(), 'gatehouse-dashboard-e2e-'));
  const dataplaneDataDirectory = mkdtempSync(join(tmpdir(), 'gatehouse-dashboard-e2e-dataplane-'));
  const [apiPort, dashboardPort, dataplanePort, dataplaneAdminPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const dataplaneToken = randomBytes(32).toString('base64url');
  const apiEnvironment = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    API_PORT: String(apiPort),
    GATEHOUSE_DATA_DIR: dataDirectory,
    GATEHOUSE_DATAPLANE_TOKEN: dataplaneToken,
    LOG_LEVEL: 'warn',
    SCARF_ANALYTICS: 'false',
  };
  const started = [];
  const stopAll = async () => {
    await Promise.all(started.map((process) => process.stop()));
    rmSync(dataDirectory, { recursive: true, force: true });
    rmSync(dataplaneDataDirectory, { recursive: true, force: true });
  };

  try {
    const api = startProcess('api', process.execPath, [join(apiDirectory, 'dist', 'main.js')], {
      cwd: apiDirectory,
      env: apiEnvironment,
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

    // The request-log worker: takes the data plane's request logs from the queue into Postgres and the live tail.
    const worker = startProcess('worker', process.execPath, [join(apiDirectory, 'dist', 'worker.js')], {
      cwd: apiDirectory,
      env: apiEnvironment,
    });
    started.push(worker);

    // One data plane, synced from this control plane; its traffic port takes requests by Host header.
    const dataplane = startProcess('dataplane', process.execPath, [join(dataplaneDirectory, 'dist', 'main.js')], {
      cwd: dataplaneDirectory,
      env: {
        ...process.env,
        GATEHOUSE_API_URL: `http://127.0.0.1:${apiPort}`,
        GATEHOUSE_DATAPLANE_TOKEN: dataplaneToken,
        REDIS_URL: redisUrl,
        DATAPLANE_HOST: '127.0.0.1',
        DATAPLANE_PORT: String(dataplanePort),
        DATAPLANE_ADMIN_PORT: String(dataplaneAdminPort),
        DATAPLANE_ID: 'dashboard-e2e',
        GATEHOUSE_DATA_DIR: dataplaneDataDirectory,
        // The walkthrough plays a client behind a proxy on this machine (X-Forwarded-For) to choose its client IP.
        GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/32',
        LOG_LEVEL: 'warn',
      },
    });
    started.push(dataplane);
    await waitFor(
      'the data plane',
      async () => (await fetch(`http://127.0.0.1:${dataplaneAdminPort}/readyz`)).ok,
      30_000,
      () => dataplane.isAlive() && worker.isAlive(),
    ).catch((error) => {
      throw new Error(
        `${error.message}\n--- dataplane output ---\n${dataplane.output()}\n--- worker output ---\n${worker.output()}`,
      );
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
      dataplaneToken,
      dataplanePort,
      dataplaneAdminUrl: `http://127.0.0.1:${dataplaneAdminPort}`,
      logs: () => started.map((process) => `--- ${process.name} ---\n${process.output()}`).join('\n'),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
