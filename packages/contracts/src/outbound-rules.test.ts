import { describe, expect, it } from 'vitest';
import {
  checkFetchUrl,
  checkOutboundAddress,
  checkOutboundUrl,
  compileOutboundRules,
  defaultOutboundRules,
  type GatewayListeners,
  type OutboundRules,
} from './outbound-rules.js';

const gateway: GatewayListeners = {
  ports: [4000, 8080, 8081],
  localAddresses: ['192.168.1.10', 'fe80::1'],
  hostNames: ['gateway.example.com'],
};

function rules(allow: string[], deny: string[] = []): OutboundRules {
  const compiled = compileOutboundRules(allow, deny);
  if (!compiled.ok) throw new Error(compiled.problems.join('; '));
  return compiled.rules;
}

describe('outbound rules: the gateway itself (issue 12, item 1)', () => {
  it("refuses the machine's own host name on a gateway port at save time, and allows it on another port", () => {
    // `hostname` resolves to this machine (often via /etc/hosts), so http://<hostname>:8080 is a loop like localhost.
    const here: GatewayListeners = { ...gateway, localNames: ['gw-host-1'] };
    for (const url of ['http://gw-host-1:8080', 'http://GW-HOST-1.:4000/x'])
      expect(checkOutboundUrl(rules(['loopback', 'private']), here, url)).toMatchObject({
        allowed: false,
        code: 'UPSTREAM_IS_GATEWAY',
      });
    expect(checkOutboundUrl(rules(['loopback', 'private']), here, 'http://gw-host-1:3333')).toEqual({ allowed: true });
  });

  it.each([
    'http://127.0.0.1:8080',
    'http://127.0.0.2:8081',
    'http://localhost:4000',
    'http://api.localhost:4000',
    'http://[::1]:8080',
    'http://0.0.0.0:8080',
    'http://[::]:8081',
    'http://[::ffff:127.0.0.1]:8080',
    'http://192.168.1.10:8080',
    'http://gateway.example.com',
    'https://gateway.example.com:9443/x',
  ])('refuses %s as UPSTREAM_IS_GATEWAY, whatever the allow list says', (url) => {
    const verdict = checkOutboundUrl(rules(['loopback', 'private', '0.0.0.0/0', '::/0']), gateway, url);
    expect(verdict).toMatchObject({ allowed: false, code: 'UPSTREAM_IS_GATEWAY' });
    if (!verdict.allowed) expect(verdict.problem).toContain('forwarding loop');
  });

  it('allows other loopback ports and the private network at the defaults', () => {
    for (const url of [
      'http://127.0.0.1:3333',
      'http://localhost:3333',
      'http://10.1.2.3:80',
      'http://192.168.1.10:3333',
    ])
      expect(checkOutboundUrl(defaultOutboundRules(), gateway, url)).toEqual({ allowed: true });
  });
});

describe('outbound rules: SSRF (issue 12, item 7)', () => {
  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'is a metadata address'],
    ['http://[fd00:ec2::254]/', 'is a metadata address'],
    ['http://100.100.100.200/', 'is a metadata address'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'is a cloud metadata service'],
    ['http://169.254.1.1:80', 'is a link-local address'],
    ['http://[fe80::2]:80', 'is a link-local address'],
    ['http://0.0.0.0:3333', 'is an unspecified address'],
    ['http://224.0.0.1', 'is a reserved address'],
  ])('refuses %s at the defaults', (url, why) => {
    const verdict = checkOutboundUrl(defaultOutboundRules(), gateway, url);
    expect(verdict).toMatchObject({ allowed: false, code: 'UPSTREAM_FORBIDDEN' });
    if (!verdict.allowed) {
      expect(verdict.problem).toContain(why);
      expect(verdict.problem).toContain('GATEHOUSE_UPSTREAM_ALLOW');
    }
  });

  it('refuses loopback and private addresses when the allow list does not name them', () => {
    const strict = rules([]);
    expect(checkOutboundUrl(strict, gateway, 'http://127.0.0.1:3333')).toMatchObject({ allowed: false });
    expect(checkOutboundUrl(strict, gateway, 'http://10.0.0.5:3333')).toMatchObject({ allowed: false });
    expect(checkOutboundUrl(strict, gateway, 'https://mcp.example.net')).toEqual({ allowed: true });
    expect(checkOutboundAddress(strict, gateway, '93.184.215.14', 443)).toEqual({ allowed: true });
  });

  it('judges an address a name resolved to (DNS rebinding) like a literal', () => {
    expect(
      checkOutboundAddress(defaultOutboundRules(), gateway, '169.254.169.254', 80, 'rebind.example.com'),
    ).toMatchObject({ allowed: false, code: 'UPSTREAM_FORBIDDEN' });
    expect(checkOutboundAddress(defaultOutboundRules(), gateway, '::ffff:169.254.169.254', 80)).toMatchObject({
      allowed: false,
    });
  });

  it('lets the operator open a range by name, CIDR or host, and deny wins over allow', () => {
    expect(checkOutboundUrl(rules(['link-local']), gateway, 'http://169.254.1.1')).toEqual({ allowed: true });
    // Allowing link-local does not re-open the metadata address inside it; naming it does.
    expect(checkOutboundUrl(rules(['link-local']), gateway, 'http://169.254.169.254')).toMatchObject({
      allowed: false,
    });
    expect(checkOutboundUrl(rules(['169.254.169.254']), gateway, 'http://169.254.169.254')).toEqual({ allowed: true });
    expect(checkOutboundUrl(rules(['private'], ['10.9.0.0/16']), gateway, 'http://10.9.1.1')).toMatchObject({
      allowed: false,
      problem: expect.stringContaining('GATEHOUSE_UPSTREAM_DENY') as unknown,
    });
    expect(checkOutboundUrl(rules([], ['*.evil.example']), gateway, 'https://a.evil.example')).toMatchObject({
      allowed: false,
    });
  });

  it('reports every bad entry', () => {
    expect(compileOutboundRules(['loopback', 'nonsense!', '10.0.0.0/99'], ['also bad'])).toEqual({
      ok: false,
      problems: [
        expect.stringContaining('nonsense!'),
        expect.stringContaining('10.0.0.0/99'),
        expect.stringContaining('also bad'),
      ],
    });
  });

  it('fetches JWKS over https only, unless on loopback or listed explicitly', () => {
    const defaults = defaultOutboundRules();
    expect(checkFetchUrl(defaults, gateway, 'https://issuer.example.com/.well-known/jwks.json')).toEqual({
      allowed: true,
    });
    expect(checkFetchUrl(defaults, gateway, 'http://issuer.example.com/jwks.json')).toMatchObject({
      allowed: false,
      problem: expect.stringContaining('https') as unknown,
    });
    expect(checkFetchUrl(defaults, gateway, 'http://10.0.0.7/jwks.json')).toMatchObject({ allowed: false });
    expect(checkFetchUrl(defaults, gateway, 'http://127.0.0.1:9999/jwks.json')).toEqual({ allowed: true });
    expect(checkFetchUrl(rules(['issuer.corp']), gateway, 'http://issuer.corp/jwks.json')).toEqual({ allowed: true });
    expect(checkFetchUrl(defaults, gateway, 'https://169.254.169.254/jwks.json')).toMatchObject({ allowed: false });
    expect(checkFetchUrl(defaults, gateway, 'https://127.0.0.1:8081/jwks.json')).toMatchObject({
      code: 'UPSTREAM_IS_GATEWAY',
    });
    expect(checkFetchUrl(defaults, gateway, 'file:///etc/passwd')).toMatchObject({ allowed: false });
  });
});
