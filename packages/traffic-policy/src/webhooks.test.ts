import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyWebhook, webhookProviders, type WebhookInput } from './webhooks.js';

const NOW = 1_795_000_000;
const SECRET = 'It is a secret to everybody';
const BODY = '{"event":"push","ref":"refs/heads/main","amount":1299}';
const TAMPERED = BODY.replace('1299', '9999');

interface RequestShape {
  secret?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  method?: string;
  url?: string;
  now?: number;
}

function input(shape: RequestShape): WebhookInput {
  const headers = new Map(Object.entries(shape.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  const body = shape.body ?? BODY;
  return {
    secret: shape.secret ?? SECRET,
    header: (lowerName) => headers.get(lowerName),
    body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
    method: shape.method ?? 'POST',
    url: shape.url ?? 'https://hooks.example.com/incoming',
    nowSeconds: shape.now ?? NOW,
  };
}

function hmacHex(algorithm: string, key: string | Buffer, data: string): string {
  return createHmac(algorithm, key).update(data).digest('hex');
}

function hmacBase64(algorithm: string, key: string | Buffer, data: string): string {
  return createHmac(algorithm, key).update(data).digest('base64');
}

describe('verifyWebhook', () => {
  it('lists every provider it implements', () => {
    expect(webhookProviders).toEqual(['github', 'gitlab', 'stripe', 'slack', 'shopify', 'standard-webhooks', 'twilio']);
  });

  it('rejects an unknown provider', async () => {
    expect(await verifyWebhook('bitbucket', input({}))).toEqual({ verified: false, reason: 'unknown provider' });
    // Inherited object keys are not providers either.
    expect(await verifyWebhook('constructor', input({}))).toEqual({ verified: false, reason: 'unknown provider' });
  });

  it.each(webhookProviders)('%s: rejects everything when the configured secret is empty', async (provider) => {
    expect(await verifyWebhook(provider, input({ secret: '', headers: { 'x-gitlab-token': '' } }))).toEqual({
      verified: false,
      reason: 'webhook secret is empty',
    });
  });

  it.each(webhookProviders)('%s: rejects a request without its signature headers', async (provider) => {
    const result = await verifyWebhook(provider, input({}));
    expect(result.verified).toBe(false);
    if (!result.verified) expect(result.reason).toMatch(/^missing /);
  });
});

describe('github', () => {
  const signed = (secret: string, body: string) => ({
    'x-hub-signature-256': `sha256=${hmacHex('sha256', secret, body)}`,
  });

  it('verifies a valid signature', async () => {
    expect(await verifyWebhook('github', input({ headers: signed(SECRET, BODY) }))).toEqual({ verified: true });
  });

  it('accepts upper-case hex', async () => {
    const header = `sha256=${hmacHex('sha256', SECRET, BODY).toUpperCase()}`;
    expect(await verifyWebhook('github', input({ headers: { 'x-hub-signature-256': header } }))).toEqual({
      verified: true,
    });
  });

  it('rejects a tampered body', async () => {
    expect(await verifyWebhook('github', input({ headers: signed(SECRET, BODY), body: TAMPERED }))).toEqual({
      verified: false,
      reason: 'signature does not match the body',
    });
  });

  it('rejects a signature made with another secret', async () => {
    expect((await verifyWebhook('github', input({ headers: signed('another secret', BODY) }))).verified).toBe(false);
  });

  it.each([
    ['the legacy sha1 form', `sha1=${hmacHex('sha1', SECRET, BODY)}`],
    ['a bare hex digest', hmacHex('sha256', SECRET, BODY)],
    ['non-hex characters', `sha256=${'z'.repeat(64)}`],
    ['a truncated digest', `sha256=${hmacHex('sha256', SECRET, BODY).slice(0, 40)}`],
  ])('rejects %s', async (_name, header) => {
    expect((await verifyWebhook('github', input({ headers: { 'x-hub-signature-256': header } }))).verified).toBe(false);
  });

  it('verifies a binary body byte for byte', async () => {
    const body = randomBytes(4096);
    const header = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    expect(await verifyWebhook('github', input({ headers: { 'x-hub-signature-256': header }, body }))).toEqual({
      verified: true,
    });
    const altered = Buffer.from(body);
    altered[100] = (altered[100] ?? 0) ^ 1;
    expect(
      (await verifyWebhook('github', input({ headers: { 'x-hub-signature-256': header }, body: altered }))).verified,
    ).toBe(false);
  });
});

describe('gitlab', () => {
  it('verifies the shared token', async () => {
    expect(await verifyWebhook('gitlab', input({ headers: { 'x-gitlab-token': SECRET } }))).toEqual({ verified: true });
  });

  it.each([
    ['another secret', 'another secret'],
    ['a prefix of the secret', SECRET.slice(0, -1)],
    ['the secret plus a character', `${SECRET}!`],
    ['an empty token', ''],
  ])('rejects %s', async (_name, token) => {
    expect((await verifyWebhook('gitlab', input({ headers: { 'x-gitlab-token': token } }))).verified).toBe(false);
  });
});

describe('stripe', () => {
  const signature = (secret: string, timestamp: number, body: string) =>
    hmacHex('sha256', secret, `${timestamp}.${body}`);
  const header = (timestamp: number, ...signatures: string[]) => ({
    'stripe-signature': [`t=${timestamp}`, ...signatures.map((value) => `v1=${value}`), `v0=${'0'.repeat(64)}`].join(
      ',',
    ),
  });

  it('verifies a valid signature', async () => {
    expect(
      await verifyWebhook('stripe', input({ headers: header(NOW - 5, signature(SECRET, NOW - 5, BODY)) })),
    ).toEqual({ verified: true });
  });

  it('accepts any of several v1 signatures (secret rolling)', async () => {
    const headers = header(NOW, signature('old secret', NOW, BODY), signature(SECRET, NOW, BODY));
    expect(await verifyWebhook('stripe', input({ headers }))).toEqual({ verified: true });
  });

  it('rejects a tampered body', async () => {
    expect(
      await verifyWebhook('stripe', input({ headers: header(NOW, signature(SECRET, NOW, BODY)), body: TAMPERED })),
    ).toEqual({
      verified: false,
      reason: 'no v1 signature matches the body',
    });
  });

  it('rejects a signature made with another secret', async () => {
    expect(
      (await verifyWebhook('stripe', input({ headers: header(NOW, signature('whsec_other', NOW, BODY)) }))).verified,
    ).toBe(false);
  });

  it('rejects a replayed request whose timestamp is outside the tolerance', async () => {
    const old = NOW - 301;
    expect(await verifyWebhook('stripe', input({ headers: header(old, signature(SECRET, old, BODY)) }))).toEqual({
      verified: false,
      reason: 'timestamp is 301 s old; at most 300 s is accepted',
    });
    const edge = NOW - 300;
    expect(
      (await verifyWebhook('stripe', input({ headers: header(edge, signature(SECRET, edge, BODY)) }))).verified,
    ).toBe(true);
  });

  it('rejects a timestamp far in the future', async () => {
    const future = NOW + 3600;
    expect(await verifyWebhook('stripe', input({ headers: header(future, signature(SECRET, future, BODY)) }))).toEqual({
      verified: false,
      reason: 'timestamp is 3600 s in the future; at most 300 s is accepted',
    });
  });

  it('rejects a timestamp swapped for a fresh one (it is part of what is signed)', async () => {
    const old = NOW - 1000;
    expect(
      (await verifyWebhook('stripe', input({ headers: header(NOW, signature(SECRET, old, BODY)) }))).verified,
    ).toBe(false);
  });

  it.each([
    ['no timestamp', `v1=${'a'.repeat(64)}`, 'Stripe-Signature header has no timestamp (t=)'],
    ['no v1 signature', `t=${NOW},v0=${'a'.repeat(64)}`, 'Stripe-Signature header has no v1 signature'],
    ['a non-numeric timestamp', `t=soon,v1=${'a'.repeat(64)}`, 'timestamp is not a number of seconds'],
  ])('rejects a header with %s', async (_name, value, reason) => {
    expect(await verifyWebhook('stripe', input({ headers: { 'stripe-signature': value } }))).toEqual({
      verified: false,
      reason,
    });
  });
});

describe('slack', () => {
  const headers = (secret: string, timestamp: number, body: string) => ({
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': `v0=${hmacHex('sha256', secret, `v0:${timestamp}:${body}`)}`,
  });

  it('verifies a valid signature', async () => {
    expect(await verifyWebhook('slack', input({ headers: headers(SECRET, NOW, BODY) }))).toEqual({ verified: true });
  });

  it('rejects a tampered body', async () => {
    expect(await verifyWebhook('slack', input({ headers: headers(SECRET, NOW, BODY), body: TAMPERED }))).toEqual({
      verified: false,
      reason: 'signature does not match the body',
    });
  });

  it('rejects a signature made with another secret', async () => {
    expect((await verifyWebhook('slack', input({ headers: headers('other', NOW, BODY) }))).verified).toBe(false);
  });

  it('rejects a stale timestamp', async () => {
    const old = NOW - 600;
    expect(await verifyWebhook('slack', input({ headers: headers(SECRET, old, BODY) }))).toEqual({
      verified: false,
      reason: 'timestamp is 600 s old; at most 300 s is accepted',
    });
  });

  it('rejects a fresh timestamp header pasted onto an old signature', async () => {
    const replayed = { ...headers(SECRET, NOW - 600, BODY), 'x-slack-request-timestamp': String(NOW) };
    expect((await verifyWebhook('slack', input({ headers: replayed }))).verified).toBe(false);
  });

  it('rejects a request with a signature but no timestamp', async () => {
    const { 'x-slack-signature': signature } = headers(SECRET, NOW, BODY);
    expect(await verifyWebhook('slack', input({ headers: { 'x-slack-signature': signature } }))).toEqual({
      verified: false,
      reason: 'missing X-Slack-Request-Timestamp header',
    });
  });
});

describe('shopify', () => {
  const headers = (secret: string, body: string) => ({ 'x-shopify-hmac-sha256': hmacBase64('sha256', secret, body) });

  it('verifies a valid signature', async () => {
    expect(await verifyWebhook('shopify', input({ headers: headers(SECRET, BODY) }))).toEqual({ verified: true });
  });

  it('rejects a tampered body', async () => {
    expect(await verifyWebhook('shopify', input({ headers: headers(SECRET, BODY), body: TAMPERED }))).toEqual({
      verified: false,
      reason: 'signature does not match the body',
    });
  });

  it('rejects a signature made with another secret', async () => {
    expect((await verifyWebhook('shopify', input({ headers: headers('other', BODY) }))).verified).toBe(false);
  });

  it('rejects a hex signature where base64 is expected', async () => {
    const hex = hmacHex('sha256', SECRET, BODY);
    expect((await verifyWebhook('shopify', input({ headers: { 'x-shopify-hmac-sha256': hex } }))).verified).toBe(false);
  });
});

describe('standard-webhooks', () => {
  const keyBytes = randomBytes(24);
  const secret = `whsec_${keyBytes.toString('base64')}`;
  const messageId = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
  const sign = (key: Buffer, id: string, timestamp: number, body: string) =>
    `v1,${hmacBase64('sha256', key, `${id}.${timestamp}.${body}`)}`;
  const headers = (signature: string, timestamp = NOW, prefix = 'webhook') => ({
    [`${prefix}-id`]: messageId,
    [`${prefix}-timestamp`]: String(timestamp),
    [`${prefix}-signature`]: signature,
  });

  it('verifies a valid signature', async () => {
    const result = await verifyWebhook(
      'standard-webhooks',
      input({ secret, headers: headers(sign(keyBytes, messageId, NOW, BODY)) }),
    );
    expect(result).toEqual({ verified: true });
  });

  it('accepts the svix-* header names', async () => {
    const result = await verifyWebhook(
      'standard-webhooks',
      input({ secret, headers: headers(sign(keyBytes, messageId, NOW, BODY), NOW, 'svix') }),
    );
    expect(result).toEqual({ verified: true });
  });

  it('accepts a secret without the whsec_ prefix', async () => {
    const result = await verifyWebhook(
      'standard-webhooks',
      input({ secret: keyBytes.toString('base64'), headers: headers(sign(keyBytes, messageId, NOW, BODY)) }),
    );
    expect(result).toEqual({ verified: true });
  });

  it('finds the v1 signature among several, skipping other versions', async () => {
    const list = [
      `v1a,${randomBytes(64).toString('base64')}`,
      sign(randomBytes(24), messageId, NOW, BODY),
      sign(keyBytes, messageId, NOW, BODY),
    ].join(' ');
    expect(await verifyWebhook('standard-webhooks', input({ secret, headers: headers(list) }))).toEqual({
      verified: true,
    });
  });

  it('rejects a tampered body', async () => {
    const result = await verifyWebhook(
      'standard-webhooks',
      input({ secret, headers: headers(sign(keyBytes, messageId, NOW, BODY)), body: TAMPERED }),
    );
    expect(result).toEqual({ verified: false, reason: 'no v1 signature matches the body' });
  });

  it('rejects a signature made with another secret', async () => {
    const result = await verifyWebhook(
      'standard-webhooks',
      input({ secret, headers: headers(sign(randomBytes(24), messageId, NOW, BODY)) }),
    );
    expect(result.verified).toBe(false);
  });

  it('rejects a message id swapped after signing', async () => {
    const swapped = { ...headers(sign(keyBytes, messageId, NOW, BODY)), 'webhook-id': 'msg_other' };
    expect((await verifyWebhook('standard-webhooks', input({ secret, headers: swapped }))).verified).toBe(false);
  });

  it('rejects a stale timestamp', async () => {
    const old = NOW - 301;
    const result = await verifyWebhook(
      'standard-webhooks',
      input({ secret, headers: headers(sign(keyBytes, messageId, old, BODY), old) }),
    );
    expect(result).toEqual({ verified: false, reason: 'timestamp is 301 s old; at most 300 s is accepted' });
  });

  it('rejects a secret that is not base64', async () => {
    const result = await verifyWebhook(
      'standard-webhooks',
      input({ secret: 'whsec_not base64!', headers: headers(sign(keyBytes, messageId, NOW, BODY)) }),
    );
    expect(result).toEqual({ verified: false, reason: 'webhook secret is not whsec_ followed by base64' });
  });

  it('rejects a signature list without any v1 entry', async () => {
    const result = await verifyWebhook(
      'standard-webhooks',
      input({ secret, headers: headers(`v1a,${randomBytes(64).toString('base64')}`) }),
    );
    expect(result).toEqual({ verified: false, reason: 'webhook-signature header has no v1 signature' });
  });
});

describe('twilio', () => {
  const url = 'https://hooks.example.com/twilio/sms?tenant=acme';
  const form = 'To=%2B15558675310&From=%2B14158675310&Body=Hello+world%21&MessageSid=SM123&AccountSid=AC123';
  // Sorted by name, each name directly followed by its decoded value.
  const signedParams = 'AccountSidAC123BodyHello world!From+14158675310MessageSidSM123To+15558675310';
  const formHeaders = (signature: string) => ({
    'x-twilio-signature': signature,
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
  });

  it('verifies a form POST signed over the URL and the sorted parameters', async () => {
    const signature = hmacBase64('sha1', SECRET, url + signedParams);
    expect(await verifyWebhook('twilio', input({ url, body: form, headers: formHeaders(signature) }))).toEqual({
      verified: true,
    });
  });

  it('rejects a tampered form body', async () => {
    const signature = hmacBase64('sha1', SECRET, url + signedParams);
    const result = await verifyWebhook(
      'twilio',
      input({ url, body: form.replace('Hello', 'Goodbye'), headers: formHeaders(signature) }),
    );
    expect(result).toEqual({ verified: false, reason: 'signature does not match the URL and parameters' });
  });

  it('rejects a signature made with another auth token', async () => {
    const signature = hmacBase64('sha1', 'other token', url + signedParams);
    expect((await verifyWebhook('twilio', input({ url, body: form, headers: formHeaders(signature) }))).verified).toBe(
      false,
    );
  });

  it('rejects a request replayed to another URL', async () => {
    const signature = hmacBase64('sha1', SECRET, url + signedParams);
    const result = await verifyWebhook(
      'twilio',
      input({ url: url.replace('acme', 'globex'), body: form, headers: formHeaders(signature) }),
    );
    expect(result.verified).toBe(false);
  });

  it('orders repeated parameters by value', async () => {
    const body = 'b=2&a=z&a=y';
    const signature = hmacBase64('sha1', SECRET, `${url}ayazb2`);
    expect(await verifyWebhook('twilio', input({ url, body, headers: formHeaders(signature) }))).toEqual({
      verified: true,
    });
  });

  it('accepts a signature over the URL with the default port spelled out', async () => {
    const signature = hmacBase64('sha1', SECRET, `https://hooks.example.com:443/twilio/sms?tenant=acme${signedParams}`);
    expect(await verifyWebhook('twilio', input({ url, body: form, headers: formHeaders(signature) }))).toEqual({
      verified: true,
    });
  });

  it('accepts a signature over the URL without the port the request arrived on', async () => {
    const signature = hmacBase64('sha1', SECRET, url + signedParams);
    const received = 'https://hooks.example.com:8443/twilio/sms?tenant=acme';
    expect(
      await verifyWebhook('twilio', input({ url: received, body: form, headers: formHeaders(signature) })),
    ).toEqual({ verified: true });
  });

  it('verifies a GET signed over the URL alone', async () => {
    const getUrl = `${url}&CallSid=CA123&From=%2B14158675310`;
    const signature = hmacBase64('sha1', SECRET, getUrl);
    expect(
      await verifyWebhook(
        'twilio',
        input({ method: 'GET', url: getUrl, body: '', headers: { 'x-twilio-signature': signature } }),
      ),
    ).toEqual({
      verified: true,
    });
  });

  it('rejects a body the signature does not cover', async () => {
    const signature = hmacBase64('sha1', SECRET, url);
    const reason = 'body is neither form-encoded nor covered by bodySHA256, so the signature does not protect it';
    const plain = { 'x-twilio-signature': signature, 'content-type': 'text/plain' };
    expect(await verifyWebhook('twilio', input({ url, body: BODY, headers: plain }))).toEqual({
      verified: false,
      reason,
    });
    expect(await verifyWebhook('twilio', input({ method: 'GET', url, body: BODY, headers: plain }))).toEqual({
      verified: false,
      reason,
    });
    expect(await verifyWebhook('twilio', input({ method: 'GET', url, body: '', headers: plain }))).toEqual({
      verified: true,
    });
  });

  it('covers form parameters even on a GET', async () => {
    const signature = hmacBase64('sha1', SECRET, url);
    const result = await verifyWebhook(
      'twilio',
      input({ method: 'GET', url, body: 'Smuggled=1', headers: formHeaders(signature) }),
    );
    expect(result.verified).toBe(false);
  });

  it('verifies a JSON body through the bodySHA256 URL parameter', async () => {
    const jsonUrl = `https://hooks.example.com/twilio/events?bodySHA256=${createHash('sha256').update(BODY).digest('hex')}`;
    const signature = hmacBase64('sha1', SECRET, jsonUrl);
    const headers = { 'x-twilio-signature': signature, 'content-type': 'application/json' };
    expect(await verifyWebhook('twilio', input({ url: jsonUrl, body: BODY, headers }))).toEqual({ verified: true });
    expect(await verifyWebhook('twilio', input({ url: jsonUrl, body: TAMPERED, headers }))).toEqual({
      verified: false,
      reason: 'body does not match the bodySHA256 URL parameter',
    });
  });

  it('rejects a signature header that is not base64', async () => {
    const result = await verifyWebhook('twilio', input({ url, body: form, headers: formHeaders('not base64!') }));
    expect(result).toEqual({ verified: false, reason: 'X-Twilio-Signature header is not base64' });
  });
});
