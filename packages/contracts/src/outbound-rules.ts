// Where the gateway may connect on a policy editor's behalf (an internal endpoint's upstream, a jwt-validation JWKS
// URL): the one copy of the rules. The API applies them when a URL is saved (to the host as written), the data plane
// when it dials (to the address the connection actually uses, after DNS, so a name that re-resolves to a forbidden
// address is still refused). Pure: ipaddr.js only, so it runs in Node and in the browser; resolving names and
// listing the machine's own addresses is Node code in the apps that call these functions.
import ipaddr from 'ipaddr.js';

/** Ranges an operator can name in GATEHOUSE_UPSTREAM_ALLOW / GATEHOUSE_UPSTREAM_DENY. */
export const outboundRangeNames = ['loopback', 'private', 'link-local', 'metadata', 'unspecified', 'reserved'] as const;
export type OutboundRangeName = (typeof outboundRangeNames)[number];

/**
 * The CIDRs behind each name. `metadata` lists the cloud instance-metadata and host-agent addresses (AWS, GCP,
 * Azure, Oracle, DigitalOcean on 169.254.169.254; AWS IPv6 and ECS; Alibaba; Azure's wire server): reading them
 * hands out the machine's cloud credentials, which is what an SSRF through a proxy is usually after.
 */
const rangeCidrs: Record<OutboundRangeName, readonly string[]> = {
  metadata: ['169.254.169.254/32', '169.254.170.2/32', 'fd00:ec2::254/128', '100.100.100.200/32', '168.63.129.16/32'],
  unspecified: ['0.0.0.0/8', '::/128'],
  'link-local': ['169.254.0.0/16', 'fe80::/10'],
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'],
  reserved: ['224.0.0.0/4', '240.0.0.0/4', 'ff00::/8', '64:ff9b:1::/48', '100::/64', '2001:db8::/32'],
};
/** Classification order: the most specific name first (metadata sits inside link-local). */
const classificationOrder: readonly OutboundRangeName[] = [
  'metadata',
  'unspecified',
  'link-local',
  'loopback',
  'private',
  'reserved',
];

/** Host names that answer like the metadata address on the clouds that offer one. */
const metadataHostNames = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data']);

/** Every range here is refused unless an allow entry names it; what is left (public addresses) is allowed. */
export const defaultDeniedRanges: readonly OutboundRangeName[] = classificationOrder;

/**
 * GATEHOUSE_UPSTREAM_ALLOW when unset: the machine itself and its private networks, because the gateway usually
 * fronts a server next to it (the README walkthrough's upstream is http://127.0.0.1:3333). Link-local, metadata,
 * unspecified and reserved addresses, and the gateway's own listeners, stay refused.
 */
export const defaultUpstreamAllow: readonly string[] = ['loopback', 'private'];

type ParsedCidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

type OutboundEntry =
  | { kind: 'range'; name: OutboundRangeName; text: string }
  | { kind: 'cidr'; cidr: ParsedCidr; text: string }
  | { kind: 'host'; host: string; text: string }
  | { kind: 'suffix'; suffix: string; text: string };

/** Compiled allow and deny lists: build once with `compileOutboundRules`, check many URLs and addresses. */
export interface OutboundRules {
  readonly allow: readonly OutboundEntry[];
  readonly deny: readonly OutboundEntry[];
}

/**
 * The gateway's own listeners: an upstream here would send each request back into the gateway (a forwarding loop).
 * Refused whatever the allow list says.
 */
export interface GatewayListeners {
  /** Traffic, admin and API ports. */
  readonly ports: readonly number[];
  /** The machine's interface addresses (loopback and unspecified count as local anyway). */
  readonly localAddresses: readonly string[];
  /** Names that reach the gateway: `localhost` always; configured public host names. Lower-case. */
  readonly hostNames: readonly string[];
  /**
   * The machine's own host names (`os.hostname()`), lower-case: loopback-like names the API cannot see through without
   * DNS, refused on the gateway's ports only (elsewhere on this machine they are an ordinary local upstream).
   */
  readonly localNames?: readonly string[];
}

export const noGatewayListeners: GatewayListeners = { ports: [], localAddresses: [], hostNames: [] };

export type OutboundVerdict =
  | { allowed: true }
  | {
      allowed: false;
      /** UPSTREAM_IS_GATEWAY: one of the gateway's own listeners; UPSTREAM_FORBIDDEN: outside the allow list. */
      code: 'UPSTREAM_IS_GATEWAY' | 'UPSTREAM_FORBIDDEN';
      problem: string;
    };

const allowed: OutboundVerdict = { allowed: true };

