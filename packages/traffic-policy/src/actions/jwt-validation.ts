import { z } from 'zod';
import { defineAction } from '../action.js';
import { continueOutcome, type PolicyContext } from '../context.js';
import { supportedJwsAlgorithms, verifyJwt, type JwtVerification } from '../jws.js';
import type { PolicyPorts } from '../ports.js';
import { enforceField, headerValue, respondWithError } from './shared.js';

const allowList = (description: string) =>
  z
    .strictObject({
      allow_list: z
        .array(z.strictObject({ value: z.string().min(1).max(2048).describe('An exact value.') }))
        .min(1)
        .max(20)
        .describe(description),
    })
    .describe(description);

const tokenSchema = z.strictObject({
  type: z
    .enum(['jwt', 'access_token', 'at+jwt', 'id_token', 'it+jwt', 'plain'])
    .default('jwt')
    .describe('What the token is; all kinds are verified as JWS-signed JWTs.'),
  method: z
    .enum(['header', 'body'])
    .default('header')
    .describe('Where the token is: a request header or a JSON/form body field.'),
  name: z.string().min(1).max(256).default('Authorization').describe('The header or body field name.'),
  prefix: z
    .string()
    .max(64)
    .default('Bearer ')
    .describe('Text before the token, matched case-insensitively (e.g. "Bearer ").'),
});

const configSchema = z.strictObject({
  issuer: allowList('Accepted `iss` values; a token must match one exactly (a trailing slash matters).'),
  audience: allowList('Accepted `aud` values; when set, the token must name one of them.').optional(),
  http: z
    .strictObject({
      tokens: z.array(tokenSchema).min(1).max(5).describe('Tokens to find and verify; all must be present and valid.'),
      www_authenticate: z
        .strictObject({
          realm: z.string().max(256).optional().describe('realm parameter of the challenge.'),
          resource_metadata: z
            .url()
            .optional()
            .describe(
              'URL of the OAuth Protected Resource Metadata (RFC 9728); MCP clients read it from the 401 challenge.',
            ),
          scope: z.string().max(1024).optional().describe('scope parameter of the challenge.'),
        })
        .optional()
        .describe('Parameters of the `WWW-Authenticate: Bearer` challenge sent with a 401.'),
    })
    .optional()
    .describe('Where to read tokens (default: the Authorization header with prefix "Bearer ").'),
  jws: z
    .strictObject({
      allowed_algorithms: z
        .array(z.enum(supportedJwsAlgorithms))
        .min(1)
        .default(['RS256'])
        .describe('Accepted signature algorithms (default RS256); "none" is never accepted.'),
      keys: z
        .strictObject({
          sources: z
            .strictObject({
              additional_jkus: z
                .array(z.string().refine((text) => text.includes('${') || isUrl(text), 'must be a URL'))
                .max(5)
                .optional()
                .describe('JWKS URLs to fetch signing keys from (cached); `${}` may use secrets.get.'),
            })
            .optional()
            .describe('Remote key sources.'),
          static: z
            .array(z.record(z.string(), z.unknown()))
            .max(20)
            .optional()
            .describe(
              'Signing keys written inline as JWKs (public keys, or `oct` secrets for HS*); string members may use `${}` with secrets.get.',
            ),
        })
        .describe('Where signing keys come from; at least one JWKS URL or static key.'),
    })
    .describe('Signature settings.'),
  enforce: enforceField,
});

type Config = z.infer<typeof configSchema>;

