import { createHash, createHmac, createSign, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { unsupportedWebhookProviders, verifyWebhook, webhookProviders, type WebhookInput } from './webhooks.js';

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
  signingCertificate?: (url: string) => Promise<Uint8Array>;
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
    ...(shape.signingCertificate === undefined ? {} : { signingCertificate: shape.signingCertificate }),
  };
}

function hmacHex(algorithm: string, key: string | Buffer, data: string): string {
  return createHmac(algorithm, key).update(data).digest('hex');
}

function hmacBase64(algorithm: string, key: string | Buffer, data: string): string {
  return createHmac(algorithm, key).update(data).digest('base64');
}

describe('verifyWebhook', () => {
  it('rejects an unknown provider', async () => {
    expect(await verifyWebhook('orbit', input({}))).toEqual({ verified: false, reason: 'unknown provider' });
    // Inherited object keys are not providers either.
    expect(await verifyWebhook('constructor', input({}))).toEqual({ verified: false, reason: 'unknown provider' });
  });

  it.each(webhookProviders)('%s: rejects everything when the configured secret is empty', async (provider) => {
    expect(await verifyWebhook(provider, input({ secret: '', headers: { 'x-gitlab-token': '' } }))).toMatchObject({
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
      reason: 'no signature matches the body',
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
    ['no timestamp', `v1=${'a'.repeat(64)}`, 'stripe-signature header has no timestamp (t=)'],
    ['no v1 signature', `t=${NOW},v0=${'a'.repeat(64)}`, 'stripe-signature header has no signature (v1=)'],
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
      reason: 'missing x-slack-request-timestamp header',
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
    expect(result).toEqual({ verified: false, reason: 'x-twilio-signature header is not base64' });
  });
});

/**
 * One case per provider ngrok lists, each signing a body the way the provider's own documentation (the `docs` of its
 * row in webhook-providers.ts) says it does. Every case must verify, and must be refused with a tampered body (or,
 * where the provider does not sign the body, a tampered signed part), with another secret, and — for providers that
 * sign a timestamp — an hour later.
 */
interface ProviderCase {
  /** Builds the request the provider would send, signed with `secret` at `time` (Unix seconds). */
  sign(secret: string, time: number): RequestShape;
  /** The configured secret (default SECRET) and one that must not verify. */
  secret?: string;
  otherSecret?: string;
  /** Changes a signed part of the request; by default the body. */
  tamper?: (shape: RequestShape) => RequestShape;
  /** The provider signs a timestamp, so a delivery an hour old is refused. */
  timestamped?: boolean;
}

const hex =
  (algorithm: string, ...parts: (string | Buffer)[]) =>
  (secret: string) => {
    const mac = createHmac(algorithm, secret);
    for (const part of parts) mac.update(part);
    return mac.digest('hex');
  };
const b64 =
  (algorithm: string, ...parts: (string | Buffer)[]) =>
  (secret: string) => {
    const mac = createHmac(algorithm, secret);
    for (const part of parts) mac.update(part);
    return mac.digest('base64');
  };
/** A provider that signs the raw body into one header. */
const bodySigned =
  (header: string, sign: (body: string) => (secret: string) => string, prefix = ''): ProviderCase['sign'] =>
  (secret) => ({ headers: { [header]: `${prefix}${sign(BODY)(secret)}` } });
const iso = (time: number) => new Date(time * 1000).toISOString();

const standardKey = randomBytes(32);
const standardSecret = `whsec_${standardKey.toString('base64')}`;
const standardWebhooks: ProviderCase = {
  secret: standardSecret,
  otherSecret: `whsec_${randomBytes(32).toString('base64')}`,
  timestamped: true,
  sign: (secret, time) => {
    const key = Buffer.from(secret.replace('whsec_', ''), 'base64');
    const signature = createHmac('sha256', key).update(`msg_1.${time}.${BODY}`).digest('base64');
    return {
      headers: { 'webhook-id': 'msg_1', 'webhook-timestamp': String(time), 'webhook-signature': `v1,${signature}` },
    };
  },
};
const svixHeaders: ProviderCase = {
  ...standardWebhooks,
  sign: (secret, time) => {
    const headers = standardWebhooks.sign(secret, time).headers ?? {};
    return {
      headers: {
        'svix-id': headers['webhook-id'] ?? '',
        'svix-timestamp': headers['webhook-timestamp'] ?? '',
        'svix-signature': headers['webhook-signature'] ?? '',
      },
    };
  },
};
const meta: ProviderCase = { sign: bodySigned('x-hub-signature-256', (body) => hex('sha256', body), 'sha256=') };

const teamsKey = randomBytes(32).toString('base64');
const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const sendgridOther = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' }).toString('base64');
const sendgridPrivate = new Map([
  [spki(sendgridKeys.publicKey), sendgridKeys.privateKey],
  [spki(sendgridOther.publicKey), sendgridOther.privateKey],
]);

const mandrillUrl = 'https://hooks.example.com/mandrill';
const mandrillForm = `mandrill_events=${encodeURIComponent(BODY)}`;
const zoomValidation = '{"event":"endpoint.url_validation","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"}}';

const SNS_ACCOUNT = '123456789012';
const SNS_CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem';
const snsKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
/** What the data plane's certificate port answers: the key of the certificate at SNS_CERT_URL, nothing elsewhere. */
const snsCertificates = (url: string): Promise<Uint8Array> =>
  url === SNS_CERT_URL
    ? Promise.resolve(new Uint8Array(snsKeys.publicKey.export({ type: 'spki', format: 'der' })))
    : Promise.reject(new Error(`no certificate at ${url}`));

/** An SNS message signed as AWS documents: `name\nvalue\n` for the type's fields in order, RSA over SHA-1 or SHA-256. */
function snsMessage(account: string, fields: Record<string, string>, version: '1' | '2' = '2'): RequestShape {
  const message: Record<string, string> = {
    Type: 'Notification',
    MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
    TopicArn: `arn:aws:sns:us-east-1:${account}:orders`,
    Message: BODY,
    Timestamp: '2026-11-28T09:00:00.000Z',
    SignatureVersion: version,
    SigningCertURL: SNS_CERT_URL,
    ...fields,
  };
  const order =
    message['Type'] === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const signed = order
    .filter((name) => message[name] !== undefined)
    .map((name) => `${name}\n${message[name]}\n`)
    .join('');
  message['Signature'] = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256')
    .update(signed)
    .sign(snsKeys.privateKey, 'base64');
  return {
    headers: { 'x-amz-sns-message-type': message['Type']!, 'content-type': 'text/plain; charset=UTF-8' },
    body: JSON.stringify(message),
    signingCertificate: snsCertificates,
  };
}

const providerCases: Record<string, ProviderCase> = {
  aftership: { sign: bodySigned('aftership-hmac-sha256', (body) => b64('sha256', body)) },
  airship: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: { 'x-ua-timestamp': String(time), 'x-ua-signature': hex('sha256', `${time}:${BODY}`)(secret) },
    }),
  },
  alchemy: { sign: bodySigned('x-alchemy-signature', (body) => hex('sha256', body)) },
  autodesk: { sign: bodySigned('x-adsk-signature', (body) => hex('sha1', body), 'sha1hash=') },
  bitbucket: { sign: bodySigned('x-hub-signature', (body) => hex('sha256', body), 'sha256=') },
  bolt: { sign: bodySigned('x-bolt-hmac-sha256', (body) => b64('sha256', body)) },
  box: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: {
        'box-delivery-timestamp': iso(time),
        'box-signature-primary': b64('sha256', BODY, iso(time))('primary key that rotated out'),
        'box-signature-secondary': b64('sha256', BODY, iso(time))(secret),
      },
    }),
  },
  brex: standardWebhooks,
  buildkite: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: { 'x-buildkite-signature': `timestamp=${time},signature=${hex('sha256', `${time}.${BODY}`)(secret)}` },
    }),
  },
  calendly: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: { 'calendly-webhook-signature': `t=${time},v1=${hex('sha256', `${time}.${BODY}`)(secret)}` },
    }),
  },
  castle: { sign: bodySigned('x-castle-signature', (body) => b64('sha256', body)) },
  chargify: { sign: bodySigned('x-chargify-webhook-signature-hmac-sha-256', (body) => hex('sha256', body)) },
  circleci: {
    sign: (secret) => ({
      headers: { 'circleci-signature': `v2=${'0'.repeat(64)},v1=${hex('sha256', BODY)(secret)}` },
    }),
  },
  clearbit: { sign: bodySigned('x-request-signature', (body) => hex('sha1', body), 'sha1=') },
  clerk: svixHeaders,
  coinbase: { sign: bodySigned('x-cc-webhook-signature', (body) => hex('sha256', body)) },
  contentful: {
    timestamped: true,
    sign: (secret, time) => {
      const ms = String(time * 1000);
      const signedHeaders = 'x-contentful-timestamp,x-contentful-signed-headers,x-contentful-topic';
      const topic = 'ContentManagement.Entry.publish';
      const canonical = [
        'POST',
        '/incoming?space=main',
        `x-contentful-timestamp:${ms};x-contentful-signed-headers:${signedHeaders};x-contentful-topic:${topic}`,
        BODY,
      ].join('\n');
      return {
        url: 'https://hooks.example.com/incoming?space=main',
        headers: {
          'x-contentful-timestamp': ms,
          'x-contentful-signed-headers': signedHeaders,
          'x-contentful-topic': topic,
          'x-contentful-signature': hex('sha256', canonical)(secret),
        },
      };
    },
    // A signed header changed in transit is as bad as a changed body.
    tamper: (shape) => ({
      ...shape,
      headers: { ...shape.headers, 'x-contentful-topic': 'ContentManagement.Entry.delete' },
    }),
  },
  docusign: {
    sign: (secret) => ({
      headers: {
        'x-docusign-signature-1': b64('sha256', BODY)('an older key'),
        'x-docusign-signature-2': b64('sha256', BODY)(secret),
      },
    }),
  },
  dropbox: { sign: bodySigned('x-dropbox-signature', (body) => hex('sha256', body)) },
  facebook_graph_api: { sign: bodySigned('x-hub-signature', (body) => hex('sha1', body), 'sha1=') },
  facebook_messenger: meta,
  frameio: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: {
        'x-frameio-request-timestamp': String(time),
        'x-frameio-signature': `v0=${hex('sha256', `v0:${time}:${BODY}`)(secret)}`,
      },
    }),
  },
  github: { sign: bodySigned('x-hub-signature-256', (body) => hex('sha256', body), 'sha256=') },
  gitlab: {
    sign: (secret) => ({ headers: { 'x-gitlab-token': secret } }),
    // GitLab sends the token, not a signature: nothing covers the body, so the token itself is what can be wrong.
    tamper: (shape) => ({ ...shape, headers: { 'x-gitlab-token': `${shape.headers?.['x-gitlab-token']}x` } }),
  },
  go1: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: { 'go1-signature': `t=${time},v1=${hex('sha256', `${time}.${BODY}`)(secret)}` },
    }),
  },
  graphcms: {
    timestamped: true,
    sign: (secret, time) => {
      const ms = time * 1000;
      const payload = JSON.stringify({ Body: BODY, EnvironmentName: 'master', TimeStamp: ms });
      return { headers: { 'gcms-signature': `sign=${b64('sha256', payload)(secret)}, env=master, t=${ms}` } };
    },
  },
  heroku: { sign: bodySigned('heroku-webhook-hmac-sha256', (body) => b64('sha256', body)) },
  hostedhooks: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: { 'hostedhooks-signature': `t=${time},s=${hex('sha256', `${time}.${BODY}`)(secret)}` },
    }),
  },
  hubspot: {
    timestamped: true,
    sign: (secret, time) => {
      const url = 'https://hooks.example.com/hubspot?portal=62515';
      const ms = String(time * 1000);
      return {
        url,
        headers: {
          'x-hubspot-request-timestamp': ms,
          'x-hubspot-signature-v3': b64('sha256', `POST${url}${BODY}${ms}`)(secret),
        },
      };
    },
  },
  instagram: meta,
  intercom: { sign: bodySigned('x-hub-signature', (body) => hex('sha1', body), 'sha1=') },
  jira: { sign: bodySigned('x-hub-signature', (body) => hex('sha256', body), 'sha256=') },
  launch_darkly: { sign: bodySigned('x-ld-signature', (body) => hex('sha256', body)) },
  linear: {
    timestamped: true,
    sign: (secret, time) => {
      const body = JSON.stringify({ action: 'create', type: 'Issue', webhookTimestamp: time * 1000 });
      return { body, headers: { 'linear-signature': hex('sha256', body)(secret) } };
    },
    tamper: (shape) => ({ ...shape, body: String(shape.body).replace('create', 'remove') }),
  },
  mailchimp: {
    sign: (secret) => ({
      url: mandrillUrl,
      body: mandrillForm,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-mandrill-signature': b64('sha1', `${mandrillUrl}mandrill_events${BODY}`)(secret),
      },
    }),
    tamper: (shape) => ({ ...shape, body: `mandrill_events=${encodeURIComponent(TAMPERED)}` }),
  },
  mailgun: {
    timestamped: true,
    sign: (secret, time) => {
      const token = 'a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0';
      const signature = { timestamp: String(time), token, signature: hex('sha256', `${time}${token}`)(secret) };
      return { body: JSON.stringify({ signature, 'event-data': { event: 'delivered' } }) };
    },
    // Mailgun signs the timestamp and token (the body carries them); a changed token breaks the signature.
    tamper: (shape) => ({ ...shape, body: String(shape.body).replace('a8ce0edb', 'b8ce0edb') }),
  },
  microsoft_teams: {
    secret: teamsKey,
    otherSecret: randomBytes(32).toString('base64'),
    sign: (secret) => ({
      headers: {
        authorization: `HMAC ${createHmac('sha256', Buffer.from(secret, 'base64')).update(BODY).digest('base64')}`,
      },
    }),
  },
  modern_treasury: { sign: bodySigned('x-signature', (body) => hex('sha256', body)) },
  mongodb: { sign: bodySigned('endpoint-signature', (body) => hex('sha256', body), 'sha256=') },
  mux: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: { 'mux-signature': `t=${time},v1=${hex('sha256', `${time}.${BODY}`)(secret)}` },
    }),
  },
  orb: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: {
        'x-orb-timestamp': iso(time),
        'x-orb-signature': `v1=${hex('sha256', `v1:${iso(time)}:${BODY}`)(secret)}`,
      },
    }),
  },
  pagerduty: {
    sign: (secret) => ({
      headers: {
        'x-pagerduty-signature': `v1=${hex('sha256', BODY)('rotated out')},v1=${hex('sha256', BODY)(secret)}`,
      },
    }),
  },
  pinwheel: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: {
        'x-timestamp': String(time),
        'x-pinwheel-signature': `v2=${hex('sha256', `v2:${time}:${BODY}`)(secret)}`,
      },
    }),
  },
  plivo: {
    sign: (secret) => ({
      url: 'https://hooks.example.com/plivo/answer?CallUUID=abc',
      headers: {
        'x-plivo-signature-v2-nonce': '05429567804466091622',
        'x-plivo-signature-v2': b64('sha256', 'https://hooks.example.com/plivo/answer05429567804466091622')(secret),
      },
    }),
    // Plivo's V2 signature covers the URL (without query) and the nonce; a request replayed to another URL fails.
    tamper: (shape) => ({ ...shape, url: 'https://hooks.example.com/plivo/hangup?CallUUID=abc' }),
  },
  pusher: { sign: bodySigned('x-pusher-signature', (body) => hex('sha256', body)) },
  sendgrid: {
    secret: spki(sendgridKeys.publicKey),
    otherSecret: spki(sendgridOther.publicKey),
    timestamped: true,
    sign: (secret, time) => {
      const privateKey = sendgridPrivate.get(secret);
      if (!privateKey) throw new Error('no private key for this public key');
      const signature = createSign('sha256').update(`${time}${BODY}`).sign(privateKey).toString('base64');
      return {
        headers: {
          'x-twilio-email-event-webhook-timestamp': String(time),
          'x-twilio-email-event-webhook-signature': signature,
        },
      };
    },
  },
  sentry: { sign: bodySigned('sentry-hook-signature', (body) => hex('sha256', body)) },
  shopify: { sign: bodySigned('x-shopify-hmac-sha256', (body) => b64('sha256', body)) },
  signal_sciences: { sign: bodySigned('x-sigsci-signature', (body) => hex('sha256', body)) },
  slack: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: {
        'x-slack-request-timestamp': String(time),
        'x-slack-signature': `v0=${hex('sha256', `v0:${time}:${BODY}`)(secret)}`,
      },
    }),
  },
  sonatype: { sign: bodySigned('x-nexus-webhook-signature', (body) => hex('sha1', body)) },
  square: {
    sign: (secret) => ({
      url: 'https://hooks.example.com/square',
      headers: { 'x-square-hmacsha256-signature': b64('sha256', 'https://hooks.example.com/square', BODY)(secret) },
    }),
  },
  stripe: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: { 'stripe-signature': `t=${time},v1=${hex('sha256', `${time}.${BODY}`)(secret)}` },
    }),
  },
  svix: svixHeaders,
  'standard-webhooks': standardWebhooks,
  terraform: { sign: bodySigned('x-tfe-notification-signature', (body) => hex('sha512', body)) },
  tiktok: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: { 'tiktok-signature': `t=${time},s=${hex('sha256', `${time}.${BODY}`)(secret)}` },
    }),
  },
  trendmicro_conformity: { sign: bodySigned('x-conformity-signature', (body) => hex('sha256', body)) },
  twilio: {
    sign: (secret) => {
      const url = 'https://hooks.example.com/twilio';
      return {
        url,
        body: 'Body=Hello&From=%2B14158675310',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': b64('sha1', `${url}BodyHelloFrom+14158675310`)(secret),
        },
      };
    },
    tamper: (shape) => ({ ...shape, body: 'Body=Goodbye&From=%2B14158675310' }),
  },
  twitter: { sign: bodySigned('x-twitter-webhooks-signature', (body) => b64('sha256', body), 'sha256=') },
  typeform: { sign: bodySigned('typeform-signature', (body) => b64('sha256', body), 'sha256=') },
  webex: { sign: bodySigned('x-spark-signature', (body) => hex('sha1', body)) },
  whatsapp: meta,
  worldline: { sign: bodySigned('x-gcs-signature', (body) => b64('sha256', body)) },
  xero: { sign: bodySigned('x-xero-signature', (body) => b64('sha256', body)) },
  zendesk: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: {
        'x-zendesk-webhook-signature-timestamp': iso(time),
        'x-zendesk-webhook-signature': b64('sha256', `${iso(time)}${BODY}`)(secret),
      },
    }),
  },
  sns: {
    secret: SNS_ACCOUNT,
    otherSecret: '210987654321',
    sign: (secret) => snsMessage(secret, { Subject: 'Order 1299' }),
    tamper: (shape) => ({ ...shape, body: String(shape.body).replace('"amount\\":1299', '"amount\\":9999') }),
  },
  vmware: {
    secret: 'gatehouse::correct horse::battery',
    otherSecret: 'gatehouse::wrong',
    sign: (secret) => ({
      headers: { authorization: `Basic ${Buffer.from(secret.replace('::', ':')).toString('base64')}` },
    }),
    // Only the sender is authenticated (Workspace ONE signs nothing): a changed username is what must fail.
    tamper: (shape) => ({
      ...shape,
      headers: { authorization: `Basic ${Buffer.from('intruder:correct horse::battery').toString('base64')}` },
    }),
  },
  zoom: {
    timestamped: true,
    sign: (secret, time) => ({
      headers: {
        'x-zm-request-timestamp': String(time),
        'x-zm-signature': `v0=${hex('sha256', `v0:${time}:${BODY}`)(secret)}`,
      },
    }),
  },
};

