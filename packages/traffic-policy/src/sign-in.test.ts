import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile } from './compile.js';
import type { CompiledPolicy } from './compiled-policy.js';
import type { HeaderMap, Outcome } from './context.js';
import { createPolicyContext, evaluate } from './evaluate.js';
import type {
  IdentityProviderClient,
  OpenIdProviderMetadata,
  PolicyPorts,
  SessionKeyring,
  TokenRequest,
} from './ports.js';
import { openCookie, sealCookie, type CookieBinding } from './sign-in-cookies.js';
import { createMemoryPorts, ManualClock } from './testing/index.js';

/**
 * The sign-in flow in the engine against an in-memory provider that signs real ID tokens (jose): what needs a clock
 * or a provider misbehaving on purpose (userinfo revoked, a replayed nonce, a foreign audience) and the cookie keys'
 * binding and rotation. The data plane's sign-in.test.ts runs the same flow against a real provider over sockets.
 */

const issuer = 'https://idp.test';

class FakeProvider implements IdentityProviderClient {
  readonly codes = new Map<string, { nonce: string; challenge: string; redirectUri: string }>();
  tokenRequests: TokenRequest[] = [];
  userinfoStatus = 200;
  userinfoCalls = 0;
  email = 'alice@example.com';
  audience = 'gatehouse';
  replayNonce: string | undefined;
  /** When set, token answers carry `expires_in` and a refresh token, rotated on every refresh grant. */
  expiresIn: number | undefined;
  readonly liveRefreshTokens = new Set<string>();
  refreshes = 0;
  constructor(private readonly sign: (claims: Record<string, unknown>) => Promise<string>) {}

  discoveryDown = false;

  discover(issuerUrl: string): Promise<OpenIdProviderMetadata> {
    if (issuerUrl !== issuer || this.discoveryDown) return Promise.reject(new Error('unknown issuer'));
    return Promise.resolve({
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      userinfo_endpoint: `${issuer}/userinfo`,
    });
  }

  /** What the provider does when the user signs in: a code bound to the request's nonce and PKCE challenge. */
  authorize(location: string): string {
    const url = new URL(location);
    const code = `code-${this.codes.size}`;
    this.codes.set(code, {
      nonce: url.searchParams.get('nonce')!,
      challenge: url.searchParams.get('code_challenge')!,
      redirectUri: url.searchParams.get('redirect_uri')!,
    });
    return `code=${code}&state=${url.searchParams.get('state')}`;
  }

  async requestToken(_url: string, request: TokenRequest): Promise<{ status: number; body: Record<string, unknown> }> {
    this.tokenRequests.push(request);
    if (request.form['grant_type'] === 'refresh_token') {
      // Rotation with reuse detection: a refresh token works once.
      if (!this.liveRefreshTokens.delete(request.form['refresh_token'] ?? ''))
        return { status: 400, body: { error: 'invalid_grant' } };
      this.refreshes++;
      return { status: 200, body: { access_token: `access-r${this.refreshes}`, ...this.lifetime() } };
    }
    const grant = this.codes.get(request.form['code'] ?? '');
    if (grant === undefined) return { status: 400, body: { error: 'invalid_grant' } };
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(request.form['code_verifier']));
    if (
      Buffer.from(digest).toString('base64url') !== grant.challenge ||
      request.form['redirect_uri'] !== grant.redirectUri
    )
      return { status: 400, body: { error: 'invalid_grant' } };
    const now = Math.floor(clock.now() / 1000);
    const idToken = await this.sign({
      iss: issuer,
      aud: this.audience,
      sub: 'alice',
      nonce: this.replayNonce ?? grant.nonce,
      iat: now,
      exp: now + 300,
      groups: ['staff'],
    });
    return {
      status: 200,
      body: { access_token: 'access-1', token_type: 'Bearer', id_token: idToken, ...this.lifetime() },
    };
  }

  private lifetime(): Record<string, unknown> {
    if (this.expiresIn === undefined) return {};
    const refreshToken = `refresh-${this.liveRefreshTokens.size}-${crypto.randomUUID()}`;
    this.liveRefreshTokens.add(refreshToken);
    return { expires_in: this.expiresIn, refresh_token: refreshToken };
  }

  fetchUserinfo(_url?: string, _accessToken?: string): Promise<{ status: number; body: Record<string, unknown> }> {
    this.userinfoCalls++;
    return Promise.resolve({ status: this.userinfoStatus, body: { sub: 'alice', email: this.email, name: 'Alice' } });
  }
}

