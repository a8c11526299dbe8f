import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { listen, type RunningServer } from './upstreams.js';

export interface OAuthClient {
  secret: string;
  /** Scopes this client may be granted; a request for more is cut down to these (as real servers do). */
  allowedScopes: readonly string[];
}

export interface TestIssuer extends RunningServer {
  /** The issuer identifier (`iss`), which is also its URL. */
  issuer: string;
  jwksUrl: string;
  /** Token requests, in order, as the client sent them (grant type, scope, resource). */
  tokenRequests: { client: string; scope: string; resource: string }[];
  /** Signs an access token directly (for tokens a real server would not issue: wrong audience, expired, …). */
  sign(claims: Record<string, unknown>): Promise<string>;
}

/**
 * A minimal, real OAuth 2.1 authorization server on a socket: RFC 8414 metadata, a JWKS, and a token endpoint for the
 * client_credentials grant with client_secret_basic. Tokens are RS256 JWTs whose `aud` is the RFC 8707 `resource` the
 * client asked for, so the gateway's audience check is exercised the way the MCP authorization spec intends.
 */
export async function startTestIssuer(clients: Record<string, OAuthClient>): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'issuer-key', alg: 'RS256', use: 'sig' };
  const tokenRequests: TestIssuer['tokenRequests'] = [];
  let issuer = '';
  const sign = (claims: Record<string, unknown>) => signWith(privateKey, issuer, claims);

  const running = await listen((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (status: number, body: unknown) =>
      res
        .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(body));
    if (req.method === 'GET' && url.pathname === '/.well-known/oauth-authorization-server') {
      json(200, {
        issuer,
        // Required by RFC 8414 even for a client_credentials-only server; nothing here serves it.
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks.json`,
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
      });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/jwks.json') {
      json(200, { keys: [jwk] });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const [clientId, secret] = basicCredentials(req.headers.authorization);
        const client = clientId === undefined ? undefined : clients[clientId];
        if (client === undefined || client.secret !== secret) {
          json(401, { error: 'invalid_client' });
          return;
        }
        if (form.get('grant_type') !== 'client_credentials') {
          json(400, { error: 'unsupported_grant_type' });
          return;
        }
        const requested = (form.get('scope') ?? '').split(' ').filter(Boolean);
        const granted = requested.filter((scope) => client.allowedScopes.includes(scope));
        const resource = form.get('resource') ?? '';
        tokenRequests.push({ client: clientId!, scope: form.get('scope') ?? '', resource });
        void sign({ sub: `client:${clientId}`, client_id: clientId, aud: resource, scope: granted.join(' ') }).then(
          (token) =>
            json(200, { access_token: token, token_type: 'Bearer', expires_in: 300, scope: granted.join(' ') }),
        );
      });
      return;
    }
    json(404, { error: 'not_found' });
  });
  issuer = running.url;
  return Object.assign(running, { issuer, jwksUrl: `${issuer}/jwks.json`, tokenRequests, sign });
}

async function signWith(key: CryptoKey, issuer: string, claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'issuer-key', typ: 'at+jwt' })
    .setIssuer(issuer)
    .sign(key);
}

function basicCredentials(header: string | undefined): [string | undefined, string | undefined] {
  if (header === undefined || !/^basic /i.test(header)) return [undefined, undefined];
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator < 0) return [undefined, undefined];
  // RFC 6749 §2.3.1: both parts are form-urlencoded.
  return [decodeURIComponent(decoded.slice(0, separator)), decodeURIComponent(decoded.slice(separator + 1))];
}