describe('every provider ngrok documents', () => {
  it('has a row for each id on ngrok’s list, except orbit, refused with a reason', () => {
    const ngrokIds = [
      ...['aftership', 'airship', 'alchemy', 'sns', 'autodesk', 'bitbucket', 'bolt', 'box', 'brex', 'buildkite'],
      ...['calendly', 'castle', 'chargify', 'circleci', 'clearbit', 'clerk', 'coinbase', 'contentful', 'docusign'],
      ...['dropbox', 'facebook_graph_api', 'facebook_messenger', 'frameio', 'github', 'gitlab', 'go1', 'heroku'],
      ...['hostedhooks', 'hubspot', 'graphcms', 'instagram', 'intercom', 'jira', 'launch_darkly', 'linear'],
      ...['mailchimp', 'mailgun', 'microsoft_teams', 'modern_treasury', 'mongodb', 'mux', 'orb', 'orbit', 'pagerduty'],
      ...['pinwheel', 'plivo', 'pusher', 'sendgrid', 'sentry', 'shopify', 'signal_sciences', 'slack', 'sonatype'],
      ...['square', 'stripe', 'svix', 'terraform', 'tiktok', 'trendmicro_conformity', 'twilio', 'twitter'],
      ...['typeform', 'vmware', 'webex', 'whatsapp', 'worldline', 'xero', 'zendesk', 'zoom'],
    ];
    expect(ngrokIds).toHaveLength(69);
    const missing = ngrokIds.filter((id) => !webhookProviders.includes(id) && !unsupportedWebhookProviders.has(id));
    expect(missing).toEqual([]);
    expect([...unsupportedWebhookProviders.keys()].sort()).toEqual(['orbit']);
    // Gatehouse's one addition: the Standard Webhooks spec by name.
    expect(webhookProviders.filter((id) => !ngrokIds.includes(id))).toEqual(['standard-webhooks']);
    expect(Object.keys(providerCases).sort()).toEqual([...webhookProviders].sort());
  });

  describe.each(Object.entries(providerCases))('%s', (provider, testCase) => {
    const secret = testCase.secret ?? SECRET;
    const otherSecret = testCase.otherSecret ?? 'another secret entirely';
    const tamper = testCase.tamper ?? ((shape: RequestShape) => ({ ...shape, body: TAMPERED }));

    it('verifies a request signed as the provider documents', async () => {
      expect(await verifyWebhook(provider, input({ secret, ...testCase.sign(secret, NOW - 5) }))).toMatchObject({
        verified: true,
      });
    });

    it('refuses it once a signed part is tampered with', async () => {
      const result = await verifyWebhook(provider, input({ secret, ...tamper(testCase.sign(secret, NOW - 5)) }));
      expect(result.verified).toBe(false);
    });

    it('refuses a request signed with another secret', async () => {
      const result = await verifyWebhook(provider, input({ secret, ...testCase.sign(otherSecret, NOW - 5) }));
      expect(result.verified).toBe(false);
    });

    it.runIf(testCase.timestamped)('refuses a delivery signed an hour ago (replay)', async () => {
      const result = await verifyWebhook(provider, input({ secret, ...testCase.sign(secret, NOW - 3600) }));
      expect(result.verified).toBe(false);
      if (!result.verified) expect(result.reason).toMatch(/^timestamp is \d+ s old/);
    });
  });
});

