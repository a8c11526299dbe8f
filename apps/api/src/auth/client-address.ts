import ipaddr from 'ipaddr.js';

/**
 * The unit the login limiter counts a client by. An IPv4 address (also when it arrives IPv4-mapped, `::ffff:a.b.c.d`)
 * counts alone; an IPv6 address counts as its /64, because one subscriber usually holds a whole /64 and can rotate
 * through 2^64 addresses at no cost. Anything unparsable (no socket address) is one shared bucket, never a free pass.
 *
 * The input is Express's `request.ip`, which believes `X-Forwarded-For` only from GATEHOUSE_TRUSTED_PROXIES (the app's
 * "trust proxy" setting), so a client cannot pick its own bucket by sending that header.
 */
export function loginThrottleSubject(ip: string | null | undefined): string {
  if (!ip || !ipaddr.isValid(ip)) return 'unknown';
  const parsed = ipaddr.process(ip);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const network = ipaddr.IPv6.networkAddressFromCIDR(`${parsed.toNormalizedString()}/64`);
  return `${network.toString()}/64`;
}
