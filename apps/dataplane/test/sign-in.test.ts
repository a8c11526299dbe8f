import { randomBytes } from 'node:crypto';
import { deriveDataplaneSecretsKey, sealForDataplanes } from '@gatehouse/runtime';
import { ManualClock } from '@gatehouse/traffic-policy/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestBrowser, setCookies } from './helpers/browser.js';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { startOpenIdProvider, type TestOpenIdProvider } from './helpers/openid-provider.js';
import { listen, startEchoUpstream, type EchoedRequest, type RunningServer } from './helpers/upstreams.js';

const CLIENT_SECRET = 'client-secret-from-the-vault-0123456789';

/**
 * openid-connect and oauth end to end: a real OpenID Provider (oidc-provider) on a socket, the data plane's HTTP
 * identity-provider port through its outbound rules, and a browser with a cookie jar following every redirect.
 */
describe('browser sign-in against a real OpenID Provider', () => {
  const config = new TestConfigServer(undefined);
  const clock = new ManualClock(Date.now());
  let idp: TestOpenIdProvider;
  /** A second provider with refresh tokens (rotated) and access tokens that live a minute. */
  let refreshingIdp: TestOpenIdProvider;
  let refreshingApp: string;
  let echo: RunningServer;
  let gateway: RunningDataplane;
  let deadIssuer: string;
  let app: string;
  let browser: TestBrowser;

  const policy = (issuer: string) => `on_http_request:
  - actions:
      - type: openid-connect
        config:
          issuer_url: "${issuer}"
          client_id: gatehouse
          client_secret: "\${secrets.get('idp', 'client-secret')}"
          max_session_duration: 8h
          idle_session_duration: 30m
  - expressions:
      - "!actions.ngrok.oidc.identity.email.endsWith('@example.com')"
    actions:
      - type: deny
        config: { status_code: 403, body: "not for \${actions.ngrok.oidc.identity.email}" }
  - actions:
      - type: add-headers
        config: { headers: { x-user-email: "\${actions.ngrok.oidc.identity.email}", x-user-id: "\${actions.ngrok.oidc.identity.provider_user_id}" } }
      - type: forward-internal
        config: { url: "https://echo.internal" }
`;

  beforeAll(async () => {
    idp = await startOpenIdProvider({
      alice: { email: 'alice@example.com', name: 'Alice' },
      mallory: { email: 'mallory@evil.test', name: 'Mallory' },
    });
    refreshingIdp = await startOpenIdProvider(
      { alice: { email: 'alice@example.com', name: 'Alice' } },
      { accessTokenTtl: 60, refreshTokens: true },
    );
    const closed = await listen(() => undefined);
    deadIssuer = closed.url;
    await closed.close();
    echo = await startEchoUpstream();
    await config.start();
    const transportKey = deriveDataplaneSecretsKey(config.token);
    const secrets = [
      {
        vault: 'idp',
        name: 'client-secret',
        sealed: sealForDataplanes(transportKey, 'idp', 'client-secret', CLIENT_SECRET),
      },
    ];
    await config.upsertEndpoint({ id: 'ep_echo', url: 'https://echo.internal', upstream_url: echo.url });
    await config.upsertEndpoint({
      id: 'ep_app',
      url: 'https://app.example.com',
      traffic_policy: policy(idp.issuer),
      secrets,
    });
    await config.upsertEndpoint({
      id: 'ep_down',
      url: 'https://down.example.com',
      traffic_policy: policy(deadIssuer),
      secrets,
    });
    await config.upsertEndpoint({
      id: 'ep_oauth',
      url: 'https://oauth.example.com',
      traffic_policy: `on_http_request:
  - actions:
      - type: oauth
        config:
          provider: custom
          client_id: gatehouse-oauth
          client_secret: "\${secrets.get('idp', 'client-secret')}"
          scopes: [openid, email, profile]
          endpoints:
            authorization_url: "${idp.issuer}/auth"
            token_url: "${idp.issuer}/token"
            userinfo_url: "${idp.issuer}/me"
      - type: add-headers
        config: { headers: { x-user-name: "\${actions.ngrok.oauth.identity.name}" } }
      - type: forward-internal
        config: { url: "https://echo.internal" }
`,
      secrets,
    });
    await config.upsertEndpoint({
      id: 'ep_refresh',
      url: 'https://refresh.example.com',
      traffic_policy: `on_http_request:
  - actions:
      - type: openid-connect
        config:
          issuer_url: "${refreshingIdp.issuer}"
          client_id: gatehouse-refresh
          client_secret: "\${secrets.get('idp', 'client-secret')}"
          userinfo_refresh_interval: 2m
      - type: add-headers
        config:
          headers:
            x-access-token: "\${actions.ngrok.oidc.access_token}"
            x-identity-id: "\${actions.ngrok.oidc.identity.id}"
            x-session-id: "\${actions.ngrok.oidc.identity.current_session_id}"
            x-userinfo-refreshed: "\${string(actions.ngrok.oidc.userinfo_refreshed)}"
      - type: forward-internal
        config: { url: "https://echo.internal" }
`,
      secrets,
    });
    gateway = await startDataplane(config, {
      secretsKey: transportKey,
      clock,
      sessionSecrets: [randomBytes(32)],
    });
    app = `http://app.example.com:${gateway.port}`;
    refreshingApp = `http://refresh.example.com:${gateway.port}`;
    refreshingIdp.register([
      {
        client_id: 'gatehouse-refresh',
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${refreshingApp}/ngrok/auth/callback`],
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
      },
    ]);
    idp.register([
      {
        client_id: 'gatehouse',
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${app}/ngrok/auth/callback`],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        client_id: 'gatehouse-oauth',
        client_secret: CLIENT_SECRET,
        redirect_uris: [`http://oauth.example.com:${gateway.port}/ngrok/auth/callback`],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ]);
  });

  afterAll(async () => {
    await gateway?.stop();
    await config.close();
    await idp?.close();
    await refreshingIdp?.close();
    await echo?.close();
  });

  beforeEach(() => {
    browser = new TestBrowser();
    clock.set(Date.now());
    idp.signInAs = 'alice';
  });

  /** Signs in through the provider and lands on `path`; the last response is the upstream's. */
  const signIn = (path = '/reports?quarter=3') => browser.open(`${app}${path}`);

  it('sends an unauthenticated browser to the provider with PKCE, state and nonce in a sealed flow cookie', async () => {
    const first = await browser.send(new URL(`${app}/reports?quarter=3`));
    expect(first.status).toBe(302);
    const location = new URL(first.headers['location'] as string);
    expect(`${location.origin}${location.pathname}`).toBe(`${idp.issuer}/auth`);
    expect(location.searchParams.get('response_type')).toBe('code');
    expect(location.searchParams.get('client_id')).toBe('gatehouse');
    expect(location.searchParams.get('redirect_uri')).toBe(`${app}/ngrok/auth/callback`);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(location.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get('scope')?.split(' ')).toEqual(['openid', 'profile', 'email']);
    const flowCookie = setCookies(first).find((cookie) => cookie.startsWith('gatehouse_flow_oidc='));
    expect(flowCookie).toMatch(/HttpOnly/);
    expect(flowCookie).toMatch(/SameSite=Lax/);
    // Sealed: the verifier, state and nonce are not readable in it.
    const value = flowCookie!.slice(flowCookie!.indexOf('=') + 1, flowCookie!.indexOf(';'));
    expect(value.split('.')).toHaveLength(5);
    expect(value).not.toContain(location.searchParams.get('state'));
  });

  it('completes the sign-in: the callback sets the session and lands on the URL first asked for', async () => {
    const landed = await signIn();
    expect(landed.status).toBe(200);
    expect(landed.url).toBe(`${app}/reports?quarter=3`);
    const upstream = JSON.parse(landed.body) as EchoedRequest;
    expect(upstream.url).toBe('/reports?quarter=3');
    expect(upstream.headers['x-user-email']).toBe('alice@example.com');
    expect(upstream.headers['x-user-id']).toBe('alice');
    // The gateway's cookies are its own: the upstream never sees them.
    expect(String(upstream.headers['cookie'] ?? '')).not.toContain('gatehouse_');
    expect(idp.tokenRequests).toBeGreaterThan(0);
    const session = browser.history.find((response) => response.url.startsWith(`${app}/ngrok/auth/callback`));
    expect(session?.status).toBe(302);
    expect(setCookies(session!).some((cookie) => /^gatehouse_session_oidc=[^;]+; Path=\/; HttpOnly/.test(cookie))).toBe(
      true,
    );

    // The session now carries later requests without the provider.
    const before = idp.authorizationRequests.length;
    const again = await browser.open(`${app}/other`);
    expect(again.status).toBe(200);
    expect(idp.authorizationRequests.length).toBe(before);
  });

  it('makes the identity visible to later rules: a user outside the email domain is denied', async () => {
    idp.signInAs = 'mallory';
    const landed = await signIn('/');
    expect(landed.status).toBe(403);
    expect(landed.body).toBe('not for mallory@evil.test');
  });

  it('refuses a tampered session cookie and sends the browser to sign in again', async () => {
    await signIn();
    const sealed = (await browser.cookie(app, 'gatehouse_session_oidc'))!;
    const flipped = sealed.slice(0, -5) + (sealed.at(-5) === 'A' ? 'B' : 'A') + sealed.slice(-4);
    await browser.setCookieValue(app, 'gatehouse_session_oidc', flipped);
    const answer = await browser.send(new URL(`${app}/reports`));
    expect(answer.status).toBe(302);
    expect(answer.headers['location']).toMatch(new RegExp(`^${idp.issuer}/auth\\?`));
  });

  it('ends a session after the idle limit and after the maximum lifetime, and renews it while in use', async () => {
    await signIn();
    clock.advance(10 * 60_000);
    const used = await browser.send(new URL(`${app}/reports`));
    expect(used.status).toBe(200);
    // Used after more than a tenth of the idle limit: the cookie is renewed, so the idle clock restarts.
    expect(setCookies(used).some((cookie) => cookie.startsWith('gatehouse_session_oidc='))).toBe(true);
    clock.advance(25 * 60_000);
    expect((await browser.send(new URL(`${app}/reports`))).status).toBe(200);
    clock.advance(31 * 60_000);
    expect((await browser.send(new URL(`${app}/reports`))).status).toBe(302);

    browser = new TestBrowser();
    clock.set(Date.now());
    await signIn();
    for (let step = 0; step < 16; step++) {
      clock.advance(29 * 60_000);
      const answer = await browser.send(new URL(`${app}/reports`));
      if (step * 29 + 29 < 8 * 60) expect(answer.status, `after ${(step + 1) * 29} minutes`).toBe(200);
      else expect(answer.status, `after ${(step + 1) * 29} minutes`).toBe(302);
    }
  });

  it('refuses a callback whose state does not match the flow, and one without a flow cookie', async () => {
    const toProvider = await browser.open(`${app}/reports`, {
      stopWhen: (next) => next.pathname === '/ngrok/auth/callback',
    });
    const callback = new URL(toProvider.headers['location'] as string);
    expect(callback.searchParams.get('code')).toBeTruthy();
    callback.searchParams.set('state', 'forged-state');
    const refused = await browser.send(callback);
    expect(refused.status).toBe(400);
    expect(refused.headers['gatehouse-error-code']).toBe('AUTH_STATE_INVALID');

    const stranger = await new TestBrowser().send(callback);
    expect(stranger.status).toBe(400);
    expect(stranger.headers['gatehouse-error-code']).toBe('AUTH_STATE_INVALID');
  });

  it('logs out: the session cookie is cleared and the next request signs in again', async () => {
    await signIn();
    const out = await browser.send(new URL(`${app}/ngrok/logout`));
    expect(out.status).toBe(200);
    expect(setCookies(out)).toContain('gatehouse_session_oidc=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0');
    expect(await browser.cookie(app, 'gatehouse_session_oidc')).toBeUndefined();
    expect((await browser.send(new URL(`${app}/reports`))).status).toBe(302);
  });

  it('fails closed with AUTH_PROVIDER_UNAVAILABLE when the provider cannot be reached', async () => {
    const answer = await browser.send(new URL(`http://down.example.com:${gateway.port}/reports`));
    expect(answer.status).toBe(502);
    expect(answer.headers['gatehouse-error-code']).toBe('AUTH_PROVIDER_UNAVAILABLE');
    expect(answer.body).not.toContain(deadIssuer);
  });

  it('refreshes an expired access token with the rotated refresh token, which never leaves the sealed cookie', async () => {
    const landed = await browser.open(`${refreshingApp}/`);
    expect(landed.status).toBe(200);
    const first = JSON.parse(landed.body) as EchoedRequest;
    const firstToken = String(first.headers['x-access-token']);
    expect(firstToken).not.toBe('');
    expect(first.headers['x-identity-id']).toMatch(/^idt_[a-z2-7]{26}$/);
    const sealedBefore = (await browser.cookie(refreshingApp, 'gatehouse_session_oidc'))!;

    // The provider announced a 60 s access token: three minutes on, the gateway trades the refresh token for a new
    // one, then reads userinfo with it (the provider checks that token for real).
    clock.advance(3 * 60_000);
    const refreshesBefore = refreshingIdp.refreshGrants;
    const authorizationsBefore = refreshingIdp.authorizationRequests.length;
    const later = await browser.send(new URL(`${refreshingApp}/later`));
    expect(later.status).toBe(200);
    expect(refreshingIdp.refreshGrants).toBe(refreshesBefore + 1);
    expect(refreshingIdp.authorizationRequests.length).toBe(authorizationsBefore);
    const second = JSON.parse(later.body) as EchoedRequest;
    expect(second.headers['x-access-token']).not.toBe(firstToken);
    expect(second.headers['x-userinfo-refreshed']).toBe('true');
    expect(second.headers['x-identity-id']).toBe(first.headers['x-identity-id']);
    expect(second.headers['x-session-id']).toBe(first.headers['x-session-id']);
    expect(setCookies(later).some((cookie) => cookie.startsWith('gatehouse_session_oidc='))).toBe(true);
    // Nothing the upstream received carries a refresh token (the sealed cookie was stripped, no variable holds one).
    expect(refreshingIdp.issuedRefreshTokens.length).toBeGreaterThanOrEqual(2);
    for (const refreshToken of refreshingIdp.issuedRefreshTokens) {
      expect(landed.body).not.toContain(refreshToken);
      expect(later.body).not.toContain(refreshToken);
    }
    expect(String(second.headers['cookie'] ?? '')).not.toContain('gatehouse_');

    // The cookie from before the refresh holds the refresh token the provider rotated away: presenting it again is
    // a reuse the provider refuses, so that browser signs in again.
    const replaying = new TestBrowser();
    await replaying.setCookieValue(refreshingApp, 'gatehouse_session_oidc', sealedBefore);
    clock.advance(60_000);
    const replayed = await replaying.send(new URL(`${refreshingApp}/later`));
    expect(replayed.status).toBe(302);
    expect(replayed.headers['location']).toMatch(new RegExp(`^${refreshingIdp.issuer}/auth\\?`));
    expect(refreshingIdp.refreshGrants).toBe(refreshesBefore + 1);
  });

  it('oauth with custom endpoints signs in with the identity read from userinfo', async () => {
    const landed = await browser.open(`http://oauth.example.com:${gateway.port}/inbox`);
    expect(landed.status).toBe(200);
    const upstream = JSON.parse(landed.body) as EchoedRequest;
    expect(upstream.url).toBe('/inbox');
    expect(upstream.headers['x-user-name']).toBe('Alice');
    const authorization = idp.authorizationRequests.at(-1)!;
    expect(authorization.get('client_id')).toBe('gatehouse-oauth');
    expect(authorization.get('code_challenge_method')).toBe('S256');
    expect(authorization.has('nonce')).toBe(false);
  });
});