describe('sns', () => {
  const verifySns = (shape: RequestShape) => verifyWebhook('sns', input({ secret: SNS_ACCOUNT, ...shape }));

  it('verifies a SubscriptionConfirmation (its own field list) and SignatureVersion 1 (SHA-1)', async () => {
    const confirmation = snsMessage(SNS_ACCOUNT, {
      Type: 'SubscriptionConfirmation',
      Message: 'You have chosen to subscribe to the topic arn:aws:sns:us-east-1:123456789012:orders.',
      SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=2336412f37',
      Token: '2336412f37',
    });
    expect(await verifySns(confirmation)).toEqual({ verified: true });
    expect(await verifySns(snsMessage(SNS_ACCOUNT, {}, '1'))).toEqual({ verified: true });
  });

  it('refuses a message whose certificate cannot be had, or where nothing can fetch one', async () => {
    const elsewhere = snsMessage(SNS_ACCOUNT, { SigningCertURL: 'https://attacker.example/cert.pem' });
    // The URL is signed over by nobody: it only says where the key is, and the port refuses anything not SNS's.
    expect(await verifySns(elsewhere)).toMatchObject({ verified: false, reason: /certificate could not be had/ });
    const { signingCertificate: _fetcher, ...withoutFetcher } = snsMessage(SNS_ACCOUNT, {});
    expect(await verifySns(withoutFetcher)).toMatchObject({ verified: false, reason: /no signing certificate/ });
  });

  it('refuses an unknown Type, a header that disagrees with it, and an unknown SignatureVersion', async () => {
    const signed = snsMessage(SNS_ACCOUNT, {});
    const body = JSON.parse(String(signed.body)) as Record<string, string>;
    expect(await verifySns({ ...signed, body: JSON.stringify({ ...body, Type: 'Other' }) })).toMatchObject({
      verified: false,
    });
    expect(
      await verifySns({ ...signed, headers: { 'x-amz-sns-message-type': 'SubscriptionConfirmation' } }),
    ).toMatchObject({ verified: false, reason: 'x-amz-sns-message-type differs from Type' });
    expect(await verifySns({ ...signed, body: JSON.stringify({ ...body, SignatureVersion: '3' }) })).toMatchObject({
      verified: false,
      reason: 'unsupported SNS SignatureVersion',
    });
  });
});

