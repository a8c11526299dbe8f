/**
 * The OAuth providers ngrok's `oauth` action names, with their well-known endpoints. ngrok can sign users in through
 * its own managed applications; Gatehouse has none, so a policy brings its own client (client_id and client_secret).
 * Identity comes from each provider's userinfo endpoint (sign-in.ts `identityOf` maps the field names).
 */
export interface OAuthProviderPreset {
  authorizationUrl: string;
  tokenUrl: string;
  userinfoUrl: string;
  /** Requested before the policy's `scopes` (ngrok's `scopes` are additional ones). */
  scopes: readonly string[];
  authorizationParams?: Readonly<Record<string, string>>;
}

export const oauthProviders = {
  amazon: {
    authorizationUrl: 'https://www.amazon.com/ap/oa',
    tokenUrl: 'https://api.amazon.com/auth/o2/token',
    userinfoUrl: 'https://api.amazon.com/user/profile',
    scopes: ['profile'],
  },
  facebook: {
    authorizationUrl: 'https://www.facebook.com/v19.0/dialog/oauth',
    tokenUrl: 'https://graph.facebook.com/v19.0/oauth/access_token',
    userinfoUrl: 'https://graph.facebook.com/me?fields=id,name,email',
    scopes: ['email', 'public_profile'],
  },
  github: {
    authorizationUrl: 'https://github.com/login/oauth/authorize',
    tokenUrl: 'https://github.com/login/oauth/access_token',
    userinfoUrl: 'https://api.github.com/user',
    scopes: ['read:user', 'user:email'],
  },
  gitlab: {
    authorizationUrl: 'https://gitlab.com/oauth/authorize',
    tokenUrl: 'https://gitlab.com/oauth/token',
    userinfoUrl: 'https://gitlab.com/oauth/userinfo',
    scopes: ['openid', 'profile', 'email'],
  },
  google: {
    authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenUrl: 'https://oauth2.googleapis.com/token',
    userinfoUrl: 'https://openidconnect.googleapis.com/v1/userinfo',
    scopes: ['openid', 'email', 'profile'],
  },
  linkedin: {
    authorizationUrl: 'https://www.linkedin.com/oauth/v2/authorization',
    tokenUrl: 'https://www.linkedin.com/oauth/v2/accessToken',
    userinfoUrl: 'https://api.linkedin.com/v2/userinfo',
    scopes: ['openid', 'profile', 'email'],
  },
  microsoft: {
    authorizationUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    tokenUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    userinfoUrl: 'https://graph.microsoft.com/oidc/userinfo',
    scopes: ['openid', 'profile', 'email'],
  },
  twitch: {
    authorizationUrl: 'https://id.twitch.tv/oauth2/authorize',
    tokenUrl: 'https://id.twitch.tv/oauth2/token',
    userinfoUrl: 'https://id.twitch.tv/oauth2/userinfo',
    scopes: ['openid', 'user:read:email'],
    // Twitch's userinfo answers only the claims the authorization request asked for.
    authorizationParams: { claims: '{"userinfo":{"email":null,"email_verified":null,"preferred_username":null}}' },
  },
} as const satisfies Record<string, OAuthProviderPreset>;

export type OAuthProviderName = keyof typeof oauthProviders;

export const oauthProviderNames = Object.keys(oauthProviders) as [OAuthProviderName, ...OAuthProviderName[]];
