/**
 * The verify-webhook providers, one row each, with the ids ngrok documents
 * (https://ngrok.com/docs/traffic-policy/actions/verify-webhook/#supported-providers). A row is either a declaration
 * for `hmacScheme` / `keyValueScheme` (header, hash, encoding, signed payload, timestamp) or, where a provider signs
 * something unusual, a function of its own. Each row names the provider's own page describing what it signs; the
 * tests sign bodies that way (`webhooks.test.ts`, one block per provider).
 */
import type { WebhookChallengeResponse, WebhookInput, WebhookVerification } from './webhook-types.js';
import {
  anyMatches,
  constantTimeEqual,
  decodeBase64,
  decodeHex,
  digest,
  encodeBase64,
  encodeHex,
  hmac,
  utf8,
  verifyEcdsaP256,
  verifyRsaPkcs1,
  type HashName,
} from './webhook-crypto.js';

export interface WebhookProviderSpec {
  /** The id a policy writes (`provider:`), as ngrok spells it. */
  id: string;
  name: string;
  /** The provider's description of its signature. */
  docs: string;
  verify(input: WebhookInput): Promise<WebhookVerification>;
  /** Answers the provider's endpoint-verification request, when this is one; undefined otherwise. */
  challenge?(input: WebhookInput): Promise<WebhookChallengeResponse | undefined>;
  /** The status a failure gets instead of 403. */
  failureStatus?: number;
}

const verified: WebhookVerification = { verified: true };

function rejected(reason: string): WebhookVerification {
  return { verified: false, reason };
}

/** Five minutes against replays, the window Stripe, Slack and Standard Webhooks use; held in both directions. */
const DEFAULT_TOLERANCE_SECONDS = 300;

// ---------------------------------------------------------------------------------------------------------------
// Declarative schemes

type Encoding = 'hex' | 'base64';

/** What a timestamp looks like: Unix seconds, Unix milliseconds, or an RFC 3339 / ISO 8601 date. */
type TimestampUnit = 's' | 'ms' | 'iso';

interface SignedParts {
  input: WebhookInput;
  /** The timestamp text exactly as sent (it is signed as text). */
  timestamp: string;
}

interface HmacScheme {
  /** Lower-case name of the header carrying the signature(s). */
  header: string;
  hash: HashName;
  encoding: Encoding;
  /** Text before the signature (`sha256=`); a signature without it is refused. */
  prefix?: string;
  /** Several signatures in one header, separated by this (each with `prefix`); any one matching is enough. */
  separator?: string;
  /** The key: the secret's UTF-8 bytes (default) or the secret base64-decoded. */
  key?: 'utf8' | 'base64';
  timestamp?: { header: string; unit: TimestampUnit; tolerance?: number };
  /** What is signed; the raw body when absent. */
  signed?: (parts: SignedParts) => (Uint8Array | string)[];
}

/** One header holding a signature over the body or over a composition of the body and a timestamp header. */
function hmacScheme(scheme: HmacScheme): (input: WebhookInput) => Promise<WebhookVerification> {
  return async (input) => {
    const header = input.header(scheme.header)?.trim();
    if (!header) return rejected(`missing ${scheme.header} header`);
    let timestamp = '';
    if (scheme.timestamp) {
      timestamp = input.header(scheme.timestamp.header)?.trim() ?? '';
      if (!timestamp) return rejected(`missing ${scheme.timestamp.header} header`);
      const staleness = checkTimestamp(timestamp, scheme.timestamp.unit, input.nowSeconds, scheme.timestamp.tolerance);
      if (staleness) return rejected(staleness);
    }
    const entries = scheme.separator ? header.split(scheme.separator).map((entry) => entry.trim()) : [header];
    const presented: (Uint8Array | undefined)[] = [];
    for (const entry of entries) {
      if (scheme.prefix && !entry.startsWith(scheme.prefix)) continue;
      presented.push(decode(entry.slice(scheme.prefix?.length ?? 0), scheme.encoding));
    }
    if (presented.length === 0) return rejected(`${scheme.header} header does not start with "${scheme.prefix ?? ''}"`);
    if (!presented.some(Boolean)) return rejected(`${scheme.header} header is not ${scheme.encoding}`);
    const key = scheme.key === 'base64' ? decodeBase64(input.secret) : utf8(input.secret);
    if (!key || key.length === 0) return rejected('webhook secret is not base64');
    const message = scheme.signed ? scheme.signed({ input, timestamp }) : [input.body];
    const expected = await hmac(scheme.hash, key, ...message);
    return anyMatches(presented, expected) ? verified : rejected('signature does not match the body');
  };
}

interface KeyValueScheme {
  header: string;
  /** Separates the `key=value` items (`,` for Stripe, `, ` is trimmed). */
  hash: HashName;
  encoding: Encoding;
  timestampKey: string;
  signatureKey: string;
  unit: TimestampUnit;
  tolerance?: number;
  /** What is signed; `${t}.${body}` when absent. */
  signed?: (parts: SignedParts & { fields: ReadonlyMap<string, string> }) => (Uint8Array | string)[];
}

/** Stripe's shape: `t=<timestamp>,v1=<signature>[,v1=…]`, several signatures during secret rolls. */
function keyValueScheme(scheme: KeyValueScheme): (input: WebhookInput) => Promise<WebhookVerification> {
  return async (input) => {
    const header = input.header(scheme.header);
    if (!header) return rejected(`missing ${scheme.header} header`);
    const fields = new Map<string, string>();
    const signatures: (Uint8Array | undefined)[] = [];
    for (const item of header.split(',')) {
      const separator = item.indexOf('=');
      if (separator < 0) continue;
      const key = item.slice(0, separator).trim();
      const value = item.slice(separator + 1).trim();
      if (key === scheme.signatureKey) signatures.push(decode(value, scheme.encoding));
      else if (!fields.has(key)) fields.set(key, value);
    }
    const timestamp = fields.get(scheme.timestampKey);
    if (timestamp === undefined) return rejected(`${scheme.header} header has no timestamp (${scheme.timestampKey}=)`);
    if (signatures.length === 0) return rejected(`${scheme.header} header has no signature (${scheme.signatureKey}=)`);
    const staleness = checkTimestamp(timestamp, scheme.unit, input.nowSeconds, scheme.tolerance);
    if (staleness) return rejected(staleness);
    const message = scheme.signed ? scheme.signed({ input, timestamp, fields }) : [`${timestamp}.`, input.body];
    const expected = await hmac(scheme.hash, utf8(input.secret), ...message);
    return anyMatches(signatures, expected) ? verified : rejected('no signature matches the body');
  };
}

