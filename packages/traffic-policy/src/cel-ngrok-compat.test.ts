import { describe, expect, it } from 'vitest';
import { compileExpression } from './cel-environment.js';
import { compile, createPolicyContext, evaluate as evaluatePhase, type HeaderMap } from './index.js';
import { createMemoryPorts } from './testing/index.js';
import { tlsVersion, type ClientCertificateFacts } from './context.js';

/**
 * Golden cases from ngrok's Traffic Policy reference (macros and variables pages): each documented example, evaluated
 * by Gatehouse, must give the value ngrok documents. Hash values are ngrok's own examples for 'hello'.
 */

const ua = {
  iphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  safariMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/10.1.2 Safari/605.1.15',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
};

function context(headers: Record<string, string | string[]> = {}, response?: Record<string, string | string[]>) {
  const map = (record: Record<string, string | string[]>): HeaderMap =>
    new Map(Object.entries(record).map(([name, value]) => [name, Array.isArray(value) ? value : [value]]));
  const ports = createMemoryPorts();
  const policyContext = createPolicyContext(
    {
      endpoint: { id: 'ep_1', url: 'https://my-subdomain.ngrok.app', host: 'my-subdomain.ngrok.app', type: 'cloud' },
      connection: {
        clientIp: '127.0.0.1',
        clientPort: 50000,
        serverIp: '192.168.1.1',
        serverPort: 443,
        tls: { version: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', sni: 'client.example.com' },
        startedAtMs: Date.parse('2024-06-01T00:00:00Z'),
      },
      request: {
        method: 'GET',
        scheme: 'https',
        host: 'nba.com',
        port: '443',
        path: '/api/players',
        rawPath: '/api/%70layers',
        query: 'number=23&name=jordan',
        headers: map(headers),
      },
    },
    ports,
  );
  if (response !== undefined) policyContext.response = { status: 302, headers: map(response) };
  return policyContext;
}

function evaluate(source: string, policyContext = context()): unknown {
  const check = compileExpression(source, 'on_http_response');
  if (!check.ok) throw new Error(`${source}: ${check.message}`);
  return check.expression.evaluate(policyContext);
}

function checkFails(source: string): string {
  const check = compileExpression(source, 'on_http_response');
  expect(check.ok, source).toBe(false);
  return check.ok ? '' : check.message;
}

describe("ngrok's documented macros", () => {
  it.each([
    // Base64 and basic auth
    ["base64.decode('aGVsbG8=') == b'hello'", true],
    ["base64.encode(b'hello')", 'aGVsbG8='],
    ["basic_auth.encode('username', 'password1')", 'Basic dXNlcm5hbWU6cGFzc3dvcmQx'],
    // Hashes: every digest, default hex and both formats, namespace and receiver forms
    ["hash.crc32('hello')", '3610a686'],
    ["hash.crc32('hello', 'base64')", 'NhCmhg=='],
    ["hash.crc64('hello')", '3c3eeee2d8100000'],
    ["hash.crc64('hello', 'base64')", 'PD7u4tgQAAA='],
    ["hash.md5('hello')", '5d41402abc4b2a76b9719d911017c592'],
    ["hash.md5('hello', 'base64')", 'XUFAKrxLKna5cZ2REBfFkg=='],
    ["hash.sha1('hello', 'hex')", 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d'],
    ["hash.sha1('hello', 'base64')", 'qvTGHdzF6KLavt4PO0gs2a6pQ00='],
    ["hash.sha256('hello')", '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'],
    ["hash.sha256('hello', 'base64')", 'LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ='],
    [
      "hash.sha512('hello')",
      '9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043',
    ],
    [
      "hash.sha512('hello', 'base64')",
      'm3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw==',
    ],
    ["hash.xxhash64('hello')", '26c7827d889f6da3'],
    ["hash.xxhash64('hello', 'base64')", 'JseCfYifbaM='],
    ["hash.xxhash64('')", 'ef46db3751d8e999'],
    ["'hello'.md5()", '5d41402abc4b2a76b9719d911017c592'],
    ["'hello'.sha1()", 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d'],
    ["'hello'.sha256('base64')", 'LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ='],
    ["'hello'.crc32('hex')", '3610a686'],
    ["'hello'.crc64()", '3c3eeee2d8100000'],
    ["'hello'.xxhash64('base64')", 'JseCfYifbaM='],
    // JSON
    ['json.decode(\'{"a":"b"}\').a', 'b'],
    ['json.decode(\'["a","b","c"]\')[2]', 'c'],
    ['json.encode({"a": "b"})', '{"a":"b"}'],
    ['json.encode(["a", "b", "c"])', '["a","b","c"]'],
    ['["a","b","c"].encodeJson()', '["a","b","c"]'],
    ['{"a":"b","c":"d"}.encodeJson()', '{"a":"b","c":"d"}'],
    ['json.encode(req.content_type.parameters)', '{"charset":"UTF-8"}'],
    // Query strings
    [
      'queryString.decode("a=b&c=d")',
      new Map([
        ['a', 'b'],
        ['c', 'd'],
      ]),
    ],
    ['queryString.decode(req.url.query)["name"] == "jordan"', true],
    ['"a=b&c=d".decodeQueryString()["c"]', 'd'],
    ['queryString.encode({"q":"policy"})', 'q=policy'],
    ['{"c":"d","a":"b"}.encodeQueryString()', 'a=b&c=d'],
    ['queryString.encode({"q": ["a b", "c&d"]})', 'q=a+b&q=c%26d'],
    // URL
    ['url.escape("i;md/r/$y")', 'i%3Bmd%2Fr%2F%24y'],
    ['url.unescape("i%3Bmd%2Fr%2F%24y")', 'i;md/r/$y'],
    ["url.unescape('%2Ffoo') == '/foo'", true],
    ['url.parse("https://ngrok.com").host', 'ngrok.com'],
    ["url.parse(string(req.url)).host == 'nba.com'", true],
    // Predicates
    ['\'{"a":"b","c":"d"}\'.isJson()', true],
    ["'not json'.isJson()", false],
    ["isJson('[1]')", true],
    ["'https://ngrok.com'.isURL()", true],
    ["'not a url'.isURL()", false],
    ["'a=b&c=d'.isQueryString()", true],
    ["'not a query string'.isQueryString()", false],
    // Lists
    ['[1,2,3,4].slice(1, 3)', [2n, 3n]],
    ['[1,2,3,4].slice(2, 4)', [3n, 4n]],
    ['[1,[2,3],[4]].flatten()', [1n, 2n, 3n, 4n]],
    ['[1,[2,[3,4]]].flatten()', [1n, 2n, [3n, 4n]]],
    ['[1,2,[],[],[3,4]].flatten()', [1n, 2n, 3n, 4n]],
    ['[1,[2,[3,[4]]]].flatten(2)', [1n, 2n, 3n, [4n]]],
    ['[3, 2, 1].sort()', [1n, 2n, 3n]],
    ['["b", "c", "a"].sort()', ['a', 'b', 'c']],
    ['[1, 2, 2, 3, 3, 3].distinct()', [1n, 2n, 3n]],
    ['["b", "b", "c", "a", "c"].distinct()', ['b', 'c', 'a']],
    ['[1, "b", 2, "b"].distinct()', [1n, 'b', 2n]],
    [
      '[{"name": "foo", "score": 0}, {"name": "bar", "score": -10}, {"name": "baz", "score": 1000}].sortBy(e, e.score).map(e, e.name)',
      ['bar', 'foo', 'baz'],
    ],
    ['["bb", "a", "ccc"].sortBy(s, size(s))', ['a', 'bb', 'ccc']],
    ['lists.range(5)', [0n, 1n, 2n, 3n, 4n]],
    // Strings
    ["'hello'.charAt(4)", 'o'],
    ["'hello'.charAt(5)", ''],
    ['"hello %s".format(["world"])', 'hello world'],
    ['"integer: %d".format([42])', 'integer: 42'],
    ['"%f".format([3.14])', '3.140000'],
    ['"%.2f".format([3.14159])', '3.14'],
    ['"%e".format([1234.5])', '1.234500e+03'],
    ['"%x".format([26])', '1a'],
    ['"%X".format([26])', '1A'],
    ['"%o".format([8])', '10'],
    ['"binary: %b".format([5])', 'binary: 101'],
    ['"bool: %b".format([true])', 'bool: 1'],
    ['"100%%".format([])', '100%'],
    ["'gums'.reverse()", 'smug'],
    ["'John Smith'.reverse()", 'htimS nhoJ'],
    ['strings.quote(\'single-quote with "double quote"\')', '"single-quote with \\"double quote\\""'],
    ['strings.quote("two escape sequences \\a\\n")', '"two escape sequences \\a\\n"'],
    // Random: the documented comparisons type-check and stay in range
    ['rand.double() >= 0.0 && rand.double() < 1.0', true],
    ['rand.int() in [0, 1]', true],
    ['rand.int(0, 10) >= 0 && rand.int(0, 10) <= 10', true],
    ['rand.int(7, 7)', 7n],
    // Addresses: ngrok's own expressions page
    ["conn.client_ip in ['::1', '127.0.0.1']", true],
    ["conn.client_ip in ['::1']", false],
  ] as [string, unknown][])('%s', (source, expected) => {
    const headers = { 'content-type': 'application/json; charset=UTF-8' };
    expect(evaluate(source, context(headers))).toEqual(expected);
  });

  it.each([
    ["base64.decode('aGVsbG8')", /base64/],
    ["hash.md5('hello', 'hex2')", /unknown hash format/],
    ["'hello'.charAt(-1)", /out of range/],
    ["'hello'.charAt(6)", /out of range/],
    ['[1,[2,[3,[4]]]].flatten(-1)', /negative/],
    ['[1, "b"].sort()', /cannot compare/],
    ['[[1, 2, 3]].sort()', /cannot compare/],
    ['[1,2,3].slice(2, 1)', /greater than/],
    ['[1,2,3].slice(0, 4)', /out of range/],
    ['"%d".format(["x"])', /cannot format/],
    ['"%d".format([1.5])', /cannot format a double/],
    ['"%s %s".format(["x"])', /too few/],
    ['"%q".format(["x"])', /unknown clause/],
    ['rand.int(5, 1)', /greater than max/],
    ['lists.range(-1)', /negative/],
    ["json.decode('{')", /invalid JSON/],
    ["url.unescape('%zz')", /percent-encoding/],
  ])('%s fails closed', (source, message) => {
    expect(() => evaluate(source)).toThrow(message);
  });

  it('type-checks namespaced calls at save time', () => {
    expect(checkFails('hash.md5(1)')).toMatch(/hash\.md5\(\) cannot take \(int\)/);
    expect(checkFails("hash.blake3('x')")).toMatch(/hash\.blake3\(\) does not exist/);
    expect(checkFails('base64.encode(1)')).toMatch(/base64\.encode\(\) cannot take \(int\)/);
    expect(checkFails('rand.int(1)')).toMatch(/rand\.int\(\) cannot take \(int\)/);
    expect(checkFails("'x'.charAt('1')")).toMatch(/charAt\(\) on a string cannot take \(string\)/);
    expect(checkFails('[1].sortBy(1, 2)')).toMatch(/variable name/);
    expect(checkFails('lists.range(3) == "x"')).toMatch(/no such overload|no matching overload/);
  });

  it('draws rand.int from both ends of its range (ngrok: `rand.int() == 1` can hold)', () => {
    // 200 draws of a fair bit miss a value with probability 2^-199.
    const draws = evaluate('lists.range(200).map(i, rand.int())') as bigint[];
    expect(new Set(draws)).toEqual(new Set([0n, 1n]));
    const doubles = evaluate('lists.range(200).map(i, rand.double())') as number[];
    expect(doubles.every((value) => value >= 0 && value < 1)).toBe(true);
    expect(new Set(doubles).size).toBeGreaterThan(190);
  });

  it('explains `conn.client_ip in` a list typed only at runtime, and fails closed', async () => {
    const policy = compile(
      `on_http_request:\n  - expressions: ["conn.client_ip in json.decode('[\\"127.0.0.1\\"]')"]\n    actions: [{ type: deny }]\n`,
      { endpointType: 'internal' },
    );
    const ports = createMemoryPorts();
    const policyContext = context();
    const result = await evaluatePhase(policy, 'on_http_request', policyContext, ports);
    expect(result.outcome).toMatchObject({ kind: 'respond', response: { status: 500 } });
    expect(policyContext.runtimeErrors[0]?.message).toContain('write string(conn.client_ip) in');
    expect(evaluate('string(conn.client_ip) in json.decode(\'["127.0.0.1"]\')')).toBe(true);
  });

  it('caps the results the input does not bound', () => {
    expect(() => evaluate('size(lists.range(100000000)) > 0')).toThrow(/exceed/);
  });
});

describe("ngrok's documented variables", () => {
  it.each([
    ["conn.ts.start > timestamp('2023-12-31T00:00:00Z')", true],
    ["conn.ts.start == timestamp('2024-06-01T00:00:00Z')", true],
    ["conn.tls.version == '1.3'", true],
    ["req.ts.header_received > timestamp('2023-12-31T00:00:00Z')", true],
    ['req.ts.body_received >= req.ts.header_received', true],
    ["req.url.authority == 'nba.com'", true],
    ["req.url.raw_path.startsWith('/api/%70')", true],
    ["req.url.uri.contains('/api/%70layers?number=23&name=jordan')", true],
    ["req.url.raw == 'https://nba.com/api/%70layers?number=23&name=jordan'", true],
    ["req.content_type == 'application/json'", true],
    ["req.content_type.parameters['charset'] == 'UTF-8'", true],
    ["req.content_type.raw == 'application/json; charset=UTF-8'", true],
    ["req.content_type in ['text/plain', 'application/json']", true],
    ["req.user_agent.contains('Safari')", true],
    ["req.user_agent.name == 'Safari'", true],
    ["req.user_agent.version == '10.1.2'", true],
    ["req.user_agent.os == 'macOS'", true],
    ['req.user_agent.is_desktop && !req.user_agent.is_mobile && !req.user_agent.is_bot', true],
    ["req.location == '/index.html'", true],
    ["req.content_encoding == ['gzip', 'br']", true],
    ["'gzip' in res.content_encoding", true],
    ["size(req.cookies) > 0 && req.cookies['sessionId'][0].name == 'sessionId'", true],
    ["req.cookies['sessionId'][0].value > 'value'", true],
    ["getReqCookie('sessionId').value == 'value2'", true],
    ["endpoint.addr == 'my-subdomain.ngrok.app:443'", true],
    ['endpoint.port == 443', true],
    ["endpoint.protocol == 'https'", true],
    ["res.location == '/index.html'", true],
    ["res.content_type == 'application/json'", true],
    ["res.content_type.raw == 'application/json; charset=utf-8'", true],
    ["res.content_type.parameters['charset'] == 'utf-8'", true],
    ['size(res.cookies) > 0', true],
    ["res.cookies['sessionId'][0].domain == 'nba.com'", true],
    ["res.cookies['sessionId'][0].path == '/app'", true],
    ["res.cookies['sessionId'][0].expires > timestamp('2024-01-01T00:00:00Z')", true],
    ["res.cookies['sessionId'][0].max_age == duration('3600s')", true],
    ["res.cookies['sessionId'][0].secure && res.cookies['sessionId'][0].http_only", true],
    ["res.cookies['sessionId'][0].same_site == 'Lax'", true],
    ["res.cookies['sessionId'][0].unparsed_attributes['Partitioned'] == ''", true],
    ["hasResCookie('sessionId') && getResCookie('sessionId').value == 'long'", true],
    ["!hasResCookie('nope') && getResCookie('nope').value == ''", true],
  ])('%s', (source, expected) => {
    const policyContext = context(
      {
        'content-type': 'application/json; charset=UTF-8',
        'user-agent': ua.safariMac,
        location: '/index.html',
        cookie: 'sessionId=value2; theme=dark',
        'content-encoding': 'gzip, BR',
      },
      {
        location: '/index.html',
        'content-encoding': 'gzip',
        'content-type': 'application/json; charset=utf-8',
        'set-cookie': [
          'sessionId=short; Path=/',
          'sessionId=long; Path=/app; Domain=.nba.com; Expires=Wed, 01 Jan 2031 00:00:00 GMT; Max-Age=3600; Secure; HttpOnly; SameSite=Lax; Partitioned',
        ],
      },
    );
    expect(evaluate(source, policyContext)).toBe(expected);
  });

  it('parses user agents into ngrok’s fields', () => {
    const read = (header: string, field: string) =>
      evaluate(`req.user_agent.${field}`, context({ 'user-agent': header }));
    expect(read(ua.iphone, 'is_mobile')).toBe(true);
    expect(read(ua.iphone, 'os')).toBe('iOS');
    expect(read(ua.iphone, 'device')).toBe('iPhone');
    expect(read(ua.googlebot, 'is_bot')).toBe(true);
    expect(read(ua.googlebot, 'url')).toBe('http://www.google.com/bot.html');
    expect(read('curl/8.4.0', 'name')).toBe('curl');
    expect(read('curl/8.4.0', 'version')).toBe('8.4.0');
    expect(read('', 'name')).toBe('');
    expect(evaluate("req.user_agent == ''", context())).toBe(true);
  });

  it('reads the user agent the request carries now, after an action rewrote the header', () => {
    const policyContext = context({ 'user-agent': ua.iphone });
    expect(evaluate('req.user_agent.is_mobile', policyContext)).toBe(true);
    policyContext.request.headers.set('user-agent', [ua.googlebot]);
    expect(evaluate('req.user_agent.is_mobile', policyContext)).toBe(false);
    expect(evaluate('req.user_agent.is_bot', policyContext)).toBe(true);
  });

  it('reads TLS versions in ngrok’s form whatever the host reports', () => {
    expect(tlsVersion('TLSv1.3')).toBe('1.3');
    expect(tlsVersion('TLSv1.2')).toBe('1.2');
    expect(tlsVersion('TLSv1')).toBe('1.0');
    expect(tlsVersion('1.3')).toBe('1.3');
    expect(tlsVersion('')).toBe('');
  });
});

describe("ngrok's documented conn.tls.client variables", () => {
  // The values of ngrok's examples on the connection variables page, as the data plane would read them.
  const certificate: ClientCertificateFacts = {
    subject: {
      commonName: 'www.example.com',
      country: ['US'],
      locality: ['Mountain View'],
      organization: ['Example Corp'],
      organizationalUnit: ['Web Services'],
      postalCode: ['94043'],
      province: ['California'],
      streetAddress: ['1234 Secure Blvd'],
    },
    issuer: {
      commonName: 'exampleca.com',
      country: ['US'],
      locality: ['Mountain View'],
      organization: ['Example CA'],
      organizationalUnit: ['Certification Authority Division'],
      postalCode: ['94043'],
      province: ['California'],
      streetAddress: ['1234 Encryption Way'],
    },
    san: {
      dnsNames: ['www.example.com', 'example.com'],
      emailAddresses: ['ngrok-email1@example.com', 'ngrok-email2@example.com'],
      ipAddresses: ['192.168.1.1'],
      uris: ['https://example.com/example'],
    },
    serialNumber: 'b53017e79d4a5208b314a55d3574e0a8',
    signatureAlgorithm: 'SHA256-RSA',
    pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
    notBeforeMs: Date.parse('2020-01-01T00:00:00Z'),
    notAfterMs: Date.parse('2023-01-01T00:00:00Z'),
  };

  function withCertificate(read: () => ClientCertificateFacts | undefined) {
    const policyContext = context();
    const tls = policyContext.connection.tls!;
    policyContext.connection.tls = { ...tls, clientCertificate: read };
    return policyContext;
  }

  it.each([
    "conn.tls.client.subject.common_name == 'www.example.com'",
    "conn.tls.client.subject.country == ['US']",
    "conn.tls.client.subject.locality == ['Mountain View']",
    "conn.tls.client.subject.organization == ['Example Corp']",
    "conn.tls.client.subject.organizational_unit == ['Web Services']",
    "conn.tls.client.subject.postal_code == ['94043']",
    "conn.tls.client.subject.province == ['California']",
    "conn.tls.client.subject.street_address == ['1234 Secure Blvd']",
    "conn.tls.client.issuer.common_name == 'exampleca.com'",
    "conn.tls.client.issuer.country == ['US']",
    "conn.tls.client.issuer.locality == ['Mountain View']",
    "conn.tls.client.issuer.organization == ['Example CA']",
    "conn.tls.client.issuer.organizational_unit == ['Certification Authority Division']",
    "conn.tls.client.issuer.postal_code == ['94043']",
    "conn.tls.client.issuer.province == ['California']",
    "conn.tls.client.issuer.street_address == ['1234 Encryption Way']",
    "conn.tls.client.san.dns_names == ['www.example.com', 'example.com']",
    "conn.tls.client.san.email_addresses == ['ngrok-email1@example.com', 'ngrok-email2@example.com']",
    "conn.tls.client.san.ip_addresses == ['192.168.1.1']",
    "conn.tls.client.san.uris == ['https://example.com/example']",
    "conn.tls.client.serial_number == 'b53017e79d4a5208b314a55d3574e0a8'",
    "conn.tls.client.signature_algorithm == 'SHA256-RSA'",
    "conn.tls.client.pem.startsWith('-----BEGIN CERTIFICATE-----')",
    "conn.tls.client.pem.endsWith('-----END CERTIFICATE-----')",
    "conn.tls.client.validity.not_after == timestamp('2023-01-01T00:00:00Z')",
    "conn.tls.client.validity.not_before == timestamp('2020-01-01T00:00:00Z')",
  ])('%s', (source) => {
    expect(
      evaluate(
        source,
        withCertificate(() => certificate),
      ),
    ).toBe(true);
  });

  it('is empty without a client certificate, as the other absent conn.* variables are', () => {
    for (const policyContext of [context(), withCertificate(() => undefined)]) {
      expect(evaluate("conn.tls.client.subject.common_name == ''", policyContext)).toBe(true);
      expect(evaluate('size(conn.tls.client.issuer.organization) == 0', policyContext)).toBe(true);
      expect(evaluate('size(conn.tls.client.san.dns_names) == 0', policyContext)).toBe(true);
      expect(evaluate("conn.tls.client.serial_number == '' && conn.tls.client.pem == ''", policyContext)).toBe(true);
      expect(evaluate("conn.tls.client.validity.not_after == timestamp('1970-01-01T00:00:00Z')", policyContext)).toBe(
        true,
      );
    }
  });

  it('reads the certificate only when an expression reads conn.tls.client', () => {
    let reads = 0;
    const policyContext = withCertificate(() => {
      reads += 1;
      return certificate;
    });
    expect(evaluate("conn.tls.version == '1.3' && conn.tls.sni == 'client.example.com'", policyContext)).toBe(true);
    expect(reads).toBe(0);
    expect(evaluate("conn.tls.client.subject.common_name == 'www.example.com'", policyContext)).toBe(true);
    expect(reads).toBe(1);
  });

  it('type-checks the members at save time, for the editor', () => {
    expect(checkFails("conn.tls.client.subject.country == 'US'")).toMatch(/no such overload|no matching overload/);
    expect(checkFails('conn.tls.client.subject.nickname')).toMatch(/nickname/);
  });
});
