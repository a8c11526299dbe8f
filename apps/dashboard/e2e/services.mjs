// Starts what the browser walkthrough needs, every piece private to this run and on a free port, so two runs on one
// machine never meet: a Postgres database of its own (migrated by the API's own script, dropped at the end), a
// redis-server child, the real control plane (apps/api/dist), its request-log worker, one real data plane
// (apps/dataplane/dist) synced from that control plane, a small upstream HTTP server for the internal endpoint, and the
// built dashboard served by `vite preview`, which proxies /api to the control plane (same origin, as in production).
// Anything missing is an error, never a skip. Everything started is stopped at the end, also when start-up or a step
// fails, and when the run is interrupted.
import { Buffer } from 'node:buffer';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dashboardDirectory = fileURLToPath(new URL('..', import.meta.url));
const repositoryRoot = join(dashboardDirectory, '..', '..');
const apiDirectory = join(repositoryRoot, 'apps', 'api');
const dataplaneDirectory = join(repositoryRoot, 'apps', 'dataplane');

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const screenshotDirectory = join(repositoryRoot, 'output', 'screenshots');
/** The data plane's id in heartbeats, shown on the Data planes page. */
export const dataplaneId = 'dashboard-e2e';

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
 * Databases are named `gatehouse_dashboard_e2e_<machine>_<pid>_<random>`: unique per run, and a run that was killed
 * before dropping its database can be recognized later by a run on the same machine (its pid no longer lives).
 */
const databasePrefix = 'gatehouse_dashboard_e2e_';
const machineTag = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);
const databaseName = `${databasePrefix}${machineTag}_${process.pid}_${randomBytes(3).toString('hex')}`;

function requireFile(path, hint) {
  if (!existsSync(path)) throw new Error(`${path} is missing: ${hint}`);
}

