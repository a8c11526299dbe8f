import { describe, expect, it } from 'vitest';
import { loginThrottleSubject } from './client-address';

describe('loginThrottleSubject', () => {
  it('counts an IPv4 client by its address, also when it arrives IPv4-mapped', () => {
    expect(loginThrottleSubject('192.0.2.7')).toBe('192.0.2.7');
    expect(loginThrottleSubject('::ffff:192.0.2.7')).toBe('192.0.2.7');
  });

  it('counts an IPv6 client by its /64, however the address is written', () => {
    const subject = loginThrottleSubject('2001:db8:1:2::1');
    expect(subject).toBe('2001:db8:1:2::/64');
    expect(loginThrottleSubject('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe(subject);
    expect(loginThrottleSubject('2001:DB8:1:2:a:b:c:d')).toBe(subject);
    expect(loginThrottleSubject('2001:db8:1:3::1')).not.toBe(subject);
    expect(loginThrottleSubject('::1')).toBe('::/64');
  });

  it('puts a missing or unparsable address in one shared bucket, never a free pass', () => {
    expect(loginThrottleSubject(null)).toBe('unknown');
    expect(loginThrottleSubject(undefined)).toBe('unknown');
    expect(loginThrottleSubject('not-an-ip')).toBe('unknown');
  });
});