function compileEntry(text: string): OutboundEntry | string {
  const entry = text.trim().toLowerCase();
  if ((outboundRangeNames as readonly string[]).includes(entry))
    return { kind: 'range', name: entry as OutboundRangeName, text: entry };
  if (entry.includes('/')) {
    try {
      return { kind: 'cidr', cidr: ipaddr.parseCIDR(entry), text: entry };
    } catch {
      return `"${text}" is not a CIDR`;
    }
  }
  const address = parseAddress(entry);
  if (address !== undefined)
    return { kind: 'cidr', cidr: [address, address.kind() === 'ipv4' ? 32 : 128], text: entry };
  if (entry.startsWith('*.') && hostNamePattern.test(entry.slice(2)))
    return { kind: 'suffix', suffix: entry.slice(1), text: entry };
  if (hostNamePattern.test(entry)) return { kind: 'host', host: entry, text: entry };
  return `"${text}" is neither a range name (${outboundRangeNames.join(', ')}), an IP address or CIDR, nor a host name`;
}

const hostNamePattern = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Compiles the operator's lists; every bad entry is reported (never only the first). */
export function compileOutboundRules(
  allow: readonly string[],
  deny: readonly string[],
): { ok: true; rules: OutboundRules } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const compile = (texts: readonly string[]): OutboundEntry[] =>
    texts.flatMap((text) => {
      if (text.trim() === '') return [];
      const entry = compileEntry(text);
      if (typeof entry === 'string') {
        problems.push(entry);
        return [];
      }
      return [entry];
    });
  const rules = { allow: compile(allow), deny: compile(deny) };
  return problems.length === 0 ? { ok: true, rules } : { ok: false, problems };
}

/** Splits a comma-separated environment value into entries (empty entries dropped). */
export function splitOutboundList(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** The rules with the default allow list and no deny entries: what an unconfigured process enforces. */
export function defaultOutboundRules(): OutboundRules {
  const compiled = compileOutboundRules(defaultUpstreamAllow, []);
  if (!compiled.ok) throw new Error(compiled.problems.join('; '));
  return compiled.rules;
}

/** An IP literal (URL brackets allowed), IPv4-mapped IPv6 unwrapped; undefined for a name. */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  // ipaddr.isValid also takes legacy forms (`0x7f.1`, `2130706433`); URL parsing has already normalized those, and a
  // resolver answers in dotted or colon form, so only the canonical forms count as literals here.
  if (!ipaddr.IPv4.isValidFourPartDecimal(bare) && !(bare.includes(':') && ipaddr.IPv6.isValid(bare))) return undefined;
  return ipaddr.process(bare);
}

function rangeOf(address: ipaddr.IPv4 | ipaddr.IPv6): OutboundRangeName | undefined {
  for (const name of classificationOrder) if (rangeCidrs[name].some((cidr) => inCidr(address, cidr))) return name;
  return undefined;
}

function inCidr(address: ipaddr.IPv4 | ipaddr.IPv6, cidr: string | ParsedCidr): boolean {
  const [network, bits] = typeof cidr === 'string' ? ipaddr.parseCIDR(cidr) : cidr;
  // Same kind checked first, so the casts only pick one of ipaddr's two overloads.
  return address.kind() === network.kind() && (address as ipaddr.IPv4).match(network, bits);
}

function entryMatchesAddress(entry: OutboundEntry, address: ipaddr.IPv4 | ipaddr.IPv6, range: string | undefined) {
  if (entry.kind === 'cidr') return inCidr(address, entry.cidr);
  // A range name covers its own class only: `link-local` does not re-open the metadata address inside it.
  return entry.kind === 'range' && entry.name === range;
}

function entryMatchesName(entry: OutboundEntry, name: string): boolean {
  if (entry.kind === 'host') return entry.host === name;
  return entry.kind === 'suffix' && name.endsWith(entry.suffix);
}

function isLocal(address: ipaddr.IPv4 | ipaddr.IPv6, gateway: GatewayListeners): boolean {
  const range = rangeOf(address);
  if (range === 'loopback' || range === 'unspecified') return true;
  const text = address.toString();
  return gateway.localAddresses.some((local) => parseAddress(local)?.toString() === text);
}

function gatewayLoop(where: string, port: number): OutboundVerdict {
  return {
    allowed: false,
    code: 'UPSTREAM_IS_GATEWAY',
    problem:
      `${where} port ${port} is one of this gateway's own listeners, so every request would come back into the ` +
      'gateway (a forwarding loop). Point the upstream at the server behind the gateway instead.',
  };
}

function forbidden(what: string, why: string): OutboundVerdict {
  return {
    allowed: false,
    code: 'UPSTREAM_FORBIDDEN',
    problem: `${what} ${why}; an operator can allow it with GATEHOUSE_UPSTREAM_ALLOW (ranges, CIDRs or host names).`,
  };
}

