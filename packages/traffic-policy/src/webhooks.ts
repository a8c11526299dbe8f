/**
 * Webhook signature verification for the `verify-webhook` action: one function per provider, each reproducing what
 * that provider signs. WebCrypto only (HMAC via `crypto.subtle`), so it runs in the data plane and in the browser.
 * Every comparison of secret-derived bytes is constant-time; reasons name what failed but never echo a secret or an
 * expected signature.
 */

const providerIds = ['github', 'gitlab', 'stripe', 'slack', 'shopify', 'standard-webhooks', 'twilio'] as const;

export type WebhookProvider = (typeof providerIds)[number];

/** The provider ids `verify-webhook` accepts; the policy schema builds its enum from this list. */
export const webhookProviders: readonly string[] = providerIds;

export interface WebhookInput {
  secret: string;
  /** A request header by lower-case name. */
  header(lowerName: string): string | undefined;
  /** The raw body exactly as received: providers sign bytes, so a re-serialized body would never verify. */
  body: Uint8Array;
  method: string;
  /** The full URL as the sender addressed it (scheme://host/path?query); only Twilio signs it. */
  url: string;
  nowSeconds: number;
}

export type WebhookVerification = { verified: true } | { verified: false; reason: string };

/** Stripe, Slack and Standard Webhooks all use five minutes against replays; we hold the window in both directions. */
const TIMESTAMP_TOLERANCE_SECONDS = 300;

const verified: WebhookVerification = { verified: true };

export async function verifyWebhook(provider: string, input: WebhookInput): Promise<WebhookVerification> {
  if (!isWebhookProvider(provider)) return rejected('unknown provider');
  // WebCrypto refuses zero-length HMAC keys, and for GitLab an empty secret would match a missing token.
  if (input.secret === '') return rejected('webhook secret is empty');
  switch (provider) {
    case 'github':
      return verifyGithub(input);
    case 'gitlab':
      return verifyGitlab(input);
    case 'stripe':
      return verifyStripe(input);
    case 'slack':
      return verifySlack(input);
    case 'shopify':
      return verifyShopify(input);
    case 'standard-webhooks':
      return verifyStandardWebhooks(input);
    case 'twilio':
      return verifyTwilio(input);
  }
}

export function isWebhookProvider(name: string): name is WebhookProvider {
  return webhookProviders.includes(name);
}

function rejected(reason: string): WebhookVerification {
  return { verified: false, reason };
}

// ---------------------------------------------------------------------------------------------------------------
// Providers

/** `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`. */
async function verifyGithub(input: WebhookInput): Promise<WebhookVerification> {
  const header = input.header('x-hub-signature-256')?.trim();
  if (!header) return rejected('missing X-Hub-Signature-256 header');
  if (!header.startsWith('sha256=')) return rejected('X-Hub-Signature-256 header does not start with "sha256="');
  const presented = decodeHex(header.slice('sha256='.length));
  if (!presented) return rejected('X-Hub-Signature-256 header is not hex');
  const expected = await hmac('SHA-256', utf8(input.secret), input.body);
  return constantTimeEqual(presented, expected) ? verified : rejected('signature does not match the body');
}

/** GitLab sends the shared secret itself in `X-Gitlab-Token`. */
async function verifyGitlab(input: WebhookInput): Promise<WebhookVerification> {
  const token = input.header('x-gitlab-token');
  if (token === undefined || token === '') return rejected('missing X-Gitlab-Token header');
  // Comparing digests keeps the comparison constant-time without revealing the secret's length.
  const [presented, expected] = await Promise.all([sha256(utf8(token)), sha256(utf8(input.secret))]);
  return constantTimeEqual(presented, expected) ? verified : rejected('X-Gitlab-Token does not match the secret');
}

