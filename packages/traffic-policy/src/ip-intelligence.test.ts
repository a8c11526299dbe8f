import { describe, expect, it } from 'vitest';
import { compileExpression } from './cel-environment.js';
import { PolicyTestCasesSchema, RecordedRequestSchema } from '@gatehouse/contracts';
import {
  compile,
  createPolicyContext,
  evaluate,
  parse,
  replayRequests,
  runPolicyTests,
  validatePolicy,
} from './index.js';
import type { IpIntelligence, IpIntelligenceRecord } from './cel-values.js';
import type { PolicyContext } from './context.js';
import { createMemoryPorts } from './testing/index.js';

/**
 * Golden cases for `conn.geo.*`, `conn.server_region` and `conn.client_ip.as.*` / `is_tor_node` / `is_on_blocklist`,
 * from the examples on ngrok's connection-variables and IP-intelligence pages.
 */

const strongsville: IpIntelligenceRecord = {
  city: 'Strongsville',
  country: 'United States',
  countryCode: 'US',
  latitude: 41.3145,
  longitude: -81.8357,
  radiusKm: 5,
  subdivision: 'Ohio',
  asNumber: 12345,
  asOrganization: 'AMAZON-02',
};

/** Counts lookups, so the tests can tell that only policies reading geo pay for one, once per request. */
class CountingIntelligence implements IpIntelligence {
  lookups = 0;
  constructor(private readonly records: ReadonlyMap<string, IpIntelligenceRecord>) {}
  lookup(address: string): IpIntelligenceRecord | undefined {
    this.lookups += 1;
    return this.records.get(address);
  }
}

function contextFor(
  clientIp: string,
  options: { intelligence?: IpIntelligence; region?: string; categories?: { name: string; cidrs: string[] }[] } = {},
): PolicyContext {
  const ports = createMemoryPorts({ categories: options.categories ?? [] });
  return createPolicyContext(
    {
      endpoint: { id: 'ep_1', url: 'https://geo.example.com', host: 'geo.example.com', type: 'cloud' },
      connection: {
        clientIp,
        clientPort: 50000,
        serverIp: '192.168.1.1',
        serverPort: 443,
        ...(options.region === undefined ? {} : { serverRegion: options.region }),
      },
      request: {
        method: 'GET',
        scheme: 'https',
        host: 'geo.example.com',
        port: '443',
        path: '/',
        query: '',
        headers: new Map(),
      },
    },
    { ...ports, ...(options.intelligence === undefined ? {} : { ipIntelligence: options.intelligence }) },
  );
}

function run(source: string, context: PolicyContext): unknown {
  const check = compileExpression(source, 'on_http_request');
  if (!check.ok) throw new Error(`${source}: ${check.message}`);
  return check.expression.evaluate(context);
}

const known = () => new CountingIntelligence(new Map([['203.0.113.7', strongsville]]));