/**
 * Dial time: the address a connection is about to use (after DNS), with the name it was resolved from, if any.
 * Order: the gateway's own listeners (never allowed), the deny list, the allow list, then the default-denied ranges.
 */
export function checkOutboundAddress(
  rules: OutboundRules,
  gateway: GatewayListeners,
  addressText: string,
  port: number,
  name?: string,
): OutboundVerdict {
  const address = parseAddress(addressText);
  if (address === undefined) return forbidden(`"${addressText}"`, 'is not an IP address');
  const shown = address.toString();
  if (isLocal(address, gateway) && gateway.ports.includes(port)) return gatewayLoop(`${shown}`, port);
  const lowerName = name?.toLowerCase();
  const range = rangeOf(address);
  const matches = (entry: OutboundEntry) =>
    entryMatchesAddress(entry, address, range) || (lowerName !== undefined && entryMatchesName(entry, lowerName));
  if (rules.deny.some(matches)) return forbidden(shown, 'is listed in GATEHOUSE_UPSTREAM_DENY');
  if (rules.allow.some(matches)) return allowed;
  if (range !== undefined) return forbidden(shown, `is ${/^[aeiou]/.test(range) ? 'an' : 'a'} ${range} address`);
  return allowed;
}

/**
 * Save time: the host of a URL as written. An IP literal (or `localhost`) is judged like a dialed address; another
 * name is refused when it is a gateway or metadata name or on the deny list, and otherwise left to the dial-time
 * check, which sees what it resolves to.
 */
export function checkOutboundHost(
  rules: OutboundRules,
  gateway: GatewayListeners,
  hostText: string,
  port: number,
): OutboundVerdict {
  const host = hostText.toLowerCase().replace(/\.$/, '');
  if (parseAddress(host) !== undefined) return checkOutboundAddress(rules, gateway, host, port);
  if (host === 'localhost' || host.endsWith('.localhost')) {
    // RFC 6761: these names are loopback, wherever DNS would send them.
    for (const address of ['127.0.0.1', '::1']) {
      const verdict = checkOutboundAddress(rules, gateway, address, port, host);
      if (!verdict.allowed) return { ...verdict, problem: verdict.problem.replace(address, host) };
    }
    return allowed;
  }
  if (gateway.hostNames.some((name) => name === host || (name.startsWith('*.') && host.endsWith(name.slice(1)))))
    return gatewayLoop(host, port);
  if (gateway.localNames?.includes(host) === true && gateway.ports.includes(port)) return gatewayLoop(host, port);
  const matches = (entry: OutboundEntry) => entryMatchesName(entry, host);
  if (rules.deny.some(matches)) return forbidden(host, 'is listed in GATEHOUSE_UPSTREAM_DENY');
  if (rules.allow.some(matches)) return allowed;
  if (metadataHostNames.has(host) && !rules.allow.some((entry) => entry.kind === 'range' && entry.name === 'metadata'))
    return forbidden(host, 'is a cloud metadata service');
  return allowed;
}

/** Save time, for a whole URL (an upstream or a JWKS URL). Not a URL → allowed here: the URL rules report it. */
export function checkOutboundUrl(rules: OutboundRules, gateway: GatewayListeners, text: string): OutboundVerdict {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return allowed;
  }
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return checkOutboundHost(rules, gateway, url.hostname, port);
}

/**
 * A JWKS URL the gateway fetches when a request arrives: https only (keys fetched in clear text can be swapped on the
 * way), unless it stays on the machine (loopback, when loopback is allowed) or the allow list names its host or
 * address explicitly (a CIDR or host name entry); then the same checks as an upstream.
 */
export function checkFetchUrl(rules: OutboundRules, gateway: GatewayListeners, text: string): OutboundVerdict {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return forbidden(`"${text.slice(0, 200)}"`, 'is not a URL');
  }
  if (url.protocol !== 'https:') {
    const host = url.hostname.toLowerCase();
    const address = parseAddress(host) ?? (host === 'localhost' ? parseAddress('127.0.0.1') : undefined);
    // Plain http stays on the machine for a loopback issuer, so allowing loopback allows it; any other address or
    // name must be listed itself (a CIDR or a host name, not a range name such as `private`).
    const explicitlyAllowed = rules.allow.some((entry) =>
      entry.kind === 'cidr'
        ? address !== undefined && inCidr(address, entry.cidr)
        : entry.kind === 'range'
          ? entry.name === 'loopback' && address !== undefined && rangeOf(address) === 'loopback'
          : entryMatchesName(entry, host),
    );
    if (url.protocol !== 'http:' || !explicitlyAllowed)
      return forbidden(text.slice(0, 200), 'is not an https URL (JWKS are fetched over https only)');
  }
  return checkOutboundUrl(rules, gateway, text);
}