function decode(text: string, encoding: Encoding): Uint8Array | undefined {
  return encoding === 'hex' ? decodeHex(text) : decodeBase64(text);
}

/** `undefined` when fine, otherwise why the timestamp is refused. */
function checkTimestamp(
  timestamp: string,
  unit: TimestampUnit,
  nowSeconds: number,
  tolerance = DEFAULT_TOLERANCE_SECONDS,
): string | undefined {
  let seconds: number;
  if (unit === 'iso') {
    // RFC 3339 only (a date and a time with a zone), so a bare number is never read as a year.
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/i.test(timestamp)) {
      return 'timestamp is not an RFC 3339 date';
    }
    seconds = Date.parse(timestamp) / 1000;
    if (Number.isNaN(seconds)) return 'timestamp is not an RFC 3339 date';
  } else {
    if (!/^\d{1,16}$/.test(timestamp))
      return `timestamp is not a number of ${unit === 's' ? 'seconds' : 'milliseconds'}`;
    seconds = unit === 's' ? Number(timestamp) : Number(timestamp) / 1000;
  }
  const age = nowSeconds - seconds;
  if (Math.abs(age) <= tolerance) return undefined;
  return age > 0
    ? `timestamp is ${Math.round(age)} s old; at most ${tolerance} s is accepted`
    : `timestamp is ${Math.round(-age)} s in the future; at most ${tolerance} s is accepted`;
}

function bodyText(input: WebhookInput): string {
  return new TextDecoder().decode(input.body);
}

function parseJsonObject(input: WebhookInput): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(bodyText(input));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function contentTypeIs(input: WebhookInput, type: string): boolean {
  return input.header('content-type')?.split(';')[0]?.trim().toLowerCase() === type;
}

// ---------------------------------------------------------------------------------------------------------------
// Providers with schemes of their own

/** GitLab sends the shared secret itself in `X-Gitlab-Token`. */
async function verifyGitlab(input: WebhookInput): Promise<WebhookVerification> {
  const token = input.header('x-gitlab-token');
  if (token === undefined || token === '') return rejected('missing x-gitlab-token header');
  // Comparing digests keeps the comparison constant-time without revealing the secret's length.
  const [presented, expected] = await Promise.all([digest('SHA-256', token), digest('SHA-256', input.secret)]);
  return constantTimeEqual(presented, expected) ? verified : rejected('x-gitlab-token does not match the secret');
}

/**
 * Standard Webhooks (standardwebhooks.com), also sent by Svix, Clerk and Brex, under `webhook-*` or `svix-*` names:
 * `webhook-signature` is a space-separated list of `v1,<base64>` over `${id}.${timestamp}.${body}`, keyed by the
 * base64 part of `whsec_…` (Brex shows the base64 without the prefix).
 */
async function verifyStandardWebhooks(input: WebhookInput): Promise<WebhookVerification> {
  const id = input.header('webhook-id') ?? input.header('svix-id');
  const timestamp = (input.header('webhook-timestamp') ?? input.header('svix-timestamp'))?.trim();
  const header = input.header('webhook-signature') ?? input.header('svix-signature');
  if (!id) return rejected('missing webhook-id header');
  if (!timestamp) return rejected('missing webhook-timestamp header');
  if (!header) return rejected('missing webhook-signature header');
  const key = decodeBase64(input.secret.startsWith('whsec_') ? input.secret.slice('whsec_'.length) : input.secret);
  if (!key || key.length === 0) return rejected('webhook secret is not whsec_ followed by base64');
  const staleness = checkTimestamp(timestamp, 's', input.nowSeconds);
  if (staleness) return rejected(staleness);
  // Other versions (e.g. `v1a`, asymmetric) are skipped, not failed: a sender may list several kinds at once.
  const signatures = header
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => decodeBase64(entry.slice('v1,'.length)));
  if (signatures.length === 0) return rejected('webhook-signature header has no v1 signature');
  const expected = await hmac('SHA-256', key, `${id}.${timestamp}.`, input.body);
  return anyMatches(signatures, expected) ? verified : rejected('no v1 signature matches the body');
}

/**
 * `X-Twilio-Signature: <base64 HMAC-SHA1(auth token, url + sorted form params)>`. For a JSON body Twilio instead
 * adds `bodySHA256=<hex>` to the URL, signs the URL alone, and the body must hash to that value.
 */
async function verifyTwilio(input: WebhookInput): Promise<WebhookVerification> {
  const header = input.header('x-twilio-signature')?.trim();
  if (!header) return rejected('missing x-twilio-signature header');
  const presented = decodeBase64(header);
  if (!presented) return rejected('x-twilio-signature header is not base64');
  const url = parseUrl(input.url);
  if (!url) return rejected('request URL cannot be parsed');

  const bodyHash = url.searchParams.get('bodySHA256');
  let params = '';
  if (bodyHash !== null) {
    const presentedHash = decodeHex(bodyHash);
    if (!presentedHash || !constantTimeEqual(presentedHash, await digest('SHA-256', input.body))) {
      return rejected('body does not match the bodySHA256 URL parameter');
    }
  } else if (contentTypeIs(input, 'application/x-www-form-urlencoded')) {
    params = sortedFormParams(bodyText(input));
  } else if (input.body.length > 0) {
    // Twilio only sends form bodies or bodySHA256-covered ones; any other body would reach the upstream unsigned.
    return rejected('body is neither form-encoded nor covered by bodySHA256, so the signature does not protect it');
  }
  return (await anyUrlVariantMatches(input, url, 'SHA-1', presented, params))
    ? verified
    : rejected('signature does not match the URL and parameters');
}

/**
 * Mailchimp Transactional (Mandrill): `X-Mandrill-Signature: <base64 HMAC-SHA1(key, url + each form key and value in
 * key order)>`. The events arrive as the form field `mandrill_events`.
 */
async function verifyMandrill(input: WebhookInput): Promise<WebhookVerification> {
  const header = input.header('x-mandrill-signature')?.trim();
  if (!header) return rejected('missing x-mandrill-signature header');
  const presented = decodeBase64(header);
  if (!presented) return rejected('x-mandrill-signature header is not base64');
  const url = parseUrl(input.url);
  if (!url) return rejected('request URL cannot be parsed');
  if (input.body.length > 0 && !contentTypeIs(input, 'application/x-www-form-urlencoded')) {
    return rejected('body is not form-encoded, so the signature does not protect it');
  }
  const params = sortedFormParams(bodyText(input));
  return (await anyUrlVariantMatches(input, url, 'SHA-1', presented, params))
    ? verified
    : rejected('signature does not match the URL and parameters');
}