/** A port nobody listens on right now. Another process can take it before ours binds: see startOnFreePort. */
async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
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
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${description} did not become ready within ${timeoutMs} ms (${lastProblem})`);
}

/** Children still running, killed synchronously if this process exits before stopping them. */
const runningChildren = new Set();
const cleanupsOnExit = new Set();

function cleanUpOnExit() {
  for (const child of runningChildren) child.kill('SIGKILL');
  for (const cleanup of cleanupsOnExit) {
    try {
      cleanup();
    } catch {
      // Best effort while exiting: nothing is left to report to.
    }
  }
}
process.once('exit', cleanUpOnExit);
// Without handlers, a signal ends this process without 'exit', leaving the children and the database behind.
for (const [signal, number] of [
  ['SIGINT', 2],
  ['SIGTERM', 15],
  ['SIGHUP', 1],
]) {
  process.once(signal, () => process.exit(128 + number));
}

function startProcess(name, command, args, options) {
  let output = '';
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  runningChildren.add(child);
  const outputListeners = new Set();
  const keep = (chunk) => {
    // The last 200 kB is plenty to explain a failure.
    output = (output + chunk.toString()).slice(-200_000);
    for (const listener of outputListeners) listener();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = false;
  const exit = new Promise((resolve) => {
    const onExit = () => {
      if (exited) return;
      exited = true;
      runningChildren.delete(child);
      for (const listener of outputListeners) listener();
      resolve();
    };
    child.once('exit', onExit);
    // A command that cannot start (not installed) reports only this.
    child.once('error', (error) => {
      keep(`${name} failed: ${error.message}\n`);
      onExit();
    });
  });
  return {
    name,
    pid: child.pid,
    isAlive: () => !exited,
    output: () => output,
    /** Resolves with the first match of `pattern` in the output (the process's own readiness report). */
    waitForOutput: (description, pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output);
          if (match) finish(() => resolve(match));
          else if (exited) finish(() => reject(new Error(`${description}: the process exited early`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`${description} did not become ready within ${timeoutMs} ms`))),
          timeoutMs,
        );
        const finish = (settle) => {
          clearTimeout(timer);
          outputListeners.delete(check);
          settle();
        };
        outputListeners.add(check);
        check();
      }),
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(killer);
    },
  };
}

/**
 * Starts a server that must be told its port (the API and redis-server print no port they picked themselves) on a
 * port that was free a moment ago, and tries another one when something else took it in between.
 */
async function startOnFreePort(description, start) {
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const started = await start(port);
    try {
      await started.ready;
      return { ...started, port };
    } catch (error) {
      await started.process.stop();
      const output = started.process.output();
      if (attempt < 3 && /EADDRINUSE|address already in use/i.test(output)) continue;
      throw new Error(`${error.message}\n--- ${description} output ---\n${output}`, { cause: error });
    }
  }
}

function psql(databaseUrl, sql) {
  return execFileSync('psql', [databaseUrl, '-v', 'ON_ERROR_STOP=1', '-q', '-t', '-A', '-c', sql], {
    stdio: 'pipe',
  }).toString();
}

function dropDatabase(name) {
  psql(`${postgresServerUrl}/postgres`, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

function isProcessAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Drops the databases of earlier runs on this machine that were killed before they could drop their own. */
function dropAbandonedDatabases() {
  const names = psql(
    `${postgresServerUrl}/postgres`,
    `SELECT datname FROM pg_database WHERE datname LIKE '${databasePrefix}${machineTag}\\_%'`,
  )
    .split('\n')
    .filter(Boolean);
  for (const name of names) {
    const pid = Number(name.slice(`${databasePrefix}${machineTag}_`.length).split('_')[0]);
    if (Number.isInteger(pid) && !isProcessAlive(pid)) dropDatabase(name);
  }
}

/** Creates and migrates this run's database, so the walkthrough starts at first-run setup. */
function createDatabase() {
  try {
    dropAbandonedDatabases();
  } catch (error) {
    throw new Error(
      `Postgres at ${postgresServerUrl} is not usable (${error.stderr?.toString().trim() || error.message})`,
      { cause: error },
    );
  }
  const databaseUrl = `${postgresServerUrl}/${databaseName}`;
  // Registered before the database exists: a migration that fails halfway must not leave it behind.
  const drop = () => dropDatabase(databaseName);
  cleanupsOnExit.add(drop);
  try {
    execFileSync(process.execPath, [join(apiDirectory, 'scripts', 'db-migrate.mjs')], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: 'pipe',
    });
  } catch (error) {
    cleanupsOnExit.delete(drop);
    drop();
    throw new Error(`Migrating ${databaseName} failed: ${error.stderr?.toString().trim() || error.message}`, {
      cause: error,
    });
  }
  return {
    databaseUrl,
    drop: () => {
      cleanupsOnExit.delete(drop);
      drop();
    },
  };
}

/** True once a Redis server answers PING on the port. */
/** The process id of the Redis server answering on the port (INFO server), or null when none answers. */
function redisProcessIdOn(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      // A bulk reply: "$<length>\r\n<text>\r\n"; the section ends with a blank line.
      if (reply.includes('\r\n\r\n') || reply.startsWith('-')) socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const match = /process_id:(\d+)/.exec(reply);
      resolve(match ? Number(match[1]) : null);
    });
  });
}

/**
 * The request-log queue, the config channel and the live tail's channel belong to a whole Redis server (pub/sub
 * ignores database numbers), so on the machine's shared Redis another stack's worker could take this run's request
 * logs and its events could reach this run's data plane and live tail. A redis-server child keeps them private.
 */
function startRedis() {
  return startOnFreePort('redis-server', (port) => {
    const redis = startProcess('redis', 'redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    // Ours, not a server that took the port first (ours then exits, but may not have yet).
    const ready = waitFor(
      'redis-server',
      async () => (await redisProcessIdOn(port)) === redis.pid,
      10_000,
      redis.isAlive,
    );
    return { process: redis, ready };
  });
}

/**
 * The internal endpoint's upstream (the MCP server's place in DESIGN.md §1): answers every request with JSON and
 * remembers what reached it, so the walkthrough can tell a forwarded request from one the policy answered.
 */
async function startUpstream() {
  const received = [];
  const server = createHttpServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: [] } }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    received,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
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

  const started = [];
  let removeDataDirectory;
  let database;
  let upstream;
  const stopAll = async () => {
    // Newest first: the dashboard and the data plane go before the API they talk to, the database goes last.
    for (const running of started.reverse()) await running.stop();
    started.length = 0;
    await upstream?.close();
    database?.drop();
    removeDataDirectory?.();
  };

  try {
    database = createDatabase();
    upstream = await startUpstream();
    const redis = await startRedis();
    started.push(redis.process);
    const redisUrl = `redis://127.0.0.1:${redis.port}`;

    const dataDirectory = mkdtempSync(join(tmpdir(), 'gatehouse-dashboard-e2e-'));
    const remove = () => rmSync(dataDirectory, { recursive: true, force: true });
    cleanupsOnExit.add(remove);
    removeDataDirectory = () => {
      cleanupsOnExit.delete(remove);
      remove();
    };
    const dataplaneToken = randomBytes(32).toString('base64url');
    const apiEnvironment = {
      ...process.env,
      DATABASE_URL: database.databaseUrl,
      REDIS_URL: redisUrl,
      GATEHOUSE_DATA_DIR: join(dataDirectory, 'api'),
      GATEHOUSE_DATAPLANE_TOKEN: dataplaneToken,
      GATEHOUSE_SECRETS_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'warn',
      SCARF_ANALYTICS: 'false',
    };

    const api = await startOnFreePort('api', (port) => {
      const apiProcess = startProcess('api', process.execPath, [join(apiDirectory, 'dist', 'main.js')], {
        cwd: apiDirectory,
        env: { ...apiEnvironment, API_PORT: String(port) },
      });
      const ready = waitFor(
        'the control plane',
        // Only this run's control plane accepts this run's data-plane token, not a server that took the port first.
        async () =>
          (
            await fetch(`http://127.0.0.1:${port}/api/dataplane/config`, {
              headers: { authorization: `Bearer ${dataplaneToken}` },
            })
          ).ok,
        60_000,
        apiProcess.isAlive,
      );
      return { process: apiProcess, ready };
    });
    started.push(api.process);
    const apiUrl = `http://127.0.0.1:${api.port}`;

    // The request-log worker: takes the data plane's request logs from the queue into Postgres and the live tail.
    const worker = startProcess('worker', process.execPath, [join(apiDirectory, 'dist', 'worker.js')], {
      cwd: apiDirectory,
      env: { ...apiEnvironment, LOG_LEVEL: 'info' },
    });
    started.push(worker);
    await worker.waitForOutput('the request-log worker', /worker running/, 60_000).catch((error) => {
      throw new Error(`${error.message}\n--- worker output ---\n${worker.output()}`, { cause: error });
    });

    // One data plane on ports it picks itself (0), reported in its ready line.
    const dataplane = startProcess('dataplane', process.execPath, [join(dataplaneDirectory, 'dist', 'main.js')], {
      cwd: dataplaneDirectory,
      env: {
        ...process.env,
        GATEHOUSE_API_URL: apiUrl,
        GATEHOUSE_DATAPLANE_TOKEN: dataplaneToken,
        REDIS_URL: redisUrl,
        DATAPLANE_HOST: '127.0.0.1',
        DATAPLANE_PORT: '0',
        DATAPLANE_ADMIN_PORT: '0',
        DATAPLANE_ID: dataplaneId,
        // One process: the pages show this data plane by its id, which workers would split into `<id>/worker-<n>`.
        DATAPLANE_WORKERS: '1',
        GATEHOUSE_DATA_DIR: join(dataDirectory, 'dataplane'),
        // The walkthrough plays clients behind a proxy on this machine (X-Forwarded-For) to choose their addresses.
        GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/32',
        LOG_LEVEL: 'info',
      },
    });
    started.push(dataplane);
    const [readyLine] = await dataplane
      .waitForOutput('the data plane', /^.*"event":"dataplane\.ready".*$/m, 30_000)
      .catch((error) => {
        throw new Error(`${error.message}\n--- dataplane output ---\n${dataplane.output()}`, { cause: error });
      });
    const { port: dataplanePort, adminPort: dataplaneAdminPort } = JSON.parse(readyLine);
    const dataplaneAdminUrl = `http://127.0.0.1:${dataplaneAdminPort}`;
    await waitFor(
      'the data plane',
      async () => (await fetch(`${dataplaneAdminUrl}/readyz`)).ok,
      30_000,
      dataplane.isAlive,
    ).catch((error) => {
      throw new Error(`${error.message}\n--- dataplane output ---\n${dataplane.output()}`, { cause: error });
    });

    const viteBinary = join(repositoryRoot, 'node_modules', 'vite', 'bin', 'vite.js');
    const dashboard = startProcess(
      'dashboard',
      process.execPath,
      [viteBinary, 'preview', '--host', '127.0.0.1', '--port', '0', '--strictPort'],
      { cwd: dashboardDirectory, env: { ...process.env, NO_COLOR: '1', GATEHOUSE_DASHBOARD_API_URL: apiUrl } },
    );
    started.push(dashboard);
    const [, dashboardUrl] = await dashboard
      .waitForOutput('vite preview', /Local:\s+(http:\/\/127\.0\.0\.1:\d+)/, 30_000)
      .catch((error) => {
        throw new Error(`${error.message}\n--- vite output ---\n${dashboard.output()}`, { cause: error });
      });

    return {
      databaseName,
      dashboardUrl,
      apiUrl,
      dataplaneToken,
      dataplanePort,
      dataplaneAdminUrl,
      upstream,
      logs: () => started.map((running) => `--- ${running.name} ---\n${running.output()}`).join('\n'),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
