import { once } from 'node:events';
import { createServer, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  AGENT_CONTROL_PATHS,
  AGENT_HEADERS,
  AGENT_TUNNEL_PATH,
  AGENT_TUNNEL_PROTOCOL,
  AgentSessionRegistrationSchema,
  type AgentDeclaration,
} from '@gatehouse/contracts';
import { TestConfigServer } from '../test/helpers/config-server.js';
import { startDataplaneProcess } from '../test/helpers/dataplane-process.js';
import { createMemoryProbe } from './process-memory.js';

/**
 * Issue 13: data-plane memory per idle agent session (target ≤ 50 KB). One data plane process (the build) holds N
 * sessions that stay idle apart from the tunnel's pings; its heap after a full GC and its RSS are read before and
 * after, and the difference is divided by N. Every session declares the same pooled URL, so the figure is the
 * session's own cost (tunnel, HTTP/2 session, registration, pool membership), not N endpoints' compiled config.
 *
 * The sessions are opened by a minimal client of the tunnel protocol (packages/contracts/src/agent-tunnel.ts) in this
 * process rather than by N `gatehouse-agent` processes, which would need N × ~50 MB here; the data plane cannot tell
 * the difference. Memory is read with `process-memory.ts`. Run: `npx tsx bench/agent-session-memory.ts` after `npm run build`.
 */
const sessionCount = Number(process.env.BENCH_AGENT_SESSIONS ?? 1000);
const token = 'gh_bench_token_0123456789';
const pooledUrl = 'https://pool.bench.internal';

const memory = await createMemoryProbe();
const config = new TestConfigServer(undefined);
await config.start();
config.authtokens.set(token, { revoked: false });
const dataplane = await startDataplaneProcess(
  {
    GATEHOUSE_API_URL: config.url,
    GATEHOUSE_DATAPLANE_TOKEN: config.token,
    DATAPLANE_HEARTBEAT_INTERVAL_MS: '60000',
    LOG_LEVEL: 'info',
    NODE_OPTIONS: memory.nodeOptions,
  },
  { built: true },
);
memory.attach(dataplane.child.pid!, dataplane.adminPort);
const { heapAfterFullGc, rss, metrics } = memory;

/** One agent session as the protocol defines it: upgrade, HTTP/2 with the roles reversed, declare, get registered. */
async function openSession(index: number): Promise<Socket> {
  const socket = connect(dataplane.port, '127.0.0.1');
  await once(socket, 'connect');
  const sessionKey = randomBytes(18).toString('base64url');
  socket.write(
    `GET ${AGENT_TUNNEL_PATH} HTTP/1.1\r\nhost: 127.0.0.1:${dataplane.port}\r\nconnection: Upgrade\r\n` +
      `upgrade: ${AGENT_TUNNEL_PROTOCOL}\r\nauthorization: Bearer ${token}\r\n${AGENT_HEADERS.version}: bench\r\n` +
      `${AGENT_HEADERS.hostname}: bench-${index}\r\n${AGENT_HEADERS.sessionKey}: ${sessionKey}\r\n\r\n`,
  );
  // Read the 101 head in one synchronous handler, so no byte of the HTTP/2 stream that follows is dropped.
  await new Promise<void>((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      socket.pause();
      if (!head.subarray(0, 12).toString().includes('101')) reject(new Error(`no 101: ${head.toString()}`));
      if (end + 4 < head.length) socket.unshift(head.subarray(end + 4));
      resolve();
    };
    socket.on('data', onData);
  });
  const declaration: AgentDeclaration = {
    agent_version: 'bench',
    hostname: `bench-${index}`,
    session_key: sessionKey,
    endpoints: [
      {
        name: 'pool',
        url: pooledUrl,
        upstream: 'http://127.0.0.1:9',
        upstream_protocol: 'http1',
        description: '',
        metadata: '',
        pooling_enabled: true,
        traffic_policy: null,
      },
    ],
  };
  const server = createServer();
  const registered = new Promise<void>((resolve, reject) => {
    server.on('stream', (stream: ServerHttp2Stream, headers) => {
      stream.on('error', () => undefined);
      if (headers[':path'] === AGENT_CONTROL_PATHS.declaration) {
        stream.respond({ ':status': 200, 'content-type': 'application/json' });
        stream.end(JSON.stringify(declaration));
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        stream.respond({ ':status': 204 });
        stream.end();
        if (headers[':path'] !== AGENT_CONTROL_PATHS.session) return;
        const parsed = AgentSessionRegistrationSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        if (parsed.status === 'accepted' && parsed.endpoints.every((endpoint) => endpoint.status === 'online'))
          resolve();
        else reject(new Error(`session ${index} refused: ${JSON.stringify(parsed)}`));
      });
    });
  });
  server.on('session', (session: ServerHttp2Session) => session.on('error', () => undefined));
  server.emit('connection', socket);
  socket.resume();
  await registered;
  return socket;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 2_000));
await settle();
// RSS before and after with no heap snapshot in between (writing one touches memory the allocator may keep); the heap
// with the sessions, then again once they are all gone, each after a full GC.
const rssBefore = await rss();
const sockets: Socket[] = [];
const started = Date.now();
// A few at a time: the fake control plane republishes the pool's member list on every registration.
for (let index = 0; index < sessionCount; index += 10) {
  const batch = Array.from({ length: Math.min(10, sessionCount - index) }, (_, offset) => openSession(index + offset));
  sockets.push(...(await Promise.all(batch)));
}
const openedMs = Date.now() - started;
await settle();
const rssWith = await rss();
const heapWith = await heapAfterFullGc();
for (const socket of sockets) socket.destroy();
const deadline = Date.now() + 60_000;
while ((await metrics()).get('gatehouse_dataplane_agent_sessions') !== 0) {
  if (Date.now() > deadline) throw new Error('the data plane still holds agent sessions 60 s after they closed');
  await new Promise((resolve) => setTimeout(resolve, 200));
}
await settle();
const heapWithout = await heapAfterFullGc();

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const perSession = (bytes: number) => `${(bytes / sessionCount / 1024).toFixed(1)} KB per session`;
console.log(`\nData-plane memory per idle agent session, ${sessionCount} sessions (opened in ${openedMs} ms)`);
console.log(
  `heap after full GC: ${mb(heapWith)} with, ${mb(heapWithout)} after they closed = ${perSession(heapWith - heapWithout)} (target <= 50 KB)`,
);
console.log(
  `RSS: ${mb(rssBefore)} before, ${mb(rssWith)} with = ${perSession(rssWith - rssBefore)} (JS heap, nghttp2 and socket buffers, allocator slack)`,
);

await dataplane.stop();
await config.close();
await memory.close();