async function anyUrlVariantMatches(
  input: WebhookInput,
  url: URL,
  hash: HashName,
  presented: Uint8Array,
  suffix: string,
): Promise<boolean> {
  const key = utf8(input.secret);
  let matched = false;
  for (const candidate of urlVariants(input.url, url)) {
    if (constantTimeEqual(presented, await hmac(hash, key, candidate + suffix))) matched = true;
  }
  return matched;
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** Names in code-unit order, each followed by its distinct values in order, as Twilio's own validators concatenate. */
function sortedFormParams(body: string): string {
  const valuesByName = new Map<string, Set<string>>();
  for (const [name, value] of new URLSearchParams(body)) {
    const values = valuesByName.get(name) ?? new Set<string>();
    values.add(value);
    valuesByName.set(name, values);
  }
  let concatenated = '';
  for (const name of [...valuesByName.keys()].sort()) {
    for (const value of [...(valuesByName.get(name) ?? [])].sort()) concatenated += name + value;
  }
  return concatenated;
}

/**
 * Senders sign the URL as configured, which may or may not spell out the default port, and proxies in between may
 * add or drop it; so the URL as received, without its port, and with the default port are all tried.
 */
function urlVariants(received: string, url: URL): string[] {
  const withoutPort = new URL(url.href);
  withoutPort.port = '';
  const defaultPort = url.protocol === 'https:' ? '443' : '80';
  const portless = withoutPort.href;
  const withPort = url.port
    ? url.href
    : `${url.protocol}//${url.username}${url.password ? `:${url.password}` : ''}${url.username || url.password ? '@' : ''}${url.host}:${defaultPort}${url.pathname}${url.search}${url.hash}`;
  return [...new Set([received, portless, withPort])];
}

/**
 * Box: `box-signature-primary` and `box-signature-secondary` (one per configured key, so a key can rotate) hold
 * base64 HMAC-SHA256 over the body followed by `box-delivery-timestamp` (RFC 3339); Box allows ten minutes.
 */
async function verifyBox(input: WebhookInput): Promise<WebhookVerification> {
  const timestamp = input.header('box-delivery-timestamp')?.trim();
  const primary = input.header('box-signature-primary')?.trim();
  const secondary = input.header('box-signature-secondary')?.trim();
  if (!primary && !secondary) return rejected('missing box-signature-primary header');
  if (!timestamp) return rejected('missing box-delivery-timestamp header');
  const staleness = checkTimestamp(timestamp, 'iso', input.nowSeconds, 600);
  if (staleness) return rejected(staleness);
  const expected = await hmac('SHA-256', utf8(input.secret), input.body, timestamp);
  const presented = [primary, secondary].map((value) => (value ? decodeBase64(value) : undefined));
  return anyMatches(presented, expected) ? verified : rejected('signature does not match the body');
}

/**
 * Contentful signs a canonical request: method, path with query, the headers it lists in
 * `x-contentful-signed-headers` as `name:value` joined by `;`, and the body, joined by newlines; HMAC-SHA256, hex, in
 * `x-contentful-signature`. `x-contentful-timestamp` (ms, itself signed) must be within 30 s, Contentful's default.
 */
async function verifyContentful(input: WebhookInput): Promise<WebhookVerification> {
  const signature = input.header('x-contentful-signature')?.trim();
  const signedHeaders = input.header('x-contentful-signed-headers');
  const timestamp = input.header('x-contentful-timestamp')?.trim();
  if (!signature) return rejected('missing x-contentful-signature header');
  if (!signedHeaders) return rejected('missing x-contentful-signed-headers header');
  if (!timestamp) return rejected('missing x-contentful-timestamp header');
  const names = signedHeaders.split(',').map((name) => name.trim().toLowerCase());
  if (!names.includes('x-contentful-timestamp'))
    return rejected('x-contentful-timestamp is not among the signed headers');
  const staleness = checkTimestamp(timestamp, 'ms', input.nowSeconds, 30);
  if (staleness) return rejected(staleness);
  const presented = decodeHex(signature);
  if (!presented) return rejected('x-contentful-signature header is not hex');
  const url = parseUrl(input.url);
  if (!url) return rejected('request URL cannot be parsed');
  const headerLines = names.map((name) => `${name}:${input.header(name)?.trim() ?? ''}`).join(';');
  const canonical = [input.method.toUpperCase(), `${url.pathname}${url.search}`, headerLines].join('\n');
  const expected = await hmac('SHA-256', utf8(input.secret), `${canonical}\n`, input.body);
  return constantTimeEqual(presented, expected) ? verified : rejected('signature does not match the request');
}

/** DocuSign Connect sends one `X-DocuSign-Signature-N` per active HMAC key (up to 100); any may match. */
async function verifyDocusign(input: WebhookInput): Promise<WebhookVerification> {
  const presented: (Uint8Array | undefined)[] = [];
  for (let index = 1; index <= 100; index += 1) {
    const value = input.header(`x-docusign-signature-${index}`)?.trim();
    if (value === undefined) break;
    presented.push(decodeBase64(value));
  }
  if (presented.length === 0) return rejected('missing x-docusign-signature-1 header');
  const expected = await hmac('SHA-256', utf8(input.secret), input.body);
  return anyMatches(presented, expected) ? verified : rejected('no signature matches the body');
}

/** Meta (Facebook, Messenger, Instagram, WhatsApp): `X-Hub-Signature-256: sha256=<hex>`, else the older SHA-1 form. */
const verifyMeta = (() => {
  const sha256 = hmacScheme({ header: 'x-hub-signature-256', hash: 'SHA-256', encoding: 'hex', prefix: 'sha256=' });
  const sha1 = hmacScheme({ header: 'x-hub-signature', hash: 'SHA-1', encoding: 'hex', prefix: 'sha1=' });
  return (input: WebhookInput) => (input.header('x-hub-signature-256') ? sha256(input) : sha1(input));
})();

/**
 * Hygraph (GraphCMS): `gcms-signature: sign=<base64>, env=<environment>, t=<ms>`, signing the JSON text
 * `{"Body":<body text>,"EnvironmentName":<env>,"TimeStamp":<t>}` with HMAC-SHA256.
 */
const verifyHygraph = keyValueScheme({
  header: 'gcms-signature',
  hash: 'SHA-256',
  encoding: 'base64',
  timestampKey: 't',
  signatureKey: 'sign',
  unit: 'ms',
  signed: ({ input, timestamp, fields }) => [
    JSON.stringify({ Body: bodyText(input), EnvironmentName: fields.get('env') ?? '', TimeStamp: Number(timestamp) }),
  ],
});

/**
 * HubSpot v3: `X-HubSpot-Signature-v3` = base64 HMAC-SHA256 over method + URL + body + `X-HubSpot-Request-Timestamp`
 * (ms, five minutes). v1 and v2 (`X-HubSpot-Signature`, per `X-HubSpot-Signature-Version`) are a hex SHA-256 of the
 * secret followed by the body (v1) or by method, URL and body (v2), without a timestamp.
 */
async function verifyHubspot(input: WebhookInput): Promise<WebhookVerification> {
  const v3 = input.header('x-hubspot-signature-v3')?.trim();
  if (v3) {
    const timestamp = input.header('x-hubspot-request-timestamp')?.trim();
    if (!timestamp) return rejected('missing x-hubspot-request-timestamp header');
    const staleness = checkTimestamp(timestamp, 'ms', input.nowSeconds);
    if (staleness) return rejected(staleness);
    const presented = decodeBase64(v3);
    if (!presented) return rejected('x-hubspot-signature-v3 header is not base64');
    const expected = await hmac(
      'SHA-256',
      utf8(input.secret),
      input.method.toUpperCase(),
      input.url,
      input.body,
      timestamp,
    );
    return constantTimeEqual(presented, expected) ? verified : rejected('signature does not match the request');
  }
  const legacy = input.header('x-hubspot-signature')?.trim();
  if (!legacy) return rejected('missing x-hubspot-signature-v3 header');
  const presented = decodeHex(legacy);
  if (!presented) return rejected('x-hubspot-signature header is not hex');
  const version = input.header('x-hubspot-signature-version')?.trim().toLowerCase() ?? 'v1';
  const expected =
    version === 'v2'
      ? await digest('SHA-256', input.secret, input.method.toUpperCase(), input.url, input.body)
      : await digest('SHA-256', input.secret, input.body);
  return constantTimeEqual(presented, expected) ? verified : rejected('signature does not match the request');
}

/**
 * Linear: `Linear-Signature` = hex HMAC-SHA256 of the body; the body's `webhookTimestamp` (ms) must be within a
 * minute, as Linear asks, so a captured delivery cannot be replayed.
 */
async function verifyLinear(input: WebhookInput): Promise<WebhookVerification> {
  const result = await hmacScheme({ header: 'linear-signature', hash: 'SHA-256', encoding: 'hex' })(input);
  if (!result.verified) return result;
  const timestamp = parseJsonObject(input)?.['webhookTimestamp'];
  if (typeof timestamp !== 'number') return rejected('body has no numeric webhookTimestamp');
  const staleness = checkTimestamp(String(Math.trunc(timestamp)), 'ms', input.nowSeconds, 60);
  return staleness ? rejected(staleness) : verified;
}

/**
 * Mailgun puts the signature in the body: `signature: {timestamp, token, signature}` in JSON, or the form fields of
 * those names; the signature is hex HMAC-SHA256 over timestamp followed by token.
 */
async function verifyMailgun(input: WebhookInput): Promise<WebhookVerification> {
  let fields: { timestamp?: unknown; token?: unknown; signature?: unknown } | undefined;
  if (contentTypeIs(input, 'application/x-www-form-urlencoded')) {
    const form = new URLSearchParams(bodyText(input));
    fields = { timestamp: form.get('timestamp'), token: form.get('token'), signature: form.get('signature') };
  } else {
    const signature = parseJsonObject(input)?.['signature'];
    if (typeof signature === 'object' && signature !== null) fields = signature;
  }
  const { timestamp, token, signature } = fields ?? {};
  if (typeof signature !== 'string' || typeof token !== 'string' || typeof timestamp !== 'string') {
    return rejected('missing signature in the body (timestamp, token and signature)');
  }
  const staleness = checkTimestamp(timestamp, 's', input.nowSeconds);
  if (staleness) return rejected(staleness);
  const presented = decodeHex(signature);
  if (!presented) return rejected('signature is not hex');
  const expected = await hmac('SHA-256', utf8(input.secret), timestamp, token);
  // Mailgun signs the timestamp and a token, not the event: the body is as trustworthy as the channel delivering it.
  return constantTimeEqual(presented, expected) ? verified : rejected('signature does not match');
}

/**
 * Plivo V2: `X-Plivo-Signature-V2` = base64 HMAC-SHA256(auth token, URL without query + `X-Plivo-Signature-V2-Nonce`).
 * Plivo's V2 covers the URL and nonce only, not the body; it is what every Plivo callback carries.
 */
async function verifyPlivo(input: WebhookInput): Promise<WebhookVerification> {
  const header = input.header('x-plivo-signature-v2')?.trim();
  const nonce = input.header('x-plivo-signature-v2-nonce')?.trim();
  if (!header) return rejected('missing x-plivo-signature-v2 header');
  if (!nonce) return rejected('missing x-plivo-signature-v2-nonce header');
  const presented = decodeBase64(header);
  if (!presented) return rejected('x-plivo-signature-v2 header is not base64');
  const url = parseUrl(input.url);
  if (!url) return rejected('request URL cannot be parsed');
  const key = utf8(input.secret);
  let matched = false;
  for (const candidate of urlVariants(input.url, url)) {
    const base = candidate.split('?')[0] ?? candidate;
    if (constantTimeEqual(presented, await hmac('SHA-256', key, base + nonce))) matched = true;
  }
  return matched ? verified : rejected('signature does not match the URL and nonce');
}

/**
 * SendGrid's Event Webhook signs with ECDSA (P-256, SHA-256): the secret is the verification key SendGrid shows
 * (base64 DER public key), `X-Twilio-Email-Event-Webhook-Signature` a base64 DER signature over
 * `X-Twilio-Email-Event-Webhook-Timestamp` followed by the body.
 */
async function verifySendgrid(input: WebhookInput): Promise<WebhookVerification> {
  const header = input.header('x-twilio-email-event-webhook-signature')?.trim();
  const timestamp = input.header('x-twilio-email-event-webhook-timestamp')?.trim();
  if (!header) return rejected('missing x-twilio-email-event-webhook-signature header');
  if (!timestamp) return rejected('missing x-twilio-email-event-webhook-timestamp header');
  const staleness = checkTimestamp(timestamp, 's', input.nowSeconds);
  if (staleness) return rejected(staleness);
  const signature = decodeBase64(header);
  if (!signature) return rejected('signature header is not base64');
  const publicKey = decodeBase64(input.secret.replace(/-----[A-Z ]+-----|\s/g, ''));
  if (!publicKey) return rejected('webhook secret is not a base64 public key');
  const result = await verifyEcdsaP256(publicKey, signature, new Uint8Array([...utf8(timestamp), ...input.body]));
  if (result === undefined) return rejected('webhook secret is not a P-256 public key');
  return result ? verified : rejected('signature does not match the body');
}

/** Microsoft Teams outgoing webhooks: `Authorization: HMAC <base64>` keyed by the base64-decoded security token. */
const verifyTeams = hmacScheme({
  header: 'authorization',
  hash: 'SHA-256',
  encoding: 'base64',
  prefix: 'HMAC ',
  key: 'base64',
});

/**
 * Square: `x-square-hmacsha256-signature` = base64 HMAC-SHA256 over the notification URL followed by the body; the
 * older `x-square-signature` is the same with SHA-1.
 */
async function verifySquare(input: WebhookInput): Promise<WebhookVerification> {
  const sha256 = input.header('x-square-hmacsha256-signature')?.trim();
  const sha1 = input.header('x-square-signature')?.trim();
  if (!sha256 && !sha1) return rejected('missing x-square-hmacsha256-signature header');
  const presented = decodeBase64((sha256 ?? sha1) as string);
  if (!presented) return rejected('signature header is not base64');
  const url = parseUrl(input.url);
  if (!url) return rejected('request URL cannot be parsed');
  const hash: HashName = sha256 ? 'SHA-256' : 'SHA-1';
  const key = utf8(input.secret);
  let matched = false;
  for (const candidate of urlVariants(input.url, url)) {
    if (constantTimeEqual(presented, await hmac(hash, key, candidate, input.body))) matched = true;
  }
  return matched ? verified : rejected('signature does not match the URL and body');
}

// ---------------------------------------------------------------------------------------------------------------
// Endpoint-verification handshakes (ngrok answers them for Twitter, Worldline, Xero and Zoom)

/**
 * Twitter's CRC: `GET ?crc_token=…` is answered with `{"response_token": "sha256=<base64 HMAC(secret, token)>"}`.
 * The request is unsigned, so the answer is an HMAC of caller-chosen text — the very thing a delivery signature is.
 * Tokens are therefore limited to the short base64-like strings Twitter sends: such a text can never be a JSON event
 * body, so the answer cannot be replayed as a forged delivery.
 */
async function twitterChallenge(input: WebhookInput): Promise<WebhookChallengeResponse | undefined> {
  if (input.method.toUpperCase() !== 'GET') return undefined;
  const token = parseUrl(input.url)?.searchParams.get('crc_token');
  if (token === null || token === undefined || !/^[A-Za-z0-9+/=_-]{1,128}$/.test(token)) return undefined;
  const signature = encodeBase64(await hmac('SHA-256', utf8(input.secret), token));
  return json({ response_token: `sha256=${signature}` });
}

/** Worldline: a GET carrying `X-GCS-Webhooks-Endpoint-Verification` is answered with that header's value. */
function worldlineChallenge(input: WebhookInput): Promise<WebhookChallengeResponse | undefined> {
  const value = input.header('x-gcs-webhooks-endpoint-verification');
  if (input.method.toUpperCase() !== 'GET' || value === undefined) return Promise.resolve(undefined);
  return Promise.resolve({ status: 200, contentType: 'text/plain; charset=utf-8', body: value });
}

/**
 * Zoom: a signed POST whose event is `endpoint.url_validation` is answered with the plain token and its hex
 * HMAC-SHA256; the signature is checked first, so only Zoom obtains that HMAC.
 */
const verifyZoomSignature = hmacScheme({
  header: 'x-zm-signature',
  hash: 'SHA-256',
  encoding: 'hex',
  prefix: 'v0=',
  timestamp: { header: 'x-zm-request-timestamp', unit: 's' },
  signed: ({ input, timestamp }) => [`v0:${timestamp}:`, input.body],
});

async function verifyZoom(input: WebhookInput): Promise<WebhookVerification> {
  const result = await verifyZoomSignature(input);
  if (!result.verified) return result;
  const event = parseJsonObject(input);
  const payload = event?.['payload'];
  const plainToken =
    typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>)['plainToken'] : undefined;
  if (event?.['event'] !== 'endpoint.url_validation' || typeof plainToken !== 'string') return result;
  const encryptedToken = encodeHex(await hmac('SHA-256', utf8(input.secret), plainToken));
  return { verified: true, challenge: json({ plainToken, encryptedToken }) };
}