const clock = new ManualClock(Date.UTC(2026, 5, 1));
let provider: FakeProvider;
let ports: PolicyPorts;

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  provider = new FakeProvider((claims) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(privateKey),
  );
  ports = createMemoryPorts({ clock, jwks: new Map([[`${issuer}/jwks`, [jwk]]]), identityProviders: provider });
});

const oidcPolicy = (extra = '') =>
  compile(
    `on_http_request:
  - actions:
      - type: openid-connect
        config:
          issuer_url: ${issuer}
          client_id: gatehouse
          client_secret: s3cret
${extra}`,
    { endpointType: 'internal' },
  );

interface Sent {
  outcome: Outcome;
  results: Record<string, unknown>;
  setCookies: string[];
  upstreamCookie: string | undefined;
}

async function send(
  policy: CompiledPolicy,
  path: string,
  cookies: Map<string, string>,
  query = '',
  endpointId = 'ep_app',
): Promise<Sent> {
  const headers: HeaderMap = new Map([['host', ['app.example.com']]]);
  if (cookies.size > 0) headers.set('cookie', [[...cookies].map(([name, value]) => `${name}=${value}`).join('; ')]);
  const context = createPolicyContext(
    {
      endpoint: { id: endpointId, url: 'https://app.example.com', host: 'app.example.com', type: 'internal' },
      connection: { clientIp: '203.0.113.9', clientPort: 40000, serverIp: '10.0.0.1', serverPort: 443 },
      request: { method: 'GET', scheme: 'https', host: 'app.example.com', port: '443', path, query, headers },
    },
    ports,
  );
  const { outcome } = await evaluate(policy, 'on_http_request', context, ports);
  const setCookies = [
    ...(outcome.kind === 'respond' ? (outcome.response.headers.get('set-cookie') ?? []) : []),
    ...(context.directives.setCookies ?? []),
  ];
  for (const header of setCookies) {
    const [pair] = header.split(';');
    const name = pair!.slice(0, pair!.indexOf('='));
    const value = pair!.slice(pair!.indexOf('=') + 1);
    if (value === '') cookies.delete(name);
    else cookies.set(name, value);
  }
  return {
    outcome,
    results: context.actionResults,
    setCookies,
    upstreamCookie: context.request.headers.get('cookie')?.[0],
  };
}

async function signIn(policy: CompiledPolicy, cookies = new Map<string, string>()): Promise<Map<string, string>> {
  const first = await send(policy, '/start', cookies);
  if (first.outcome.kind !== 'respond') throw new Error('expected a redirect');
  const callbackQuery = provider.authorize(first.outcome.response.headers.get('location')![0]!);
  const callback = await send(policy, '/ngrok/auth/callback', cookies, callbackQuery);
  if (callback.outcome.kind !== 'respond' || callback.outcome.response.status !== 302)
    throw new Error(`sign-in failed: ${JSON.stringify(callback.outcome)}`);
  return cookies;
}

