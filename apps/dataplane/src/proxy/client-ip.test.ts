import { describe, expect, it } from 'vitest';
import { createClientIpResolver, normalizeSocketAddress } from './client-ip.js';

describe('client IP resolution', () => {
  it('uses the socket address when no proxy is trusted, whatever X-Forwarded-For says', () => {
    const resolver = createClientIpResolver([]);
    expect(resolver.clientIpOf('::ffff:10.1.2.3', ['1.1.1.1'])).toBe('10.1.2.3');
    expect(resolver.trusts('10.1.2.3')).toBe(false);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    const resolver = createClientIpResolver(['10.0.0.0/8']);
    expect(resolver.clientIpOf('192.0.2.1', ['1.1.1.1'])).toBe('192.0.2.1');
  });

  it('takes the right-most untrusted entry when the peer is trusted', () => {
    const resolver = createClientIpResolver(['10.0.0.0/8', '2001:db8::/32']);
    expect(resolver.clientIpOf('10.0.0.1', ['6.6.6.6, 203.0.113.5, 10.0.0.9'])).toBe('203.0.113.5');
    expect(resolver.clientIpOf('10.0.0.1', ['6.6.6.6', '203.0.113.5,10.0.0.9'])).toBe('203.0.113.5');
    expect(resolver.clientIpOf('::ffff:10.0.0.1', ['[2001:db8::1]:443, 198.51.100.7:1234'])).toBe('198.51.100.7');
  });

  it('uses the left-most entry when every hop is trusted, and stops at garbage', () => {
    const resolver = createClientIpResolver(['10.0.0.0/8']);
    expect(resolver.clientIpOf('10.0.0.1', ['10.0.0.3, 10.0.0.2'])).toBe('10.0.0.3');
    expect(resolver.clientIpOf('10.0.0.1', ['203.0.113.1, not-an-ip, 10.0.0.2'])).toBe('10.0.0.2');
    expect(resolver.clientIpOf('10.0.0.1', undefined)).toBe('10.0.0.1');
  });

  it('normalizes IPv4-mapped IPv6 socket addresses only', () => {
    expect(normalizeSocketAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeSocketAddress('::1')).toBe('::1');
    expect(normalizeSocketAddress(undefined)).toBe('');
  });
});