export const jwtValidationAction = defineAction({
  type: 'jwt-validation',
  description:
    'Verifies JWTs (signature, issuer, audience, lifetime); answers 401 with a Bearer challenge when they fail.',
  phases: ['on_http_request'],
  resultName: 'jwt_validation',
  isAuthentication: true,
  configSchema,
  configRequired: true,
  needsRequestBody: (config) => (config.http?.tokens ?? []).some((token) => token.method === 'body'),
  alwaysTerminates: () => false,
  compile(config, context) {
    // Issuers, audiences, JWKS URLs and static keys may come from secrets: computed here, when the configuration is
    // applied, so a request never interpolates them and a `${…}` is never compared as text.
    let unavailable: string | undefined;
    const constant = (text: string, field: (string | number)[]): string => {
      const computed = context.constant(text, field);
      if (computed.known) return computed.text;
      unavailable ??= computed.reason;
      return '';
    };
    const jkus = (config.jws.keys.sources?.additional_jkus ?? []).map((url, index) => {
      const text = constant(url, ['jws', 'keys', 'sources', 'additional_jkus', index]);
      if (text !== '' && !isUrl(text)) {
        const problem = `JWKS URL ${index + 1} computed from secrets is not a URL`;
        context.secretFieldUnusable(problem, ['jws', 'keys', 'sources', 'additional_jkus', index]);
        unavailable ??= problem;
      }
      return text;
    });
    const staticKeys = (config.jws.keys.static ?? []).map((key, index) =>
      Object.fromEntries(
        Object.entries(key).map(([member, value]) => [
          member,
          typeof value === 'string' ? constant(value, ['jws', 'keys', 'static', index, member]) : value,
        ]),
      ),
    );
    const issuers = config.issuer.allow_list.map((entry, index) =>
      constant(entry.value, ['issuer', 'allow_list', index, 'value']),
    );
    const audiences = config.audience?.allow_list.map((entry, index) =>
      constant(entry.value, ['audience', 'allow_list', index, 'value']),
    );
    if (jkus.length === 0 && staticKeys.length === 0) {
      context.issue(
        'POLICY_CONFIG_INVALID',
        'jws.keys needs sources.additional_jkus or static keys to verify signatures',
        ['jws', 'keys'],
      );
    }
    const tokens = config.http?.tokens ?? [tokenSchema.parse({})];
    // RFC 6750 §3.1: a request without any token gets the challenge without an error code.
    const challengeWithoutToken = buildChallenge(config, false);
    const challengeWithBadToken = buildChallenge(config, true);
    const options = {
      allowedAlgorithms: config.jws.allowed_algorithms,
      issuers,
      audiences,
    };
    if (unavailable !== undefined) {
      const reason = unavailable;
      // Fail closed: a check whose issuer or key cannot be known must not accept (or reject by accident) any token.
      return () => ({
        outcome: respondWithError('SECRET_UNAVAILABLE', 'Gatehouse: the authentication settings are not available.'),
        detail: reason,
      });
    }
    return async (request, ports) => {
      const results: Record<string, unknown>[] = [];
      let failure: string | undefined;
      let presented = false;
      for (const token of tokens) {
        const raw = findToken(request, token);
        if (raw === undefined) {
          failure ??= `no token in ${token.method} ${token.name}`;
          results.push({ location: token.method, location_property: token.name, verified: false });
          continue;
        }
        presented = true;
        const verification = await verifyJwt(raw, {
          ...options,
          nowSeconds: Math.floor(ports.clock.now() / 1000),
          resolveKeys: (header) => resolveKeys(header, staticKeys, jkus, ports),
        });
        results.push(tokenResult(verification, token));
        if (!verification.ok) failure ??= `${verification.code}: ${verification.message}`;
      }
      request.actionResults.jwt_validation = { tokens: results };
      if (failure === undefined) return { outcome: continueOutcome, detail: 'token verified' };
      if (!config.enforce) return { outcome: continueOutcome, detail: `${failure} (not enforced)` };
      return {
        outcome: respondWithError(
          'JWT_VALIDATION_FAILED',
          'Gatehouse: a valid bearer token is required.',
          new Map([['www-authenticate', [presented ? challengeWithBadToken : challengeWithoutToken]]]),
        ),
        detail: failure,
      };
    };
  },
});

function buildChallenge(config: Config, tokenPresented: boolean): string {
  const parameters: string[] = [];
  const settings = config.http?.www_authenticate;
  if (settings?.realm !== undefined) parameters.push(`realm=${quotedString(settings.realm)}`);
  if (tokenPresented) parameters.push('error="invalid_token"');
  if (settings?.resource_metadata !== undefined)
    parameters.push(`resource_metadata=${quotedString(settings.resource_metadata)}`);
  if (settings?.scope !== undefined) parameters.push(`scope=${quotedString(settings.scope)}`);
  return parameters.length === 0 ? 'Bearer' : `Bearer ${parameters.join(', ')}`;
}

/** An RFC 9110 quoted-string: `"` and `\` escaped, and nothing that could end the header line. */
function quotedString(value: string): string {
  return `"${headerValue(value).replace(/["\\]/g, '\\$&')}"`;
}

function findToken(request: PolicyContext, token: z.infer<typeof tokenSchema>): string | undefined {
  let value: string | undefined;
  if (token.method === 'header') value = request.requestHeader(token.name.toLowerCase())?.[0];
  else value = bodyField(request, token.name);
  if (value === undefined) return undefined;
  if (token.prefix !== '') {
    if (value.slice(0, token.prefix.length).toLowerCase() !== token.prefix.toLowerCase()) return undefined;
    value = value.slice(token.prefix.length);
  }
  value = value.trim();
  return value === '' ? undefined : value;
}

function bodyField(request: PolicyContext, name: string): string | undefined {
  const body = request.request.body;
  if (body === undefined) return undefined;
  const text = new TextDecoder().decode(body);
  const contentType = request.requestHeader('content-type')?.[0] ?? '';
  if (contentType.includes('application/x-www-form-urlencoded'))
    return new URLSearchParams(text).get(name) ?? undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    const field = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>)[name] : undefined;
    return typeof field === 'string' ? field : undefined;
  } catch {
    return undefined;
  }
}

async function resolveKeys(
  header: { kid?: string; jku?: string },
  staticKeys: readonly unknown[],
  jkus: readonly string[],
  ports: PolicyPorts,
): Promise<readonly unknown[]> {
  // Only the configured JWKS URLs are fetched; a `jku` in the token header is never trusted.
  const fetched = await Promise.all(jkus.map((url) => ports.jwks.keys(url)));
  return [...staticKeys, ...fetched.flat()];
}

function tokenResult(verification: JwtVerification, token: z.infer<typeof tokenSchema>): Record<string, unknown> {
  return {
    location: token.method,
    location_property: token.name,
    verified: verification.ok,
    header: verification.header ?? {},
    payload: verification.payload ?? {},
    ...(verification.ok
      ? { signature: verification.signature }
      : { error: { code: verification.code, message: verification.message } }),
  };
}

function isUrl(text: string): boolean {
  return URL.canParse(text);
}