describe('endpoint verification handshakes', () => {
  it('zoom: answers a signed endpoint.url_validation with the token and its HMAC', async () => {
    const headers = {
      'x-zm-request-timestamp': String(NOW),
      'x-zm-signature': `v0=${hex('sha256', `v0:${NOW}:${zoomValidation}`)(SECRET)}`,
    };
    const result = await verifyWebhook('zoom', input({ body: zoomValidation, headers }));
    expect(result).toEqual({
      verified: true,
      challenge: {
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
          encryptedToken: hex('sha256', 'qgg8vlvZRS6UYooatFL8Aw')(SECRET),
        }),
      },
    });
    // Unsigned, the same body gets no HMAC.
    const unsigned = await verifyWebhook('zoom', input({ body: zoomValidation }));
    expect(unsigned).toMatchObject({ verified: false });
    expect(unsigned).not.toHaveProperty('challenge');
  });

  it('twitter: answers the CRC GET with the token’s HMAC, only for token-shaped values', async () => {
    const url = 'https://hooks.example.com/twitter?crc_token=Q2hhbGxlbmdlVG9rZW4';
    const result = await verifyWebhook('twitter', input({ method: 'GET', url, body: '' }));
    expect(result).toMatchObject({
      verified: false,
      challenge: {
        status: 200,
        body: JSON.stringify({ response_token: `sha256=${b64('sha256', 'Q2hhbGxlbmdlVG9rZW4')(SECRET)}` }),
      },
    });
    // A JSON event as crc_token would make the answer a valid delivery signature for that event: not answered.
    const forged = `https://hooks.example.com/twitter?crc_token=${encodeURIComponent(BODY)}`;
    const refused = await verifyWebhook('twitter', input({ method: 'GET', url: forged, body: '' }));
    expect(refused).toMatchObject({ verified: false });
    expect(refused).not.toHaveProperty('challenge');
  });

  it('worldline: echoes the verification header on GET', async () => {
    const result = await verifyWebhook(
      'worldline',
      input({ method: 'GET', body: '', headers: { 'x-gcs-webhooks-endpoint-verification': 'Xq3t8pYz' } }),
    );
    expect(result).toMatchObject({ challenge: { status: 200, body: 'Xq3t8pYz' } });
  });

  it('xero: a bad signature gets 401, as its intent-to-receive check requires', async () => {
    const result = await verifyWebhook('xero', input({ headers: { 'x-xero-signature': b64('sha256', BODY)('nope') } }));
    expect(result).toMatchObject({ verified: false, status: 401 });
  });

  it('hubspot: verifies the v1 and v2 signatures by X-HubSpot-Signature-Version', async () => {
    const url = 'https://hooks.example.com/hubspot';
    const v1 = createHash('sha256').update(`${SECRET}${BODY}`).digest('hex');
    const v2 = createHash('sha256').update(`${SECRET}POST${url}${BODY}`).digest('hex');
    expect(await verifyWebhook('hubspot', input({ url, headers: { 'x-hubspot-signature': v1 } }))).toEqual({
      verified: true,
    });
    const headers = { 'x-hubspot-signature': v2, 'x-hubspot-signature-version': 'v2' };
    expect(await verifyWebhook('hubspot', input({ url, headers }))).toEqual({ verified: true });
    expect((await verifyWebhook('hubspot', input({ url, headers, body: TAMPERED }))).verified).toBe(false);
  });

  it('square: verifies the legacy SHA-1 header', async () => {
    const url = 'https://hooks.example.com/square';
    const headers = { 'x-square-signature': b64('sha1', url, BODY)(SECRET) };
    expect(await verifyWebhook('square', input({ url, headers }))).toEqual({ verified: true });
  });
});