describe("ngrok's documented geo and IP-intelligence examples", () => {
  it.each([
    ["conn.geo.city == 'Strongsville'", true],
    ["conn.geo.country == 'United States'", true],
    ["conn.geo.country_code != 'US'", false],
    ['double(conn.geo.latitude) >= 45.0', false],
    ['double(conn.geo.longitude) <= -93.0', false],
    ["conn.geo.radius <= '5'", true],
    ["conn.geo.subdivision == 'California'", false],
    ['conn.geo.latitude', '41.3145'],
    ['conn.geo.radius', '5'],
    ['conn.client_ip.as.number == 12345', true],
    ["conn.client_ip.as.organization.contains('AMAZON')", true],
    ["conn.geo.country_code in ['US', 'CA']", true],
  ])('%s → %j', (source, expected) => {
    expect(run(source, contextFor('203.0.113.7', { intelligence: known() }))).toEqual(expected);
  });

  it("reads conn.server_region from the data plane's configured region, '' when none is set", () => {
    expect(run("conn.server_region == 'eu'", contextFor('203.0.113.7', { region: 'eu' }))).toBe(true);
    expect(run('conn.server_region', contextFor('203.0.113.7'))).toBe('');
  });

  it('reads empty strings and AS 0 for an address the database does not know, and without a database', () => {
    for (const context of [contextFor('10.0.0.1', { intelligence: known() }), contextFor('203.0.113.7')]) {
      expect(run('[conn.geo.city, conn.geo.country, conn.geo.country_code, conn.geo.latitude]', context)).toEqual([
        '',
        '',
        '',
        '',
      ]);
      expect(run('conn.client_ip.as.number', context)).toBe(0n);
      expect(run('conn.client_ip.as.organization', context)).toBe('');
    }
  });

  it('fails closed when a rule converts an unknown latitude: double("") is an error, not 0', () => {
    expect(() => run('double(conn.geo.latitude) >= 45.0', contextFor('10.0.0.1', { intelligence: known() }))).toThrow();
  });

  it('is_tor_node and is_on_blocklist follow the categories', () => {
    const categories = [
      { name: 'proxy.anonymous.tor', cidrs: ['198.51.100.0/24'] },
      { name: 'blocklist.firehol.level1', cidrs: ['192.0.2.0/24'] },
    ];
    expect(run('conn.client_ip.is_tor_node == true', contextFor('198.51.100.9', { categories }))).toBe(true);
    expect(run('conn.client_ip.is_on_blocklist', contextFor('198.51.100.9', { categories }))).toBe(false);
    expect(run('conn.client_ip.is_on_blocklist == true', contextFor('192.0.2.1', { categories }))).toBe(true);
    expect(run('conn.client_ip.is_tor_node', contextFor('192.0.2.1', { categories }))).toBe(false);
  });

  it('the checker knows the types: a geo coordinate is a string, an AS number an int', () => {
    expect(compileExpression('conn.geo.latitude >= 45.0', 'on_http_request').ok).toBe(false);
    expect(compileExpression("conn.client_ip.as.number == '1'", 'on_http_request').ok).toBe(false);
    expect(compileExpression('conn.geo.postal_code', 'on_http_request').ok).toBe(false);
    expect(compileExpression("conn.geo.country_code == 'US'", 'on_tcp_connect').ok).toBe(true);
  });
});

describe('geo lookups are lazy and memoised per request', () => {
  const policy = (expression: string) =>
    compile(
      parse(
        `on_http_request:\n  - expressions: ["${expression}"]\n    actions: [{ type: deny }]\n  - actions: [{ type: custom-response, config: { status_code: 200, body: "\${conn.geo.city}, \${conn.geo.country}" } }]\n`,
      ),
      { endpointType: 'cloud' },
    );

  it('a policy that never reads geo never looks up', async () => {
    const intelligence = known();
    const context = contextFor('203.0.113.7', { intelligence });
    const compiled = compile(
      parse('on_http_request:\n  - actions: [{ type: custom-response, config: { status_code: 200 } }]\n'),
      { endpointType: 'cloud' },
    );
    await evaluate(compiled, 'on_http_request', context, createMemoryPorts());
    expect(intelligence.lookups).toBe(0);
  });

  it('several reads in one request cost one lookup, and interpolation sees the names', async () => {
    const intelligence = known();
    const context = contextFor('203.0.113.7', { intelligence });
    const result = await evaluate(
      policy("conn.geo.country_code == 'CA' || conn.geo.city == 'Toronto'"),
      'on_http_request',
      context,
      createMemoryPorts(),
    );
    expect(result.outcome).toMatchObject({
      kind: 'respond',
      response: { status: 200, body: 'Strongsville, United States' },
    });
    expect(intelligence.lookups).toBe(1);
  });

  it("ngrok's route-by-geography example validates for a cloud endpoint", () => {
    const source = [
      'on_http_request:',
      '  - expressions:',
      '      - "conn.geo.country_code == \'US\'"',
      '    actions:',
      '      - type: forward-internal',
      '        config:',
      '          url: http://us-service.internal',
      '  - expressions:',
      '      - "conn.geo.country_code == \'CA\'"',
      '    actions:',
      '      - type: forward-internal',
      '        config:',
      '          url: http://ca-service.internal',
      '  - actions:',
      '      - type: custom-response',
      '        config:',
      '          status_code: 404',
    ].join('\n');
    const result = validatePolicy(source, { endpointType: 'cloud' });
    expect(result.errors).toEqual([]);
  });
});

