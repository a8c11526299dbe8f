import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpIdentityProviderClient, IdentityProviderUnavailableError } from './http-identity-provider.js';
import { OutboundGuard } from './outbound-guard.js';

describe('HttpIdentityProviderClient', () => {
  let server: Server;
  let issuer: string;
  let discoveryHits = 0;
  let lastToken: { headers: IncomingMessage['headers']; body: string } | undefined;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.url === '/.well-known/openid-configuration') {
          discoveryHits++;
          res.writeHead(200, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              issuer,
              authorization_endpoint: `${issuer}/auth`,
              token_endpoint: `${issuer}/token`,
              jwks_uri: `${issuer}/jwks`,
              userinfo_endpoint: `${issuer}/me`,
              token_endpoint_auth_methods_supported: ['client_secret_post'],
              id_token_signing_alg_values_supported: 7,
            }),
          );
          return;
        }
        if (req.url === '/token') {
          lastToken = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
          res.writeHead(400, { 'content-type': 'text/html' }).end('<h1>bad request</h1>');
          return;
        }
        if (req.url === '/me') {
          res
            .writeHead(req.headers.authorization === 'Bearer at-1' ? 200 : 401, { 'content-type': 'application/json' })
            .end(JSON.stringify({ sub: 'alice' }));
          return;
        }
        res.writeHead(404).end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.close();
    await once(server, 'close');
  });

  it('reads and caches discovery, keeping only well-typed members', async () => {
    const client = new HttpIdentityProviderClient();
    const [first, second] = await Promise.all([client.discover(issuer), client.discover(`${issuer}`)]);
    expect(first).toEqual({
      issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      userinfo_endpoint: `${issuer}/me`,
      token_endpoint_auth_methods_supported: ['client_secret_post'],
    });
    expect(second).toBe(first);
    await client.discover(issuer);
    expect(discoveryHits).toBe(1);
  });

  it('posts token requests as a form with form-urlencoded basic credentials, and reads non-JSON answers as {}', async () => {
    const client = new HttpIdentityProviderClient();
    const answer = await client.requestToken(`${issuer}/token`, {
      form: { grant_type: 'authorization_code', code: 'c 1' },
      basicAuth: { clientId: 'my app', clientSecret: 'p:ss' },
    });
    expect(answer).toEqual({ status: 400, body: {} });
    expect(lastToken?.body).toBe('grant_type=authorization_code&code=c+1');
    expect(lastToken?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Buffer.from(lastToken!.headers.authorization!.slice(6), 'base64').toString()).toBe('my%20app:p%3Ass');
    expect(await client.fetchUserinfo(`${issuer}/me`, 'at-1')).toEqual({ status: 200, body: { sub: 'alice' } });
    expect((await client.fetchUserinfo(`${issuer}/me`, 'other')).status).toBe(401);
  });

  it('dials providers under the outbound rules and fails with one generic sentence', async () => {
    const client = new HttpIdentityProviderClient({ outbound: new OutboundGuard() });
    // The cloud metadata address is refused whatever the policy says; plain http is refused for a public host.
    for (const url of ['http://169.254.169.254', 'http://idp.example.com']) {
      const failure = await client.discover(url).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(IdentityProviderUnavailableError);
      expect(String(failure)).not.toContain('169.254');
    }
    await expect(client.requestToken('http://169.254.169.254/token', { form: {} })).rejects.toBeInstanceOf(
      IdentityProviderUnavailableError,
    );
  });
});