/** `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` over `${t}.${body}`; several v1 entries appear during secret rolls. */
async function verifyStripe(input: WebhookInput): Promise<WebhookVerification> {
  const header = input.header('stripe-signature');
  if (!header) return rejected('missing Stripe-Signature header');
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const item of header.split(',')) {
    const separator = item.indexOf('=');
    if (separator < 0) continue;
    const key = item.slice(0, separator).trim();
    const value = item.slice(separator + 1).trim();
    if (key === 't') timestamp ??= value;
    else if (key === 'v1') signatures.push(value);
  }
  if (timestamp === undefined) return rejected('Stripe-Signature header has no timestamp (t=)');
  if (signatures.length === 0) return rejected('Stripe-Signature header has no v1 signature');
  const staleness = checkTimestamp(timestamp, input.nowSeconds);
  if (staleness) return rejected(staleness);
  const expected = await hmac('SHA-256', utf8(input.secret), utf8(`${timestamp}.`), input.body);
  return anyMatches(signatures.map(decodeHex), expected) ? verified : rejected('no v1 signature matches the body');
}

/** `X-Slack-Signature: v0=<hex>` over `v0:${X-Slack-Request-Timestamp}:${body}`. */
async function verifySlack(input: WebhookInput): Promise<WebhookVerification> {
  const header = input.header('x-slack-signature')?.trim();
  const timestamp = input.header('x-slack-request-timestamp')?.trim();
  if (!header) return rejected('missing X-Slack-Signature header');
  if (!timestamp) return rejected('missing X-Slack-Request-Timestamp header');
  if (!header.startsWith('v0=')) return rejected('X-Slack-Signature header does not start with "v0="');
  const staleness = checkTimestamp(timestamp, input.nowSeconds);
  if (staleness) return rejected(staleness);
  const presented = decodeHex(header.slice('v0='.length));
  if (!presented) return rejected('X-Slack-Signature header is not hex');
  const expected = await hmac('SHA-256', utf8(input.secret), utf8(`v0:${timestamp}:`), input.body);
  return constantTimeEqual(presented, expected) ? verified : rejected('signature does not match the body');
}

/** `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`. */
async function verifyShopify(input: WebhookInput): Promise<WebhookVerification> {
  const header = input.header('x-shopify-hmac-sha256')?.trim();
  if (!header) return rejected('missing X-Shopify-Hmac-Sha256 header');
  const presented = decodeBase64(header);
  if (!presented) return rejected('X-Shopify-Hmac-Sha256 header is not base64');
  const expected = await hmac('SHA-256', utf8(input.secret), input.body);
  return constantTimeEqual(presented, expected) ? verified : rejected('signature does not match the body');
}

/**
 * Standard Webhooks (standardwebhooks.com), also sent by Svix under `svix-*` names: `webhook-signature` is a
 * space-separated list of `v1,<base64>` over `${id}.${timestamp}.${body}`, keyed by the base64 part of `whsec_…`.
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
  const staleness = checkTimestamp(timestamp, input.nowSeconds);
  if (staleness) return rejected(staleness);
  // Other versions (e.g. `v1a`, asymmetric) are skipped, not failed: a sender may list several kinds at once.
  const signatures = header
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => decodeBase64(entry.slice('v1,'.length)));
  if (signatures.length === 0) return rejected('webhook-signature header has no v1 signature');
  const expected = await hmac('SHA-256', key, utf8(`${id}.${timestamp}.`), input.body);
  return anyMatches(signatures, expected) ? verified : rejected('no v1 signature matches the body');
}

/**
 * `X-Twilio-Signature: <base64 HMAC-SHA1(auth token, url + sorted form params)>`. For a JSON body Twilio instead
 * adds `bodySHA256=<hex>` to the URL, signs the URL alone, and the body must hash to that value.
 */
