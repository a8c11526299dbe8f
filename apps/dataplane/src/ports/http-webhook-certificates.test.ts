import { describe, expect, it } from 'vitest';
import { snsCertificateUrlProblem } from './http-webhook-certificates.js';

describe('which SigningCertURLs are fetched', () => {
  const none = new Set<string>();

  it("accepts .pem files on SNS's own https hosts, in every partition", () => {
    for (const url of [
      'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem',
      'https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-a.pem',
      'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-a.pem',
    ])
      expect(snsCertificateUrlProblem(url, none), url).toBeUndefined();
  });

  it('refuses look-alike hosts, plain http, other ports, credentials and files that are not .pem', () => {
    for (const url of [
      'https://sns.us-east-1.amazonaws.com.evil.test/a.pem',
      'https://evil-sns.us-east-1.amazonaws.com/a.pem',
      'https://sns.us-east-1.amazonaws.com:8443/a.pem',
      'http://sns.us-east-1.amazonaws.com/a.pem',
      'https://user:pass@sns.us-east-1.amazonaws.com/a.pem',
      'https://sns.us-east-1.amazonaws.com/a.txt',
      'https://s3.amazonaws.com/a.pem',
      'not a url',
    ])
      expect(snsCertificateUrlProblem(url, none), url).toBeDefined();
  });

  it("trusts an operator's extra host by name or name:port, and nothing else", () => {
    const extra = new Set(['127.0.0.1:8080', 'sns.internal']);
    expect(snsCertificateUrlProblem('http://127.0.0.1:8080/a.pem', extra)).toBeUndefined();
    expect(snsCertificateUrlProblem('https://sns.internal/a.pem', extra)).toBeUndefined();
    expect(snsCertificateUrlProblem('http://127.0.0.1:8081/a.pem', extra)).toBeDefined();
    expect(snsCertificateUrlProblem('file://127.0.0.1:8080/a.pem', extra)).toBeDefined();
  });
});
