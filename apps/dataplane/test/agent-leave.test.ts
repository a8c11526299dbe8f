import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  AGENT_CONTROL_PATHS,
  AGENT_HEADERS,
  AGENT_TUNNEL_PATH,
  AGENT_TUNNEL_PROTOCOL,
  AgentSessionRegistrationSchema,
  type AgentDeclaration,
  type AgentSessionRegistration,
} from '@gatehouse/contracts';
import { HttpAgentSessionApi } from '../src/config/agent-session-api.js';
import { TestConfigServer } from './helpers/config-server.js';
import { eventually, startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { assertRedisUp, sharedRedisUrl } from './helpers/redis-process.js';

/**
 * The data plane's one-`leave`-per-session rule (agent-tunnels.ts): a session may hold several connections to one
 * data plane (the agent reconnected before its old connection was noticed dead). The control plane hears that the
 * session left this data plane only when its last connection here closes, and then once: a leave sent while another
 * connection still serves the session would start the session's grace period and end a session that is still up.
 * Driven over the tunnel protocol itself (upgrade, reversed HTTP/2), two connections carrying one session key.
 */
const token = 'gh_leave_rule_token_0123456789';
let config: TestConfigServer;
let running: RunningDataplane;
let sessionApi: HttpAgentSessionApi;
const sockets: Socket[] = [];

beforeAll(async () => {
  await assertRedisUp(sharedRedisUrl);
  config = new TestConfigServer(sharedRedisUrl);
  await config.start();
  config.authtokens.set(token, { revoked: false });
  sessionApi = new HttpAgentSessionApi(config.url, config.token, 2_000);
  running = await startDataplane(config, { redisUrl: sharedRedisUrl, agentSessionApi: sessionApi });
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await running?.stop();
  await sessionApi?.close();
  await config?.close();
});

/** A gauge of the data plane's /metrics (gatehouse_dataplane_<name>). */
async function gauge(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${running.adminPort}/metrics`)).text();
  const match = new RegExp(`^gatehouse_dataplane_${name} (\\S+)$`, 'm').exec(text);
  if (match === null) throw new Error(`no gatehouse_dataplane_${name} in /metrics`);
  return Number(match[1]);
}

/** One agent connection: upgrade, then serve the declaration; resolves with the registration the data plane sends. */
async function openConnection(declaration: AgentDeclaration): Promise<AgentSessionRegistration> {
  const socket = connect(running.port, '127.0.0.1');
  sockets.push(socket);
  await once(socket, 'connect');
  socket.write(
    `GET ${AGENT_TUNNEL_PATH} HTTP/1.1\r\nhost: 127.0.0.1:${running.port}\r\nconnection: Upgrade\r\n` +
      `upgrade: ${AGENT_TUNNEL_PROTOCOL}\r\nauthorization: Bearer ${token}\r\n${AGENT_HEADERS.version}: test\r\n` +
      `${AGENT_HEADERS.hostname}: leave-test\r\n${AGENT_HEADERS.sessionKey}: ${declaration.session_key}\r\n\r\n`,
  );
  // The 101 head is read in one synchronous handler, so no byte of the HTTP/2 stream that follows is lost.
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
  const server = createServer();
  const registration = new Promise<AgentSessionRegistration>((resolve) => {
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
        if (headers[':path'] === AGENT_CONTROL_PATHS.session)
          resolve(AgentSessionRegistrationSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      });
    });
  });
  server.on('session', (session: ServerHttp2Session) => session.on('error', () => undefined));
  server.emit('connection', socket);
  socket.resume();
  return registration;
}

it('a session with two connections here is left once, when the last of them closes', async () => {
  const declaration: AgentDeclaration = {
    agent_version: 'test',
    hostname: 'leave-test',
    session_key: randomBytes(18).toString('base64url'),
    endpoints: [
      {
        name: 'leave',
        url: 'https://leave-rule.example.internal',
        upstream: 'http://127.0.0.1:9',
        upstream_protocol: 'http1',
        description: '',
        metadata: '',
        pooling_enabled: false,
        traffic_policy: null,
      },
    ],
  };
  const first = await openConnection(declaration);
  const second = await openConnection(declaration);
  expect(first.status).toBe('accepted');
  expect(second.status).toBe('accepted');
  const sessionId = first.status === 'accepted' ? first.session_id : '';
  expect(second.status === 'accepted' && second.session_id).toBe(sessionId);
  await eventually(async () => (await gauge('agent_connections')) === 2, 5_000, 'both connections held');
  const leaves = () => config.agentLeaves.filter((leave) => leave.session_id === sessionId);

  sockets[0]!.destroy();
  await eventually(async () => (await gauge('agent_connections')) === 1, 5_000, 'the first connection to be dropped');
  // The leave would be sent right after the drop; give it time to show up if it were (a 2 s HTTP timeout upstream).
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(leaves()).toEqual([]);
  expect(await gauge('agent_sessions')).toBe(1);

  sockets[1]!.destroy();
  await eventually(() => leaves().length > 0, 5_000, 'the leave once the last connection closed');
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(leaves()).toHaveLength(1);
  expect(leaves()[0]).toMatchObject({ session_id: sessionId, reason: 'agent-closed' });
  expect(await gauge('agent_sessions')).toBe(0);
});