function json(value: unknown): WebhookChallengeResponse {
  return { status: 200, contentType: 'application/json', body: JSON.stringify(value) };
}

/**
 * Amazon SNS (https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html): the JSON body carries
 * the signature (base64, RSA PKCS #1 v1.5 with SHA-1 for SignatureVersion 1, SHA-256 for 2) over `name\nvalue\n`
 * lines of fixed fields in byte order, and the URL of the certificate that signed it. The certificate is fetched by
 * the `webhookCertificates` port, which only fetches from SNS's own hosts (`sns.<region>.amazonaws.com`). ngrok's
 * secret for SNS is the topic owner, the AWS account id in `TopicArn`: a message of another account's topic is
 * refused even though AWS signed it. The Timestamp is signed but not held to a window: SNS retries a delivery for
 * as long as its delivery policy says, so an old message is not a forgery.
 */
async function verifySns(input: WebhookInput): Promise<WebhookVerification> {
  const message = parseJsonObject(input);
  const text = (name: string): string | undefined => (typeof message?.[name] === 'string' ? message[name] : undefined);
  const signature = text('Signature');
  const certificateUrl = text('SigningCertURL');
  const type = text('Type');
  if (signature === undefined || certificateUrl === undefined) return rejected('missing Signature in the SNS message');
  const fields =
    type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : type === 'SubscriptionConfirmation' || type === 'UnsubscribeConfirmation'
        ? ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type']
        : undefined;
  if (fields === undefined) return rejected('unknown SNS message Type');
  const headerType = input.header('x-amz-sns-message-type');
  if (headerType !== undefined && headerType !== type) return rejected('x-amz-sns-message-type differs from Type');
  const hash = text('SignatureVersion') === '1' ? 'SHA-1' : text('SignatureVersion') === '2' ? 'SHA-256' : undefined;
  if (hash === undefined) return rejected('unsupported SNS SignatureVersion');
  // arn:aws:sns:<region>:<account>:<topic>
  if (text('TopicArn')?.split(':')[4] !== input.secret) return rejected('the topic belongs to another AWS account');
  let signed = '';
  for (const name of fields) {
    const value = text(name);
    // Subject is optional on notifications and left out when absent; every other field is required.
    if (value === undefined) {
      if (name === 'Subject') continue;
      return rejected(`missing ${name} in the SNS message`);
    }
    signed += `${name}\n${value}\n`;
  }
  const signatureBytes = decodeBase64(signature);
  if (signatureBytes === undefined) return rejected('Signature is not base64');
  if (input.signingCertificate === undefined) return rejected('no signing certificate source here');
  let spki: Uint8Array;
  try {
    spki = await input.signingCertificate(certificateUrl);
  } catch {
    return rejected('the signing certificate could not be had (the reason is in the data plane log)');
  }
  return (await verifyRsaPkcs1(hash, spki, signatureBytes, utf8(signed))) ? verified : rejected('signature mismatch');
}

