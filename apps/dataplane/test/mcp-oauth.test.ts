import { createServer, type LookupFunction } from 'node:net';
import { once } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, uniqueId, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { startMcpServer, type McpTestServer } from './helpers/mcp.js';
import { startTestIssuer, type TestIssuer } from './helpers/oauth-issuer.js';

/**
 * The README recipe "Protecting an MCP server with OAuth", end to end: the gateway is the OAuth resource server of the
 * MCP authorization spec, entirely in policy. A real authorization server (client_credentials, JWKS) issues tokens, the
 * real MCP SDK client runs its whole flow (401 challenge → protected resource metadata → authorization server metadata
 * → token with `resource` → retry, and a step-up on 403 insufficient_scope) through a real data plane to a real MCP
 * server.
 */
describe('MCP OAuth resource server recipe', () => {
  const config = new TestConfigServer(undefined);
  let issuer: TestIssuer;
  let mcp: McpTestServer;
  let gateway: RunningDataplane;
  let gatewayPort: number;
  let resource: string;
  let metadataUrl: string;
  const host = 'mcp.example.com';

  beforeAll(async () => {
    issuer = await startTestIssuer({
      reader: { secret: 'reader-secret', allowedScopes: ['mcp:tools'] },
      admin: { secret: 'admin-secret', allowedScopes: ['mcp:tools', 'mcp:admin'] },
    });
    mcp = await startMcpServer();
    // The resource identifier names the port the clients use, so the gateway's port is chosen before its policy.
    gatewayPort = await freePort();
    resource = `http://${host}:${gatewayPort}/mcp`;
    metadataUrl = `http://${host}:${gatewayPort}/.well-known/oauth-protected-resource/mcp`;
    await config.start();
    await config.upsertEndpoint({
      id: uniqueId('ep_internal'),
      url: 'https://mcp.example.internal',
      upstream_url: mcp.url,
    });
    await config.upsertEndpoint({
      id: uniqueId('ep_oauth'),
      url: `https://${host}`,
      traffic_policy: oauthRecipePolicy({ resource, metadataUrl, issuer: issuer.issuer, jwksUrl: issuer.jwksUrl }),
    });
    gateway = await startDataplane(config, { port: gatewayPort });
  });

  afterAll(async () => {
    await gateway?.stop();
    await config.close();
    await mcp?.close();
    await issuer?.close();
  });

  const post = (headers: Record<string, string>, body: unknown) =>
    httpRequest({
      port: gatewayPort,
      host,
      path: '/mcp',
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify(body),
    });
  const callAdd = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'add', arguments: { a: 1, b: 2 } } };

  it('answers a request without a token 401 with a Bearer challenge naming the resource metadata', async () => {
    const response = await post({}, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(`Bearer resource_metadata="${metadataUrl}", scope="mcp:tools"`);
  });

  it('serves the protected resource metadata from the policy, without a token', async () => {
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const response = await httpRequest({ port: gatewayPort, host, path });
      expect(response.status, path).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(response.body)).toEqual({
        resource,
        authorization_servers: [issuer.issuer],
        scopes_supported: ['mcp:tools', 'mcp:admin'],
        bearer_methods_supported: ['header'],
      });
    }
  });

  it('rejects a token issued for another resource (audience) with 401 invalid_token', async () => {
    const token = await issuer.sign({
      sub: 'mallory',
      aud: 'https://other.example.com/mcp',
      scope: 'mcp:tools mcp:admin',
    });
    const response = await post({ authorization: `Bearer ${token}` }, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('answers a tool the token has no scope for 403 insufficient_scope, also when the scope claim is missing', async () => {
    for (const claims of [{ scope: 'mcp:tools' }, {}, { scope: 'mcp:tools mcp:administrator' }]) {
      const token = await issuer.sign({ sub: 'bob', aud: resource, ...claims });
      const response = await post({ authorization: `Bearer ${token}` }, callAdd);
      expect(response.status, JSON.stringify(claims)).toBe(403);
      expect(response.headers['www-authenticate']).toBe(
        `Bearer error="insufficient_scope", scope="mcp:tools mcp:admin", resource_metadata="${metadataUrl}"`,
      );
    }
  });

  it('runs the SDK client through discovery and the token request for this resource, then calls an admin tool', async () => {
    const session = await connectWithOAuth('admin', 'admin-secret');
    const client = session.client;
    try {
      const tools = await client.listTools();
      expect(tools.tools.map((tool) => tool.name).sort()).toEqual(['add', 'countdown']);
      const result = await client.callTool({ name: 'add', arguments: { a: 20, b: 22 } });
      expect(result.content).toEqual([{ type: 'text', text: '42' }]);
    } finally {
      await session.close();
    }
    // One token, asked for this resource (RFC 8707) after discovery through the 401 challenge and the metadata. (The
    // SDK's client_credentials flow asks for the client's configured scope, not the challenge's.)
    const admin = issuer.tokenRequests.filter((request) => request.client === 'admin');
    expect(admin).toEqual([{ client: 'admin', scope: 'mcp:tools mcp:admin', resource }]);
    // The audit trail names the caller of every admitted request.
    const calls = gateway.sink.events.filter((event) => event.mcp?.tool === 'add' && event.status === 200);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls[0]!.caller).toEqual({
      subject: 'client:admin',
      client_id: 'admin',
      issuer: issuer.issuer,
      basic_auth_user: null,
      credential_fingerprint: null,
    });
  });

  it('answers insufficient_scope until the authorization server grants the scope (the SDK retries once)', async () => {
    const session = await connectWithOAuth('reader', 'reader-secret');
    const client = session.client;
    try {
      expect((await client.listTools()).tools.length).toBe(2);
      await expect(client.callTool({ name: 'add', arguments: { a: 1, b: 1 } })).rejects.toThrow(
        /403 after trying upscoping/,
      );
      expect(await client.callTool({ name: 'countdown', arguments: { from: 1 } })).toMatchObject({
        content: [{ type: 'text', text: 'liftoff' }],
      });
    } finally {
      await session.close();
    }
    // The 403 insufficient_scope made the SDK ask for a new token once; the server still would not grant mcp:admin.
    expect(issuer.tokenRequests.filter((request) => request.client === 'reader')).toHaveLength(2);
    const denied = gateway.sink.events.filter((event) => event.mcp?.tool === 'add' && event.status === 403);
    expect(denied.some((event) => event.caller?.client_id === 'reader')).toBe(true);
  });

  async function connectWithOAuth(clientId: string, clientSecret: string) {
    const agent = new Agent({ connect: { lookup: loopbackLookup } });
    const fetchThroughLoopback = ((url: string | URL, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch;
    const transport = new StreamableHTTPClientTransport(new URL(resource), {
      authProvider: new ClientCredentialsProvider({
        clientId,
        clientSecret,
        expectedIssuer: issuer.issuer,
        scope: 'mcp:tools mcp:admin',
      }),
      fetch: fetchThroughLoopback,
    });
    const client = new Client({ name: 'oauth-test-client', version: '1.0.0' });
    await client.connect(transport);
    return {
      client,
      async close() {
        await client.close();
        await agent.close();
      },
    };
  }
});

/** The recipe's policy (README "Protecting an MCP server with OAuth"), with this test's URLs. */
function oauthRecipePolicy(urls: { resource: string; metadataUrl: string; issuer: string; jwksUrl: string }) {
  const metadata = JSON.stringify({
    resource: urls.resource,
    authorization_servers: [urls.issuer],
    scopes_supported: ['mcp:tools', 'mcp:admin'],
    bearer_methods_supported: ['header'],
  });
  return `on_http_request:
  - name: Protected resource metadata (RFC 9728)
    expressions:
      - "req.method == 'GET' && req.url.path.startsWith('/.well-known/oauth-protected-resource')"
    actions:
      - type: custom-response
        config:
          status_code: 200
          headers: { content-type: application/json }
          body: '${metadata}'
  - name: Access tokens for this resource only
    actions:
      - type: jwt-validation
        config:
          issuer: { allow_list: [{ value: "${urls.issuer}" }] }
          audience: { allow_list: [{ value: "${urls.resource}" }] }
          http:
            tokens: [{ type: access_token }]
            www_authenticate:
              resource_metadata: "${urls.metadataUrl}"
              scope: "mcp:tools"
          jws:
            allowed_algorithms: [RS256]
            keys: { sources: { additional_jkus: ["${urls.jwksUrl}"] } }
  - name: add needs mcp:admin
    expressions:
      - >-
        mcp.tool == 'add' &&
        !('scope' in actions.ngrok.jwt_validation.tokens[0].payload &&
          'mcp:admin' in string(actions.ngrok.jwt_validation.tokens[0].payload.scope).split(' '))
    actions:
      - type: deny
        config:
          status_code: 403
          headers:
            WWW-Authenticate: 'Bearer error="insufficient_scope", scope="mcp:tools mcp:admin", resource_metadata="${urls.metadataUrl}"'
  - name: Forward to the MCP server
    actions:
      - type: forward-internal
        config: { url: "https://mcp.example.internal" }
`;
}

/** Resolves every name to 127.0.0.1, so the client uses the endpoint's real host name (and Host header). */
const loopbackLookup: LookupFunction = (_hostname, options, callback) => {
  if (options.all === true)
    (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [
      { address: '127.0.0.1', family: 4 },
    ]);
  else callback(null, '127.0.0.1', 4);
};

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}
