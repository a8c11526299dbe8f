import { compileCidrSet, parseIp } from '@gatehouse/traffic-policy';

/** Resolves the client IP of a request from its socket peer and, only for trusted peers, X-Forwarded-For. */
export interface ClientIpResolver {
  clientIpOf(socketAddress: string | undefined, forwardedFor: readonly string[] | undefined): string;
  /** True when the (normalized) peer is a trusted proxy whose X-Forwarded-* headers are believed. */
  trusts(peer: string): boolean;
}

/** Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d; policies and logs use the plain IPv4 form. */
export function normalizeSocketAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * With no trusted proxies the socket address is the client, always: X-Forwarded-For is client-controlled text. When
 * the peer is a trusted proxy, X-Forwarded-For is read from the right (entries nearest to us were added by our own
 * proxies) and the first address that is not a trusted proxy is the client. An entry that is not an IP ends the walk:
 * whatever is left of it cannot be trusted, so the last good hop is used.
 */
export function createClientIpResolver(trustedProxies: readonly string[]): ClientIpResolver {
  if (trustedProxies.length === 0)
    return { clientIpOf: (socketAddress) => normalizeSocketAddress(socketAddress), trusts: () => false };
  const trusted = compileCidrSet(trustedProxies);
  const clientIpOf = (socketAddress: string | undefined, forwardedFor: readonly string[] | undefined): string => {
    const peer = normalizeSocketAddress(socketAddress);
    if (forwardedFor === undefined || forwardedFor.length === 0 || !trusted.contains(peer)) return peer;
    const hops = forwardedFor.flatMap((header) => header.split(',')).map((entry) => entry.trim());
    let client = peer;
    for (let index = hops.length - 1; index >= 0; index--) {
      const hop = stripPort(hops[index]!);
      if (parseIp(hop) === undefined) return client;
      client = hop;
      if (!trusted.contains(hop)) return hop;
    }
    return client;
  };
  return { clientIpOf, trusts: (peer) => trusted.contains(peer) };
}

/** X-Forwarded-For entries are usually bare addresses, but `1.2.3.4:5678` and `[::1]:5678` occur in the wild. */
function stripPort(entry: string): string {
  if (entry.startsWith('[')) {
    const end = entry.indexOf(']');
    return end === -1 ? entry : entry.slice(1, end);
  }
  const colon = entry.indexOf(':');
  return colon !== -1 && colon === entry.lastIndexOf(':') ? entry.slice(0, colon) : entry;
}
