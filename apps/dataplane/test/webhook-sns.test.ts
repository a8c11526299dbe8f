import { createSign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestConfigServer } from './helpers/config-server.js';
import { startDataplane, type RunningDataplane } from './helpers/dataplane-harness.js';
import { httpRequest } from './helpers/http.js';
import { createTestCertificate } from './helpers/tls-certificate.js';
import { listen, startEchoUpstream, type RunningServer } from './helpers/upstreams.js';

const ACCOUNT = '123456789012';

/**
 * verify-webhook `sns` end to end: the signing certificate is a real self-signed X.509 certificate (openssl) served
 * by a local server that the operator allows as an SNS certificate host (GATEHOUSE_SNS_CERT_HOSTS, here the data
 * plane option), fetched through the outbound rules and cached; the messages are signed as SNS signs them.
 */
describe('verify-webhook sns with the signing certificate fetched from SigningCertURL', () => {
  const config = new TestConfigServer(undefined);
  let certificates: RunningServer;
  let echo: RunningServer;
  let gateway: RunningDataplane;
  let privateKey: Buffer;
  const certificateFetches: string[] = [];

  beforeAll(async () => {
    const { cert, key } = await createTestCertificate('sns.us-east-1.amazonaws.com');
    privateKey = key;
    certificates = await listen((req, res) => {
      certificateFetches.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(cert);
    });
    echo = await startEchoUpstream();
    await config.start();
    await config.upsertEndpoint({ id: 'ep_echo', url: 'https://echo.internal', upstream_url: echo.url });
    await config.upsertEndpoint({
      id: 'ep_sns',
      url: 'https://hooks.example.com',
      traffic_policy: `on_http_request:
  - actions:
      - type: verify-webhook
        config: { provider: sns, secret: "${ACCOUNT}" }
      - type: forward-internal
        config: { url: "https://echo.internal" }
`,
    });
    gateway = await startDataplane(config, { snsCertificateHosts: [`127.0.0.1:${certificates.port}`] });
  });

  afterAll(async () => {
    await gateway?.stop();
    await config.close();
    await certificates?.close();
    await echo?.close();
  });

  /** A notification signed as SNS does (SignatureVersion 2: SHA256withRSA over `name\nvalue\n` lines). */
  const notification = (fields: Record<string, string> = {}, certificateUrl?: string) => {
    const message: Record<string, string> = {
      Type: 'Notification',
      MessageId: crypto.randomUUID(),
      TopicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:orders`,
      Subject: 'New order',
      Message: '{"order":1299}',
      Timestamp: new Date().toISOString(),
      SignatureVersion: '2',
      SigningCertURL: certificateUrl ?? `${certificates.url}/SimpleNotificationService-test.pem`,
      ...fields,
    };
    const signed = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      .map((name) => `${name}\n${message[name]}\n`)
      .join('');
    message['Signature'] = createSign('RSA-SHA256').update(signed).sign(privateKey, 'base64');
    return message;
  };

  const deliver = (message: Record<string, string>) =>
    httpRequest({
      port: gateway.port,
      host: 'hooks.example.com',
      method: 'POST',
      path: '/sns',
      headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': message['Type']! },
      body: JSON.stringify(message),
    });

  it('verifies signed notifications, fetching the certificate once', async () => {
    const first = await deliver(notification());
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ url: '/sns' });
    expect((await deliver(notification())).status).toBe(200);
    expect(certificateFetches).toEqual(['/SimpleNotificationService-test.pem']);
  });

  it('refuses a tampered message and a message of another account’s topic', async () => {
    const tampered = { ...notification(), Message: '{"order":9999}' };
    const refused = await deliver(tampered);
    expect(refused.status).toBe(403);
    expect(refused.headers['gatehouse-error-code']).toBe('WEBHOOK_VERIFICATION_FAILED');
    const foreign = notification({ TopicArn: 'arn:aws:sns:us-east-1:210987654321:orders' });
    expect((await deliver(foreign)).status).toBe(403);
  });

  it('never fetches a certificate from a host that is not SNS’s (nor allowed by the operator)', async () => {
    const fetches = certificateFetches.length;
    // The same server under another name: the message is validly signed, but its certificate URL is not trusted.
    const elsewhere = notification({}, `http://localhost:${certificates.port}/SimpleNotificationService-test.pem`);
    const refused = await deliver(elsewhere);
    expect(refused.status).toBe(403);
    expect(certificateFetches.length).toBe(fetches);
  });
});