describe('openid-connect in the engine', () => {
  it('signs in, verifies the ID token, and exposes identity and claims to later rules', async () => {
    const policy = oidcPolicy();
    const cookies = await signIn(policy);
    expect(provider.tokenRequests.at(-1)?.basicAuth).toEqual({ clientId: 'gatehouse', clientSecret: 's3cret' });
    const answer = await send(policy, '/start', cookies);
    expect(answer.outcome.kind).toBe('continue');
    expect(answer.results['oidc']).toMatchObject({
      identity: { provider_user_id: 'alice', email: 'alice@example.com', name: 'Alice', claims: { groups: ['staff'] } },
      session: { timed_out: false, max_duration_reached: false },
      access_token: 'access-1',
    });
    expect(answer.upstreamCookie).toBeUndefined();
  });

  it('refuses an ID token for another audience or with another nonce', async () => {
    const policy = oidcPolicy();
    provider.audience = 'someone-else';
    await expect(signIn(policy)).rejects.toThrow(/AUTH_PROVIDER_REFUSED/);
    provider.audience = 'gatehouse';
    provider.replayNonce = 'a-nonce-from-another-flow';
    await expect(signIn(policy)).rejects.toThrow(/AUTH_PROVIDER_REFUSED/);
    provider.replayNonce = undefined;
  });

  it('reads userinfo again after the refresh interval; a revoked token ends the session', async () => {
    const policy = oidcPolicy('          userinfo_refresh_interval: 10m\n');
    const cookies = await signIn(policy);
    const calls = provider.userinfoCalls;
    clock.advance(5 * 60_000);
    expect((await send(policy, '/', cookies)).outcome.kind).toBe('continue');
    expect(provider.userinfoCalls).toBe(calls);

    clock.advance(6 * 60_000);
    provider.email = 'alice@new.example.com';
    const refreshed = await send(policy, '/', cookies);
    expect(provider.userinfoCalls).toBe(calls + 1);
    expect(refreshed.results['oidc']).toMatchObject({
      identity: { email: 'alice@new.example.com' },
      session: { userinfo_refreshed: true },
    });
    expect(refreshed.setCookies.some((cookie) => cookie.startsWith('gatehouse_session_oidc='))).toBe(true);
    provider.email = 'alice@example.com';

    clock.advance(11 * 60_000);
    provider.userinfoStatus = 401;
    const revoked = await send(policy, '/', cookies);
    expect(revoked.outcome.kind === 'respond' && revoked.outcome.response.status).toBe(302);
    provider.userinfoStatus = 200;
  });

  it("exposes ngrok's result variables: identity.id, the session id, expires_at, identity_token", async () => {
    const policy = oidcPolicy();
    const first = await send(policy, '/', await signIn(policy));
    const second = await send(policy, '/', await signIn(policy));
    const results = first.results['oidc'] as Record<string, unknown> & { identity: Record<string, unknown> };
    expect(results.identity['id']).toMatch(/^idt_[a-z2-7]{26}$/);
    // The same user of the same issuer is the same identity in every session; the session ids differ.
    expect((second.results['oidc'] as typeof results).identity['id']).toBe(results.identity['id']);
    expect(results.identity['current_session_id']).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((second.results['oidc'] as typeof results).identity['current_session_id']).not.toBe(
      results.identity['current_session_id'],
    );
    expect(results).toMatchObject({
      expires_at: new Date(clock.now() + 168 * 3_600_000).toISOString(),
      session_timed_out: false,
      session_max_duration_reached: false,
      userinfo_refreshed: false,
    });
    expect(String(results['identity_token']).split('.')).toHaveLength(3);
  });

  it('refreshes an expired access token with the refresh token, which stays inside the sealed cookie', async () => {
    provider.expiresIn = 600;
    try {
      const policy = oidcPolicy('          userinfo_refresh_interval: 1h\n');
      const cookies = await signIn(policy);
      const fresh = await send(policy, '/', cookies);
      expect(fresh.results['oidc']).toMatchObject({ access_token: 'access-1' });
      const sealed = await openCookie(
        ports.sessionKeys,
        { endpointId: 'ep_app', actionType: 'openid-connect', authId: 'oidc', purpose: 'session' },
        cookies.get('gatehouse_session_oidc')!,
      );
      expect(sealed?.['refresh_token']).toMatch(/^refresh-/);
      // Not a policy variable: no rule, header or log line can carry it anywhere.
      expect(JSON.stringify(fresh.results)).not.toContain('refresh-');
      const beforeRefresh = new Map(cookies);

      clock.advance(10 * 60_000);
      const refreshes = provider.refreshes;
      const refreshed = await send(policy, '/', cookies);
      expect(refreshed.outcome.kind).toBe('continue');
      expect(provider.refreshes).toBe(refreshes + 1);
      const grant = provider.tokenRequests.at(-1)!;
      expect(grant.form).toMatchObject({ grant_type: 'refresh_token', refresh_token: sealed?.['refresh_token'] });
      expect(grant.basicAuth).toEqual({ clientId: 'gatehouse', clientSecret: 's3cret' });
      expect(refreshed.results['oidc']).toMatchObject({ access_token: `access-r${refreshes + 1}` });
      expect(JSON.stringify(refreshed.results)).not.toContain('refresh-');
      // The new tokens are sealed into a renewed cookie; within their lifetime no further refresh happens.
      expect(refreshed.setCookies.some((cookie) => cookie.startsWith('gatehouse_session_oidc='))).toBe(true);
      await send(policy, '/', cookies);
      expect(provider.refreshes).toBe(refreshes + 1);

      // The cookie from before the refresh holds a rotated-away refresh token: the provider refuses it, sign in again.
      clock.advance(10 * 60_000);
      const replayed = await send(policy, '/', beforeRefresh);
      expect(replayed.outcome.kind === 'respond' && replayed.outcome.response.status).toBe(302);
      expect(provider.refreshes).toBe(refreshes + 1);
    } finally {
      provider.expiresIn = undefined;
    }
  });

  it('makes one refresh for requests that arrive together with the same cookie (rotation refuses a second)', async () => {
    provider.expiresIn = 600;
    try {
      const policy = oidcPolicy();
      const cookies = await signIn(policy);
      clock.advance(10 * 60_000);
      const refreshes = provider.refreshes;
      const answers = await Promise.all([1, 2, 3].map(() => send(policy, '/', new Map(cookies))));
      expect(answers.map((answer) => answer.outcome.kind)).toEqual(['continue', 'continue', 'continue']);
      expect(provider.refreshes).toBe(refreshes + 1);
      // A request a moment later that still carries the old cookie gets the same new tokens, not a refusal.
      clock.advance(5_000);
      const late = await send(policy, '/', new Map(cookies));
      expect(late.outcome.kind).toBe('continue');
      expect(late.results['oidc']).toMatchObject({ access_token: `access-r${refreshes + 1}` });
      expect(provider.refreshes).toBe(refreshes + 1);
    } finally {
      provider.expiresIn = undefined;
    }
  });

  it('fails closed while the provider is down at refresh time, and refreshes once it is back', async () => {
    provider.expiresIn = 600;
    try {
      const policy = oidcPolicy();
      const cookies = await signIn(policy);
      clock.advance(10 * 60_000);
      provider.discoveryDown = true;
      const down = await send(policy, '/', cookies);
      expect(down.outcome.kind === 'respond' && down.outcome.errorCode).toBe('AUTH_PROVIDER_UNAVAILABLE');
      provider.discoveryDown = false;
      const refreshes = provider.refreshes;
      const back = await send(policy, '/', cookies);
      expect(back.outcome.kind).toBe('continue');
      expect(provider.refreshes).toBe(refreshes + 1);
    } finally {
      provider.expiresIn = undefined;
      provider.discoveryDown = false;
    }
  });

  it('refreshes once when userinfo refuses an access token before its announced expiry', async () => {
    provider.expiresIn = 3600;
    let restore = (): unknown => undefined;
    try {
      const policy = oidcPolicy('          userinfo_refresh_interval: 1m\n');
      const cookies = await signIn(policy);
      clock.advance(2 * 60_000);
      const refreshes = provider.refreshes;
      const original = provider.fetchUserinfo.bind(provider);
      restore = () => (provider.fetchUserinfo = original);
      provider.fetchUserinfo = (_url?: string, token?: string) => {
        provider.userinfoCalls++;
        // The provider revoked access-1 early; only a refreshed token is accepted.
        const status = token === 'access-1' ? 401 : 200;
        return Promise.resolve({ status, body: { sub: 'alice', email: 'alice@example.com', name: 'Alice' } });
      };
      const answer = await send(policy, '/', cookies);
      expect(answer.outcome.kind).toBe('continue');
      expect(provider.refreshes).toBe(refreshes + 1);
      expect(answer.results['oidc']).toMatchObject({
        userinfo_refreshed: true,
        access_token: `access-r${refreshes + 1}`,
      });
    } finally {
      provider.expiresIn = undefined;
      restore();
    }
  });

  it('fails closed when userinfo is down at refresh time', async () => {
    const policy = oidcPolicy('          userinfo_refresh_interval: 1m\n');
    const cookies = await signIn(policy);
    clock.advance(2 * 60_000);
    provider.userinfoStatus = 503;
    const answer = await send(policy, '/', cookies);
    provider.userinfoStatus = 200;
    expect(answer.outcome.kind === 'respond' && answer.outcome.errorCode).toBe('AUTH_PROVIDER_UNAVAILABLE');
  });

  it('never sends the browser off the host after sign-in (a path such as //evil.example comes back as /)', async () => {
    const policy = oidcPolicy();
    const cookies = new Map<string, string>();
    const first = await send(policy, '//evil.example/x', cookies);
    if (first.outcome.kind !== 'respond') throw new Error('expected a redirect');
    const callbackQuery = provider.authorize(first.outcome.response.headers.get('location')![0]!);
    const callback = await send(policy, '/ngrok/auth/callback', cookies, callbackQuery);
    expect(callback.outcome.kind === 'respond' && callback.outcome.response.headers.get('location')).toEqual(['/']);
  });

  it('sends a session back to sign in once the action names another client or issuer (as ngrok re-evaluates)', async () => {
    const cookies = await signIn(oidcPolicy());
    expect((await send(oidcPolicy(), '/', cookies)).outcome.kind).toBe('continue');
    const otherClient = compile(
      `on_http_request:
  - actions:
      - type: openid-connect
        config: { issuer_url: "${issuer}", client_id: another-client, client_secret: s3cret }`,
      { endpointType: 'internal' },
    );
    const answer = await send(otherClient, '/', cookies);
    expect(answer.outcome.kind === 'respond' && answer.outcome.response.status).toBe(302);
  });

  it('does not accept a session sealed for another endpoint', async () => {
    const policy = oidcPolicy();
    const cookies = await signIn(policy);
    const elsewhere = await send(policy, '/', cookies, '', 'ep_other');
    expect(elsewhere.outcome.kind === 'respond' && elsewhere.outcome.response.status).toBe(302);
  });
});

