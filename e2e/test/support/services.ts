import { connect } from 'node:net';
import pg from 'pg';
import { baseEnvironment, freePort, startProcess, waitFor, type ManagedProcess } from './processes.js';

/**
 * The Postgres server the distributed shape uses: DATABASE_URL's server (CI sets it; default the local one on
 * 127.0.0.1:5432). Only its host, port and credentials are used: each run gets a database of its own.
 */
export function postgresServerUrl(): URL {
  return new URL(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
}

function databaseUrl(name: string): string {
  const url = postgresServerUrl();
  url.pathname = `/${name}`;
  return url.toString();
}

/** A database for one run: migrated by the API's own `scripts/db-migrate.mjs` (which creates it), dropped by `drop()`. */
export interface RunDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export function runDatabase(runId: string): RunDatabase {
  const name = `gatehouse_e2e_${runId}`;
  return {
    name,
    url: databaseUrl(name),
    async drop() {
      const client = new pg.Client({ connectionString: databaseUrl('postgres') });
      await client.connect();
      try {
        // FORCE: a process that did not exit cleanly may still hold a connection; the database goes regardless.
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Answers true once a Redis server at host:port replies +PONG. */
export function redisAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let reply = '';
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) socket.end();
    });
    socket.on('close', () => resolve(reply.startsWith('+PONG')));
    socket.on('error', () => resolve(false));
  });
}

export interface RunRedis {
  url: string;
  stop(): Promise<void>;
}

/**
 * A Redis for one run: a `redis-server` of this machine on a free port, with nothing persisted.
 *
 * Why not the Redis on 6379 that every other test shares: the API publishes config changes on the fixed channel
 * `gatehouse:config` and the data planes take request logs from the fixed BullMQ queue `request-logs`, with no way
 * to namespace either. On a shared Redis another API's revision N+1 would be applied by this run's data planes as
 * their own (and this run's real N+1 then skipped), and another worker would take this run's request events into
 * its own database. GATEHOUSE_E2E_REDIS_URL points the shape at an existing Redis instead (it must be private).
 */
export async function startRunRedis(): Promise<RunRedis> {
  const external = process.env.GATEHOUSE_E2E_REDIS_URL;
  if (external !== undefined && external !== '') return { url: external, stop: () => Promise.resolve() };
  const port = await freePort();
  const server: ManagedProcess = startProcess(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { command: 'redis-server', env: baseEnvironment() },
  );
  await waitFor(() => redisAnswers('127.0.0.1', port), {
    timeoutMs: 15_000,
    what: `redis-server on port ${port}`,
    context: () => server.output(),
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => server.stop() };
}