/**
 * VMware Workspace ONE UEM event notifications carry no signature; the console sends the username and password set on
 * the notification as HTTP Basic credentials. ngrok's guide takes them as the secret `username::password`
 * (https://ngrok.com/docs/integrations/webhooks/vmware-webhooks/). Only the sender is authenticated, not the body.
 */
function verifyVmware(input: WebhookInput): Promise<WebhookVerification> {
  return Promise.resolve(vmwareCredentials(input));
}

function vmwareCredentials(input: WebhookInput): WebhookVerification {
  const authorization = input.header('authorization')?.trim();
  if (!authorization) return rejected('missing authorization header');
  const separator = input.secret.indexOf('::');
  if (separator <= 0) return rejected('the secret must be username::password');
  const match = /^basic\s+(\S+)$/i.exec(authorization);
  const presented = match === null ? undefined : decodeBase64(match[1]!);
  if (presented === undefined) return rejected('authorization is not Basic credentials');
  const expected = utf8(`${input.secret.slice(0, separator)}:${input.secret.slice(separator + 2)}`);
  return constantTimeEqual(presented, expected) ? verified : rejected('credentials mismatch');
}

// ---------------------------------------------------------------------------------------------------------------
// The table

const body = (hash: HashName, encoding: Encoding, header: string, prefix?: string) =>
  hmacScheme({ header, hash, encoding, ...(prefix === undefined ? {} : { prefix }) });

