import { isIP } from 'node:net';

/** True for an IPv4/IPv6 CIDR (`10.0.0.0/8`, `2607:6bc0::/48`) or a bare address. */
export function isCidrOrAddress(value: string): boolean {
  const parts = value.split('/');
  if (parts.length > 2) return false;
  const [address = '', prefix] = parts;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}