describe("conn.client_ip.geo, as ngrok's agent examples use it", () => {
  const records = new CountingIntelligence(
    new Map([
      ['203.0.113.7', strongsville],
      ['198.51.100.20', { countryCode: 'DE', continent: 'Europe', registeredCountryCode: 'US' }],
    ]),
  );
  it.each([
    ['203.0.113.7', "conn.client_ip.geo.location.country_code == 'US'", true],
    ['203.0.113.7', 'conn.client_ip.geo.location.is_eu == true', false],
    ['198.51.100.20', 'conn.client_ip.geo.location.is_eu == true', true],
    ['198.51.100.20', "conn.client_ip.geo.location.continent == 'Europe'", true],
    ['198.51.100.20', "conn.client_ip.geo.location.continent in ['North America', 'South America']", false],
    ['198.51.100.20', 'conn.client_ip.geo.registered_location.country_code != conn.geo.country_code', true],
    ['10.0.0.1', "conn.client_ip.geo.location.country_code != 'US'", true],
  ])('%s: %s → %j', (address, source, expected) => {
    expect(run(source, contextFor(address, { intelligence: records }))).toBe(expected);
  });
});

describe('on_tcp_connect where clients connect', () => {
  const policy =
    'on_tcp_connect:\n  - expressions: ["conn.geo.country_code == \'KP\'"]\n    actions: [{ type: deny }]\n';
  it('is allowed on cloud endpoints and on internal-rules endpoints that accept connections (public agent URLs)', () => {
    expect(validatePolicy(policy, { endpointType: 'internal', acceptsConnections: true }).errors).toEqual([]);
    expect(validatePolicy(policy, { endpointType: 'internal' }).errors.map((issue) => issue.code)).toEqual([
      'POLICY_PHASE_NOT_ALLOWED',
    ]);
    expect(validatePolicy(policy, { endpointType: 'internal', acceptsConnections: false }).valid).toBe(false);
  });
});

describe('policy tests and replays state the geo record', () => {
  const blockCountries = compile(
    `on_http_request:
  - expressions: ["conn.geo.country_code in ['KP', 'IR']"]
    actions: [{ type: custom-response, config: { status_code: 401, body: "Unauthorized request due to country of origin." } }]
  - actions: [{ type: custom-response, config: { status_code: 200, body: "\${conn.client_ip.as.organization}" } }]
`,
    { endpointType: 'cloud' },
  );

  it('a policy test case states what the database knows about its client; without it nothing is known', async () => {
    const report = await runPolicyTests(
      blockCountries,
      PolicyTestCasesSchema.parse([
        { name: 'North Korea is refused', request: { client_geo: { country_code: 'KP' } }, expect: { status: 401 } },
        { name: 'unknown passes', request: {}, expect: { status: 200 } },
        {
          name: 'another country passes',
          request: { client_ip: '198.51.100.1', client_geo: { country_code: 'DE', as_number: 3320 } },
          expect: { status: 200 },
        },
      ]),
      { endpoint: { url: 'https://shop.example.com', type: 'cloud' } },
    );
    expect(report).toMatchObject({ passed: 3, failed: 0 });
  });

  it('a replay judges each request on the geo record kept with it; older recordings read unknown', async () => {
    const recorded = (index: number, geo?: { country_code: string }) => ({
      id: `req_${index}`,
      timeMs: Date.UTC(2026, 11, 1, 9, 0, index),
      facts: RecordedRequestSchema.parse({
        method: 'GET',
        scheme: 'https',
        host: 'api.example.com',
        port: '443',
        path: '/',
        query: '',
        headers: [],
        client_ip: '203.0.113.7',
        client_ip_categories: [],
        ...(geo === undefined ? {} : { client_geo: geo }),
        server_port: 443,
        tls: null,
        mcp: null,
      }),
    });
    const results = await replayRequests(
      blockCountries,
      [recorded(0, { country_code: 'IR' }), recorded(1, { country_code: 'US' }), recorded(2)],
      { id: 'ep_1', url: 'https://api.example.com', host: 'api.example.com', type: 'cloud' },
    );
    expect(results.map((result) => result.outcome.status)).toEqual([401, 200, 200]);
  });
});