describe('oauth presets', () => {
  it('oauth refreshes the same way, with the client credentials in the form, and names results as ngrok does', async () => {
    provider.expiresIn = 600;
    try {
      const policy = compile(
        `on_http_request:
  - actions:
      - type: oauth
        config:
          provider: custom
          client_id: gatehouse
          client_secret: s3cret
          endpoints: { authorization_url: "${issuer}/authorize", token_url: "${issuer}/token", userinfo_url: "${issuer}/userinfo" }`,
        { endpointType: 'internal' },
      );
      const cookies = await signIn(policy);
      const first = await send(policy, '/', cookies);
      expect(first.results['oauth']).toMatchObject({
        access_token: 'access-1',
        identity: { id: expect.stringMatching(/^idt_[a-z2-7]{26}$/) as unknown, provider_user_id: 'alice' },
        session_timed_out: false,
      });
      const identity = (first.results['oauth'] as { identity: Record<string, unknown> }).identity;
      expect(identity['current_provider_session_id']).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // The ID token some OAuth providers return is not kept: only openid-connect exposes one.
      expect(first.results['oauth']).not.toHaveProperty('identity_token');

      clock.advance(10 * 60_000);
      const refreshes = provider.refreshes;
      const refreshed = await send(policy, '/', cookies);
      expect(provider.refreshes).toBe(refreshes + 1);
      expect(provider.tokenRequests.at(-1)!.form).toMatchObject({
        grant_type: 'refresh_token',
        client_id: 'gatehouse',
        client_secret: 's3cret',
      });
      expect(refreshed.results['oauth']).toMatchObject({ access_token: `access-r${refreshes + 1}` });
    } finally {
      provider.expiresIn = undefined;
    }
  });

  it('sends the browser to the preset provider with its base scopes plus the policy scopes', async () => {
    const policy = compile(
      `on_http_request:
  - actions:
      - type: oauth
        config: { provider: github, client_id: Iv1.abc, client_secret: s3cret, scopes: [read:org] }`,
      { endpointType: 'internal' },
    );
    const answer = await send(policy, '/repos', new Map());
    if (answer.outcome.kind !== 'respond') throw new Error('expected a redirect');
    const location = new URL(answer.outcome.response.headers.get('location')![0]!);
    expect(`${location.origin}${location.pathname}`).toBe('https://github.com/login/oauth/authorize');
    expect(location.searchParams.get('scope')).toBe('read:user user:email read:org');
    expect(location.searchParams.get('redirect_uri')).toBe('https://app.example.com/ngrok/auth/callback');
    expect(location.searchParams.has('nonce')).toBe(false);
    expect(answer.setCookies[0]).toMatch(
      /^gatehouse_flow_github=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=600; Secure$/,
    );
  });
});