export const providerTable: readonly WebhookProviderSpec[] = [
  {
    id: 'aftership',
    name: 'AfterShip',
    docs: 'https://www.aftership.com/docs/tracking/webhook/webhook-signature',
    verify: body('SHA-256', 'base64', 'aftership-hmac-sha256'),
  },
  {
    id: 'airship',
    name: 'Airship',
    docs: 'https://support.airship.com/hc/en-us/articles/360032501831',
    verify: hmacScheme({
      header: 'x-ua-signature',
      hash: 'SHA-256',
      encoding: 'hex',
      timestamp: { header: 'x-ua-timestamp', unit: 's' },
      signed: ({ input, timestamp }) => [`${timestamp}:`, input.body],
    }),
  },
  {
    id: 'alchemy',
    name: 'Alchemy',
    docs: 'https://docs.alchemy.com/reference/notify-api-quickstart',
    verify: body('SHA-256', 'hex', 'x-alchemy-signature'),
  },
  {
    id: 'autodesk',
    name: 'Autodesk Platform Services',
    docs: 'https://aps.autodesk.com/en/docs/webhooks/v1/developers_guide/basics',
    verify: body('SHA-1', 'hex', 'x-adsk-signature', 'sha1hash='),
  },
  {
    id: 'bitbucket',
    name: 'Bitbucket',
    docs: 'https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/',
    verify: body('SHA-256', 'hex', 'x-hub-signature', 'sha256='),
  },
  {
    id: 'bolt',
    name: 'Bolt',
    docs: 'https://help.bolt.com/developers/guides/webhooks/hook-verification/',
    verify: body('SHA-256', 'base64', 'x-bolt-hmac-sha256'),
  },
  { id: 'box', name: 'Box', docs: 'https://developer.box.com/guides/webhooks/v2/signatures-v2/', verify: verifyBox },
  {
    id: 'brex',
    name: 'Brex',
    docs: 'https://developer.brex.com/docs/webhooks/',
    verify: verifyStandardWebhooks,
  },
  {
    id: 'buildkite',
    name: 'Buildkite',
    docs: 'https://buildkite.com/docs/apis/webhooks#webhook-signature',
    verify: keyValueScheme({
      header: 'x-buildkite-signature',
      hash: 'SHA-256',
      encoding: 'hex',
      timestampKey: 'timestamp',
      signatureKey: 'signature',
      unit: 's',
    }),
  },
  {
    id: 'calendly',
    name: 'Calendly',
    docs: 'https://developer.calendly.com/api-docs/ZG9jOjM2MzE2MDM4-webhook-signatures',
    verify: keyValueScheme({
      header: 'calendly-webhook-signature',
      hash: 'SHA-256',
      encoding: 'hex',
      timestampKey: 't',
      signatureKey: 'v1',
      unit: 's',
      tolerance: 180,
    }),
  },
  {
    id: 'castle',
    name: 'Castle',
    docs: 'https://docs.castle.io/docs/subscribe-to-webhooks',
    verify: body('SHA-256', 'base64', 'x-castle-signature'),
  },
  {
    id: 'chargify',
    name: 'Chargify (Maxio)',
    docs: 'https://maxio-chargify.zendesk.com/hc/en-us/articles/5405357509645-Webhooks-Reference#webhook-signature',
    verify: body('SHA-256', 'hex', 'x-chargify-webhook-signature-hmac-sha-256'),
  },
  {
    id: 'circleci',
    name: 'CircleCI',
    docs: 'https://circleci.com/docs/webhooks/#validate-webhooks',
    verify: hmacScheme({
      header: 'circleci-signature',
      hash: 'SHA-256',
      encoding: 'hex',
      prefix: 'v1=',
      separator: ',',
    }),
  },
  {
    id: 'clearbit',
    name: 'Clearbit',
    docs: 'https://dashboard.clearbit.com/docs#webhooks',
    verify: body('SHA-1', 'hex', 'x-request-signature', 'sha1='),
  },
  { id: 'clerk', name: 'Clerk', docs: 'https://clerk.com/docs/webhooks/sync-data', verify: verifyStandardWebhooks },
  {
    id: 'coinbase',
    name: 'Coinbase Commerce',
    docs: 'https://docs.cloud.coinbase.com/commerce/docs/webhooks-security',
    verify: body('SHA-256', 'hex', 'x-cc-webhook-signature'),
  },
  {
    id: 'contentful',
    name: 'Contentful',
    docs: 'https://www.contentful.com/developers/docs/webhooks/request-verification/',
    verify: verifyContentful,
  },
  {
    id: 'docusign',
    name: 'DocuSign',
    docs: 'https://developers.docusign.com/platform/webhooks/connect/hmac/',
    verify: verifyDocusign,
  },
  {
    id: 'dropbox',
    name: 'Dropbox',
    docs: 'https://www.dropbox.com/developers/reference/webhooks',
    verify: body('SHA-256', 'hex', 'x-dropbox-signature'),
  },
  {
    id: 'facebook_graph_api',
    name: 'Facebook Graph API',
    docs: 'https://developers.facebook.com/docs/graph-api/webhooks/getting-started',
    verify: verifyMeta,
  },
  {
    id: 'facebook_messenger',
    name: 'Facebook Messenger',
    docs: 'https://developers.facebook.com/docs/messenger-platform/webhooks#security',
    verify: verifyMeta,
  },
  {
    id: 'frameio',
    name: 'Frame.io',
    docs: 'https://developer.frame.io/docs/automations-webhooks/webhooks-overview',
    verify: hmacScheme({
      header: 'x-frameio-signature',
      hash: 'SHA-256',
      encoding: 'hex',
      prefix: 'v0=',
      timestamp: { header: 'x-frameio-request-timestamp', unit: 's' },
      signed: ({ input, timestamp }) => [`v0:${timestamp}:`, input.body],
    }),
  },
  {
    id: 'github',
    name: 'GitHub',
    docs: 'https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries',
    verify: body('SHA-256', 'hex', 'x-hub-signature-256', 'sha256='),
  },
  {
    id: 'gitlab',
    name: 'GitLab',
    docs: 'https://docs.gitlab.com/user/project/integrations/webhooks/#validate-requests-with-a-secret-token',
    verify: verifyGitlab,
  },
  {
    id: 'go1',
    name: 'Go1',
    docs: 'https://www.go1.com/developers/partners/concepts/webhook-signature-authentification',
    verify: keyValueScheme({
      header: 'go1-signature',
      hash: 'SHA-256',
      encoding: 'hex',
      timestampKey: 't',
      signatureKey: 'v1',
      unit: 's',
    }),
  },
  {
    id: 'heroku',
    name: 'Heroku',
    docs: 'https://devcenter.heroku.com/articles/app-webhooks#securing-webhook-requests',
    verify: body('SHA-256', 'base64', 'heroku-webhook-hmac-sha256'),
  },
  {
    id: 'hostedhooks',
    name: 'HostedHooks',
    docs: 'https://docs.hostedhooks.com/security/security-features/webhook-signatures',
    verify: keyValueScheme({
      header: 'hostedhooks-signature',
      hash: 'SHA-256',
      encoding: 'hex',
      timestampKey: 't',
      signatureKey: 's',
      unit: 's',
    }),
  },
  {
    id: 'hubspot',
    name: 'HubSpot',
    docs: 'https://developers.hubspot.com/docs/api/webhooks/validating-requests',
    verify: verifyHubspot,
  },
  {
    id: 'graphcms',
    name: 'Hygraph (GraphCMS)',
    docs: 'https://hygraph.com/blog/introducing-signed-webhooks',
    verify: verifyHygraph,
  },
  {
    id: 'instagram',
    name: 'Instagram',
    docs: 'https://developers.facebook.com/docs/graph-api/webhooks/getting-started',
    verify: verifyMeta,
  },
  {
    id: 'intercom',
    name: 'Intercom',
    docs: 'https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications',
    verify: body('SHA-1', 'hex', 'x-hub-signature', 'sha1='),
  },
  {
    id: 'jira',
    name: 'Jira',
    docs: 'https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks',
    verify: body('SHA-256', 'hex', 'x-hub-signature', 'sha256='),
  },
  {
    id: 'launch_darkly',
    name: 'LaunchDarkly',
    docs: 'https://docs.launchdarkly.com/home/infrastructure/webhooks#signing-webhooks',
    verify: body('SHA-256', 'hex', 'x-ld-signature'),
  },
  {
    id: 'linear',
    name: 'Linear',
    docs: 'https://linear.app/developers/webhooks#securing-webhooks',
    verify: verifyLinear,
  },
  {
    id: 'mailchimp',
    name: 'Mailchimp Transactional (Mandrill)',
    docs: 'https://mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/#authenticating-webhook-requests',
    verify: verifyMandrill,
  },
  {
    id: 'mailgun',
    name: 'Mailgun',
    docs: 'https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/#securing-webhooks',
    verify: verifyMailgun,
  },
  {
    id: 'microsoft_teams',
    name: 'Microsoft Teams',
    docs: 'https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/add-outgoing-webhook',
    verify: verifyTeams,
  },
  {
    id: 'modern_treasury',
    name: 'Modern Treasury',
    docs: 'https://docs.moderntreasury.com/platform/docs/signature-verification',
    verify: body('SHA-256', 'hex', 'x-signature'),
  },
  {
    id: 'mongodb',
    name: 'MongoDB Atlas App Services',
    docs: 'https://www.mongodb.com/docs/atlas/app-services/endpoints/#payload-signature-verification',
    verify: body('SHA-256', 'hex', 'endpoint-signature', 'sha256='),
  },
  {
    id: 'mux',
    name: 'Mux',
    docs: 'https://docs.mux.com/guides/video/verify-webhook-signatures',
    verify: keyValueScheme({
      header: 'mux-signature',
      hash: 'SHA-256',
      encoding: 'hex',
      timestampKey: 't',
      signatureKey: 'v1',
      unit: 's',
    }),
  },
  {
    id: 'orb',
    name: 'Orb',
    docs: 'https://docs.withorb.com/guides/integrations-and-exports/webhooks',
    verify: hmacScheme({
      header: 'x-orb-signature',
      hash: 'SHA-256',
      encoding: 'hex',
      prefix: 'v1=',
      timestamp: { header: 'x-orb-timestamp', unit: 'iso' },
      signed: ({ input, timestamp }) => [`v1:${timestamp}:`, input.body],
    }),
  },
  {
    id: 'pagerduty',
    name: 'PagerDuty',
    docs: 'https://developer.pagerduty.com/docs/verifying-webhook-signatures',
    verify: hmacScheme({
      header: 'x-pagerduty-signature',
      hash: 'SHA-256',
      encoding: 'hex',
      prefix: 'v1=',
      separator: ',',
    }),
  },
  {
    id: 'pinwheel',
    name: 'Pinwheel',
    docs: 'https://docs.pinwheelapi.com/docs/webhook-signature-verification',
    verify: hmacScheme({
      header: 'x-pinwheel-signature',
      hash: 'SHA-256',
      encoding: 'hex',
      prefix: 'v2=',
      timestamp: { header: 'x-timestamp', unit: 's' },
      signed: ({ input, timestamp }) => [`v2:${timestamp}:`, input.body],
    }),
  },
  {
    id: 'plivo',
    name: 'Plivo',
    docs: 'https://www.plivo.com/docs/voice/concepts/signature-validation',
    verify: verifyPlivo,
  },
  {
    id: 'pusher',
    name: 'Pusher',
    docs: 'https://pusher.com/docs/channels/server_api/webhooks/#authentication',
    verify: body('SHA-256', 'hex', 'x-pusher-signature'),
  },
  {
    id: 'sendgrid',
    name: 'SendGrid',
    docs: 'https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features',
    verify: verifySendgrid,
  },
  {
    id: 'sentry',
    name: 'Sentry',
    docs: 'https://docs.sentry.io/organization/integrations/integration-platform/webhooks/#sentry-hook-signature',
    verify: body('SHA-256', 'hex', 'sentry-hook-signature'),
  },
  {
    id: 'shopify',
    name: 'Shopify',
    docs: 'https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook',
    verify: body('SHA-256', 'base64', 'x-shopify-hmac-sha256'),
  },
  {
    id: 'signal_sciences',
    name: 'Signal Sciences (Fastly Next-Gen WAF)',
    docs: 'https://docs.fastly.com/en/ngwaf/generic-webhooks',
    verify: body('SHA-256', 'hex', 'x-sigsci-signature'),
  },
  {
    id: 'slack',
    name: 'Slack',
    docs: 'https://api.slack.com/authentication/verifying-requests-from-slack',
    verify: hmacScheme({
      header: 'x-slack-signature',
      hash: 'SHA-256',
      encoding: 'hex',
      prefix: 'v0=',
      timestamp: { header: 'x-slack-request-timestamp', unit: 's' },
      signed: ({ input, timestamp }) => [`v0:${timestamp}:`, input.body],
    }),
  },
  {
    id: 'sonatype',
    name: 'Sonatype Nexus',
    docs: 'https://help.sonatype.com/en/webhooks.html',
    verify: body('SHA-1', 'hex', 'x-nexus-webhook-signature'),
  },
  {
    id: 'square',
    name: 'Square',
    docs: 'https://developer.squareup.com/docs/webhooks/step3validate',
    verify: verifySquare,
  },
  {
    id: 'stripe',
    name: 'Stripe',
    docs: 'https://docs.stripe.com/webhooks#verify-manually',
    verify: keyValueScheme({
      header: 'stripe-signature',
      hash: 'SHA-256',
      encoding: 'hex',
      timestampKey: 't',
      signatureKey: 'v1',
      unit: 's',
    }),
  },
  {
    id: 'svix',
    name: 'Svix',
    docs: 'https://docs.svix.com/receiving/verifying-payloads/how-manual',
    verify: verifyStandardWebhooks,
  },
  {
    id: 'standard-webhooks',
    name: 'Standard Webhooks',
    docs: 'https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md',
    verify: verifyStandardWebhooks,
  },
  {
    id: 'terraform',
    name: 'Terraform Cloud',
    docs: 'https://developer.hashicorp.com/terraform/cloud-docs/api-docs/notification-configurations#notification-authenticity',
    verify: body('SHA-512', 'hex', 'x-tfe-notification-signature'),
  },
  {
    id: 'tiktok',
    name: 'TikTok',
    docs: 'https://developers.tiktok.com/doc/webhooks-verification',
    verify: keyValueScheme({
      header: 'tiktok-signature',
      hash: 'SHA-256',
      encoding: 'hex',
      timestampKey: 't',
      signatureKey: 's',
      unit: 's',
    }),
  },
  {
    id: 'trendmicro_conformity',
    name: 'Trend Micro Conformity',
    docs: 'https://cloudone.trendmicro.com/docs/conformity/webhook-communication/',
    verify: body('SHA-256', 'hex', 'x-conformity-signature'),
  },
  {
    id: 'twilio',
    name: 'Twilio',
    docs: 'https://www.twilio.com/docs/usage/webhooks/webhooks-security',
    verify: verifyTwilio,
  },
  {
    id: 'twitter',
    name: 'Twitter (X)',
    docs: 'https://docs.x.com/x-api/webhooks/introduction',
    verify: body('SHA-256', 'base64', 'x-twitter-webhooks-signature', 'sha256='),
    challenge: twitterChallenge,
  },
  {
    id: 'typeform',
    name: 'Typeform',
    docs: 'https://www.typeform.com/developers/webhooks/secure-your-webhooks/',
    verify: body('SHA-256', 'base64', 'typeform-signature', 'sha256='),
  },
  {
    id: 'webex',
    name: 'Webex',
    docs: 'https://developer.webex.com/docs/webhooks#auth',
    verify: body('SHA-1', 'hex', 'x-spark-signature'),
  },
  {
    id: 'whatsapp',
    name: 'WhatsApp',
    docs: 'https://developers.facebook.com/docs/graph-api/webhooks/getting-started#event-notifications',
    verify: verifyMeta,
  },
  {
    id: 'worldline',
    name: 'Worldline',
    docs: 'https://docs.direct.worldline-solutions.com/en/integration/api-developer-guide/webhooks',
    verify: body('SHA-256', 'base64', 'x-gcs-signature'),
    challenge: worldlineChallenge,
  },
  {
    id: 'xero',
    name: 'Xero',
    docs: 'https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/',
    verify: body('SHA-256', 'base64', 'x-xero-signature'),
    // Xero's "intent to receive" check sends bad signatures on purpose and wants 401 for them, 200 for good ones.
    failureStatus: 401,
  },
  {
    id: 'zendesk',
    name: 'Zendesk',
    docs: 'https://developer.zendesk.com/documentation/webhooks/verifying/',
    verify: hmacScheme({
      header: 'x-zendesk-webhook-signature',
      hash: 'SHA-256',
      encoding: 'base64',
      timestamp: { header: 'x-zendesk-webhook-signature-timestamp', unit: 'iso' },
      signed: ({ input, timestamp }) => [timestamp, input.body],
    }),
  },
  {
    id: 'sns',
    name: 'Amazon SNS',
    docs: 'https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html',
    verify: verifySns,
  },
  {
    id: 'vmware',
    name: 'VMware Workspace ONE',
    docs: 'https://ngrok.com/docs/integrations/webhooks/vmware-webhooks/',
    verify: verifyVmware,
  },
  {
    id: 'zoom',
    name: 'Zoom',
    docs: 'https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events',
    verify: verifyZoom,
  },
];

/** ngrok ids without a row, and why: `verify-webhook` refuses them at save time with this reason. */
export const unsupportedProviders: ReadonlyMap<string, string> = new Map([
  [
    'orbit',
    "Orbit (orbit.love) has shut down and its webhook documentation is gone; ngrok's guide names no header or algorithm, so there is no scheme to verify against",
  ],
]);
