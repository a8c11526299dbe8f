import { describe, expect, it } from 'vitest';
import { clientCertificateFacts, signatureAlgorithmName, subjectAltNames } from './client-certificate.js';

describe('client certificate facts', () => {
  it("reads Node's subjectaltname, including the values it writes as JSON strings", () => {
    expect(
      subjectAltNames('DNS:a.example.com, email:"x,y@example.com", IP Address:::1, URI:spiffe://example/a, DNS:b'),
    ).toEqual({
      dnsNames: ['a.example.com', 'b'],
      emailAddresses: ['x,y@example.com'],
      ipAddresses: ['::1'],
      uris: ['spiffe://example/a'],
    });
    expect(subjectAltNames('')).toEqual({ dnsNames: [], emailAddresses: [], ipAddresses: [], uris: [] });
  });

  it('names no signature algorithm for DER it cannot follow', () => {
    expect(signatureAlgorithmName(Buffer.from([0x30, 0x82, 0xff]))).toBe('');
    expect(signatureAlgorithmName(Buffer.alloc(0))).toBe('');
  });

  it('reports no certificate when the peer sent none (Node gives an empty object)', () => {
    expect(clientCertificateFacts({} as never)).toBeUndefined();
    expect(clientCertificateFacts(undefined)).toBeUndefined();
  });
});