describe('sealed cookies', () => {
  const binding: CookieBinding = {
    endpointId: 'ep_1',
    actionType: 'openid-connect',
    authId: 'oidc',
    purpose: 'session',
  };
  const keyring = (...ids: string[]): SessionKeyring => ({
    secrets: ids.map((id) => ({ id, secret: new TextEncoder().encode(`secret of ${id}`) })),
  });

  it('opens with any secret of the keyring, so a new secret can go first while the old one still opens sessions', async () => {
    const sealed = await sealCookie(keyring('old'), binding, { sub: 'alice' });
    expect(await openCookie(keyring('new', 'old'), binding, sealed)).toEqual({ sub: 'alice' });
    expect(await openCookie(keyring('new'), binding, sealed)).toBeUndefined();
    const resealed = await sealCookie(keyring('new', 'old'), binding, { sub: 'alice' });
    expect(await openCookie(keyring('new'), binding, resealed)).toEqual({ sub: 'alice' });
  });

  it('is bound to its endpoint, action, auth_id and purpose, and refuses any change', async () => {
    const ring = keyring('k');
    const sealed = await sealCookie(ring, binding, { sub: 'alice' });
    expect(await openCookie(ring, { ...binding, endpointId: 'ep_2' }, sealed)).toBeUndefined();
    expect(await openCookie(ring, { ...binding, actionType: 'oauth' }, sealed)).toBeUndefined();
    expect(await openCookie(ring, { ...binding, authId: 'other' }, sealed)).toBeUndefined();
    expect(await openCookie(ring, { ...binding, purpose: 'flow' }, sealed)).toBeUndefined();
    const parts = sealed.split('.');
    const ciphertext = parts[3]!;
    parts[3] = (ciphertext[0] === 'A' ? 'B' : 'A') + ciphertext.slice(1);
    expect(await openCookie(ring, binding, parts.join('.'))).toBeUndefined();
    expect(await openCookie(ring, binding, 'not-a-cookie')).toBeUndefined();
  });
});