async function verifyTwilio(input: WebhookInput): Promise<WebhookVerification> {
  const header = input.header('x-twilio-signature')?.trim();
  if (!header) return rejected('missing X-Twilio-Signature header');
  const presented = decodeBase64(header);
  if (!presented) return rejected('X-Twilio-Signature header is not base64');
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    return rejected('request URL cannot be parsed');
  }

  const bodyHash = url.searchParams.get('bodySHA256');
  let params = '';
  if (bodyHash !== null) {
    const presentedHash = decodeHex(bodyHash);
    if (!presentedHash || !constantTimeEqual(presentedHash, await sha256(input.body))) {
      return rejected('body does not match the bodySHA256 URL parameter');
    }
  } else if (isFormBody(input)) {
    params = sortedFormParams(new TextDecoder().decode(input.body));
  } else if (input.body.length > 0) {
    // Twilio only sends form bodies or bodySHA256-covered ones; any other body would reach the upstream unsigned.
    return rejected('body is neither form-encoded nor covered by bodySHA256, so the signature does not protect it');
  }

  const key = utf8(input.secret);
  for (const candidate of twilioUrlVariants(input.url, url)) {
    const expected = await hmac('SHA-1', key, utf8(candidate + params));
    if (constantTimeEqual(presented, expected)) return verified;
  }
  return rejected('signature does not match the URL and parameters');
}

function isFormBody(input: WebhookInput): boolean {
  const contentType = input.header('content-type')?.split(';')[0]?.trim().toLowerCase();
  return contentType === 'application/x-www-form-urlencoded';
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
 * Twilio signs the URL as configured, which may or may not spell out the default port, and proxies in between may
 * add or drop it; so the URL as received, without its port, and with the default port are all tried.
 */
function twilioUrlVariants(received: string, url: URL): string[] {
  const withoutPort = new URL(url.href);
  withoutPort.port = '';
  const defaultPort = url.protocol === 'https:' ? '443' : '80';
  const portless = withoutPort.href;
  const withPort = url.port
    ? url.href
    : `${url.protocol}//${url.username}${url.password ? `:${url.password}` : ''}${url.username || url.password ? '@' : ''}${url.host}:${defaultPort}${url.pathname}${url.search}${url.hash}`;
  return [...new Set([received, portless, withPort])];
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** `undefined` when fine, otherwise why the timestamp is refused. */
function checkTimestamp(timestamp: string, nowSeconds: number): string | undefined {
  if (!/^\d{1,15}$/.test(timestamp)) return 'timestamp is not a number of seconds';
  const age = nowSeconds - Number(timestamp);
  if (Math.abs(age) <= TIMESTAMP_TOLERANCE_SECONDS) return undefined;
  return age > 0
    ? `timestamp is ${Math.round(age)} s old; at most ${TIMESTAMP_TOLERANCE_SECONDS} s is accepted`
    : `timestamp is ${Math.round(-age)} s in the future; at most ${TIMESTAMP_TOLERANCE_SECONDS} s is accepted`;
}

async function hmac(hash: 'SHA-1' | 'SHA-256', key: Uint8Array, ...parts: Uint8Array[]): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey('raw', ownBuffer(key), { name: 'HMAC', hash }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, concat(parts)));
}

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', ownBuffer(data)));
}

/** Always examines every byte, so the time taken says nothing about where a forged signature first differs. */
function constantTimeEqual(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  let difference = 0;
  for (let index = 0; index < left.length; index += 1) difference |= (left[index] ?? 0) ^ (right[index] ?? 0);
  return difference === 0;
}

/** Every entry is compared even after a match, for the same reason as above. */
function anyMatches(presented: readonly (Uint8Array | undefined)[], expected: Uint8Array): boolean {
  let matched = false;
  for (const signature of presented) {
    if (signature && constantTimeEqual(signature, expected)) matched = true;
  }
  return matched;
}

function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  if (parts.length === 1) return ownBuffer(parts[0] ?? new Uint8Array());
  const joined = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** WebCrypto's types want a view of a plain ArrayBuffer; copy only a view of anything else (e.g. a SharedArrayBuffer). */
function ownBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

function decodeHex(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(text)) return undefined;
  const bytes = new Uint8Array(text.length / 2);
  for (let index = 0; index < bytes.length; index += 1)
    bytes[index] = parseInt(text.slice(index * 2, index * 2 + 2), 16);
  return bytes;
}

function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
  return bytes;
}
