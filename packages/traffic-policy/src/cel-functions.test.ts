import { Environment } from '@marcbachmann/cel-js';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  bearerTokenOf,
  registerPolicyFunctions,
  renameBuiltins,
  replaceOccurrences,
  type CelRequestScope,
  type CelScopeHolder,
} from './cel-functions.js';
import { ClientIp, RequestUrl, registerValueTypes } from './cel-values.js';
import { CelCookie } from './cel-cookies.js';
import { createIpCategoryIndex } from './ip.js';

class ConnectionView {
  constructor(readonly client_ip: ClientIp) {}
}

class RequestView {
  constructor(
    readonly url: RequestUrl,
    readonly headers: Map<string, string[]>,
  ) {}
}

function createEnvironment(
  holder: CelScopeHolder,
  options?: ConstructorParameters<typeof Environment>[0],
): Environment {
  const env = registerValueTypes(new Environment(options))
    .registerType('Connection', { ctor: ConnectionView, fields: { client_ip: 'ClientIp' } })
    .registerType('Request', { ctor: RequestView, fields: { url: 'RequestUrl', headers: 'map<string, list<string>>' } })
    .registerVariable('conn', 'Connection')
    .registerVariable('req', 'Request')
    .registerVariable('text', 'string')
    .registerVariable('vars', 'map<string, dyn>');
  return registerPolicyFunctions(env, holder);
}

function createScope(values: {
  requestHeaders?: Record<string, string[]>;
  responseHeaders?: Record<string, string[]>;
  query?: Record<string, string[]>;
  cookies?: Record<string, string[]>;
}): CelRequestScope {
  const lookup = (record: Record<string, string[]> | undefined) => (name: string) =>
    record !== undefined && Object.hasOwn(record, name) ? record[name] : undefined;
  return {
    requestHeader: lookup(values.requestHeaders),
    responseHeader: lookup(values.responseHeaders),
    queryParam: lookup(values.query),
    requestCookies: () =>
      new Map(
        Object.entries(values.cookies ?? {}).map(([name, list]) => [
          name,
          list.map((value) => new CelCookie(name, value)),
        ]),
      ),
    responseCookies: () => new Map(),
    secret: () => undefined,
  };
}

const categories = createIpCategoryIndex([
  { name: 'com.anthropic.api', cidrs: ['160.79.104.0/21', '2607:6bc0::/48'] },
  { name: 'office', cidrs: ['10.0.0.0/8'] },
]);

const url = new RequestUrl('https', 'api.example.com', '8443', '/v1/items', 'q=1&tag=a&tag=b');

function contextFor(address: string, extraVars: Record<string, unknown> = {}) {
  return {
    conn: new ConnectionView(new ClientIp(address, categories)),
    req: new RequestView(url, new Map([['x-api-key', ['k1']]])),
    text: 'Hello World',
    vars: new Map<string, unknown>(Object.entries(extraVars)),
  };
}

const holder: CelScopeHolder = { current: undefined };
const env = createEnvironment(holder);

/** Parses as cel-environment does: `matches`/`join` calls renamed to the RE2 and bounded versions. */
function parse(expression: string) {
  const program = env.parse(expression);
  renameBuiltins(program.ast);
  return program;
}

function check(expression: string): { valid: boolean; type?: string; error?: unknown } {
  try {
    return parse(expression).check();
  } catch (error) {
    return { valid: false, error };
  }
}

function evaluate(expression: string, context: object = contextFor('10.1.2.3')): unknown {
  return parse(expression)(context) as unknown;
}

beforeEach(() => {
  holder.current = undefined;
});

describe('registerPolicyFunctions', () => {
  it('returns the environment it was given and can be applied to several environments', () => {
    const first = new Environment()
      .registerType('ClientIp', { ctor: ClientIp, fields: { categories: 'list<string>' } })
      .registerType('RequestUrl', { ctor: RequestUrl, fields: { path: 'string' } });
    expect(registerPolicyFunctions(first, holder)).toBe(first);
    expect(() => createEnvironment(holder)).not.toThrow();
    expect(() =>
      createEnvironment(holder, { homogeneousAggregateLiterals: false, enableOptionalTypes: true }),
    ).not.toThrow();
  });

  it('leaves the cel-js built-ins working', () => {
    expect(evaluate("'abc'.startsWith('a') && 'abc'.endsWith('c') && 'abc'.contains('b')")).toBe(true);
    expect(evaluate("' x '.trim() + 'a,b'.split(',').join('-') + 'ABC'.lowerAscii()")).toBe('xa-babc');
    expect(evaluate("'hello'.substring(1, 3) + string('hello'.indexOf('l'))")).toBe('el2');
    expect(evaluate("'abc'.matches('^a.c$') && size('abc') == 3")).toBe(true);
  });
});

describe('request lookups', () => {
  const scope = createScope({
    requestHeaders: { authorization: ['Bearer abc'], 'x-api-key': ['k1', 'k2'], 'x-empty': [''] },
    responseHeaders: { 'content-type': ['text/html'] },
    query: { q: ['1'], tag: ['a', 'b'] },
    cookies: { session: ['s1'], Theme: ['dark'] },
  });

  it('type-checks', () => {
    expect(check("hasReqHeader('a')")).toMatchObject({ valid: true, type: 'bool' });
    expect(check("getReqHeader('a')")).toMatchObject({ valid: true, type: 'list<string>' });
    expect(check("getResHeader('a')[0] == 'x'")).toMatchObject({ valid: true, type: 'bool' });
    expect(check("hasQueryParam('q') && hasReqCookie('c') && hasResHeader('h')")).toMatchObject({ valid: true });
    expect(check("size(getQueryParam('q')) + size(getReqCookie('c').value)")).toMatchObject({
      valid: true,
      type: 'int',
    });
    expect(check('hasReqHeader(1)').valid).toBe(false);
    expect(check('getReqHeader()').valid).toBe(false);
    expect(check("getReqHeader('a', 'b')").valid).toBe(false);
    expect(check("'a'.getReqHeader()").valid).toBe(false);
    expect(check("getReqHeader('a') == 'x'").valid).toBe(false);
  });

  it('reads request headers case-insensitively', () => {
    holder.current = scope;
    expect(evaluate("hasReqHeader('Authorization')")).toBe(true);
    expect(evaluate("getReqHeader('Authorization')")).toEqual(['Bearer abc']);
    expect(evaluate("getReqHeader('x-api-key')")).toEqual(['k1', 'k2']);
    expect(evaluate("getReqHeader('X-API-KEY')[1] == 'k2'")).toBe(true);
    expect(evaluate("hasReqHeader('X-Empty') && getReqHeader('x-empty') == ['']")).toBe(true);
    expect(evaluate("getReqHeader('Authorization')[0].startsWith('Bearer ')")).toBe(true);
  });

  it('returns false and an empty list when absent', () => {
    holder.current = scope;
    expect(evaluate("hasReqHeader('x-missing')")).toBe(false);
    expect(evaluate("getReqHeader('x-missing')")).toEqual([]);
    expect(evaluate("size(getReqHeader('x-missing')) == 0")).toBe(true);
    expect(evaluate("'k1' in getReqHeader('x-missing')")).toBe(false);
  });

  it('agrees with the req.headers map form', () => {
    holder.current = createScope({ requestHeaders: { 'x-api-key': ['k1'] } });
    expect(evaluate("getReqHeader('X-Api-Key') == req.headers['x-api-key']")).toBe(true);
  });

  it('reads response headers only when the scope has them', () => {
    holder.current = scope;
    expect(evaluate("hasResHeader('Content-Type') && getResHeader('CONTENT-TYPE') == ['text/html']")).toBe(true);
    holder.current = createScope({ requestHeaders: { 'content-type': ['x'] } });
    expect(evaluate("hasResHeader('content-type')")).toBe(false);
    expect(evaluate("getResHeader('content-type')")).toEqual([]);
  });

  it('reads query parameters and cookies by exact name', () => {
    holder.current = scope;
    expect(evaluate("hasQueryParam('q') && getQueryParam('tag') == ['a', 'b']")).toBe(true);
    expect(evaluate("hasQueryParam('Q')")).toBe(false);
    expect(evaluate("getQueryParam('missing')")).toEqual([]);
    // ngrok's shape: getReqCookie returns the first cookie of that name as an object.
    expect(evaluate("hasReqCookie('session') && getReqCookie('session').value == 's1'")).toBe(true);
    expect(evaluate("getReqCookie('session').name == 'session'")).toBe(true);
    expect(evaluate("hasReqCookie('Theme') && !hasReqCookie('theme')")).toBe(true);
    expect(evaluate("getReqCookie('nope').value == '' && getReqCookie('nope').name == ''")).toBe(true);
  });

  it('behaves as an empty request when no scope is set', () => {
    holder.current = undefined;
    expect(
      evaluate("hasReqHeader('authorization') || hasQueryParam('q') || hasReqCookie('s') || hasResHeader('h')"),
    ).toBe(false);
    expect(
      evaluate("getReqHeader('authorization') + getQueryParam('q') + [getReqCookie('s').value] + getResHeader('h')"),
    ).toEqual(['']);
  });

  it('reads the scope current at evaluation time, not at parse time', () => {
    const parsed = env.parse("getReqHeader('x-user')");
    holder.current = createScope({ requestHeaders: { 'x-user': ['alice'] } });
    expect(parsed(contextFor('1.2.3.4'))).toEqual(['alice']);
    holder.current = createScope({ requestHeaders: { 'x-user': ['bob'] } });
    expect(parsed(contextFor('1.2.3.4'))).toEqual(['bob']);
  });
});

describe('getReqBearerToken', () => {
  it('gives every way of writing one bearer token the same value (a rate-limit bucket cannot be dodged)', () => {
    const variants = ['Bearer tok.en', 'bearer tok.en', 'bEaReR tok.en', 'Bearer    tok.en  ', '  BEARER\ttok.en'];
    for (const variant of variants) {
      holder.current = createScope({ requestHeaders: { authorization: [variant] } });
      expect(evaluate('getReqBearerToken()'), variant).toBe('tok.en');
    }
  });

  it("is '' without a bearer credential, never an error", () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer   ', 'Basic dTpw', 'Bearertok', 'tok']) {
      holder.current = createScope(header === undefined ? {} : { requestHeaders: { authorization: [header] } });
      expect(evaluate('getReqBearerToken()'), String(header)).toBe('');
    }
    holder.current = undefined;
    expect(evaluate("getReqBearerToken() == ''")).toBe(true);
  });

  it('reads the first Authorization header, as jwt-validation does', () => {
    holder.current = createScope({ requestHeaders: { authorization: ['Bearer first', 'Bearer second'] } });
    expect(evaluate('getReqBearerToken()')).toBe('first');
    expect(bearerTokenOf('bearer a b ')).toBe('a b');
  });
});

describe('CIDR functions', () => {
  it('type-checks both the string and the ClientIp forms', () => {
    expect(check("inCidrRange('1.2.3.4', '1.2.3.0/24')")).toMatchObject({ valid: true, type: 'bool' });
    expect(check("inCidrRange(conn.client_ip, '10.0.0.0/8')")).toMatchObject({ valid: true, type: 'bool' });
    expect(check("inCidrRanges(conn.client_ip, ['10.0.0.0/8'])")).toMatchObject({ valid: true, type: 'bool' });
    expect(check("inCidrRanges(text, ['10.0.0.0/8'])")).toMatchObject({ valid: true, type: 'bool' });
    expect(check("inCidrRange(vars.ip, '10.0.0.0/8')")).toMatchObject({ valid: true, type: 'bool' });
    expect(check("inCidrRange(1, '10.0.0.0/8')").valid).toBe(false);
    expect(check("inCidrRange('1.2.3.4', ['10.0.0.0/8'])").valid).toBe(false);
    expect(check("inCidrRanges('1.2.3.4', '10.0.0.0/8')").valid).toBe(false);
  });

  it('matches IPv4 and IPv6 with strings', () => {
    expect(evaluate("inCidrRange('10.1.2.3', '10.0.0.0/8')")).toBe(true);
    expect(evaluate("inCidrRange('11.1.2.3', '10.0.0.0/8')")).toBe(false);
    expect(evaluate("inCidrRange('2001:db8::1', '2001:db8::/32')")).toBe(true);
    expect(evaluate("inCidrRange('::ffff:10.1.2.3', '10.0.0.0/8')")).toBe(true);
    expect(evaluate("inCidrRange('garbage', '0.0.0.0/0')")).toBe(false);
    expect(evaluate("inCidrRange('10.1.2.3', 'garbage')")).toBe(false);
  });

  it('matches the client IP', () => {
    expect(evaluate("inCidrRange(conn.client_ip, '10.0.0.0/8')")).toBe(true);
    expect(evaluate("inCidrRange(conn.client_ip, '10.0.0.0/8')", contextFor('8.8.8.8'))).toBe(false);
    expect(evaluate("inCidrRanges(conn.client_ip, ['bad', '192.168.0.0/16', '10.0.0.0/8'])")).toBe(true);
    expect(evaluate("inCidrRanges(conn.client_ip, ['bad', '192.168.0.0/16'])")).toBe(false);
    expect(evaluate("inCidrRanges(conn.client_ip, ['2607:6bc0::/48'])", contextFor('2607:6bc0::1'))).toBe(true);
  });

  it('dispatches at runtime when the address is dyn', () => {
    expect(evaluate("inCidrRange(vars.ip, '10.0.0.0/8')", contextFor('1.1.1.1', { ip: '10.9.9.9' }))).toBe(true);
    expect(
      evaluate(
        'inCidrRanges(vars.ip, vars.ranges)',
        contextFor('1.1.1.1', { ip: '10.9.9.9', ranges: ['x', '10.0.0.0/8'] }),
      ),
    ).toBe(true);
  });

  it('skips non-string entries of a mixed dyn list and rejects a list of another type', () => {
    const withRanges = (ranges: unknown[]) => ({ ...contextFor('1.1.1.1', { ranges }), text: '1.2.3.4' });
    expect(evaluate('inCidrRanges(text, vars.ranges)', withRanges(['10.0.0.0/8', 1n, '0.0.0.0/0']))).toBe(true);
    expect(evaluate('inCidrRanges(text, vars.ranges)', withRanges(['10.0.0.0/8', 1n, true]))).toBe(false);
    // cel-js types a runtime list by its elements, so a list of ints finds no overload: an error, never a silent true.
    expect(() => evaluate('inCidrRanges(text, vars.ranges)', withRanges([1n, '0.0.0.0/0']))).toThrow(
      /no matching overload/,
    );
  });

  it('answers isPrivateIp on strings and the client IP', () => {
    expect(check("'10.0.0.1'.isPrivateIp()")).toMatchObject({ valid: true, type: 'bool' });
    expect(check('conn.client_ip.isPrivateIp()')).toMatchObject({ valid: true, type: 'bool' });
    expect(check('(1).isPrivateIp()').valid).toBe(false);
    expect(evaluate("'10.0.0.1'.isPrivateIp() && '::1'.isPrivateIp() && 'fd00::1'.isPrivateIp()")).toBe(true);
    expect(evaluate("'8.8.8.8'.isPrivateIp() || 'nope'.isPrivateIp()")).toBe(false);
    expect(evaluate('conn.client_ip.isPrivateIp()')).toBe(true);
    expect(evaluate('conn.client_ip.isPrivateIp()', contextFor('160.79.104.1'))).toBe(false);
  });
});

describe('conn.client_ip and req.url as strings', () => {
  it('compares to strings and exposes categories', () => {
    expect(evaluate("conn.client_ip == '10.1.2.3'")).toBe(true);
    expect(evaluate("conn.client_ip == '10.1.2.4'")).toBe(false);
    expect(evaluate("'com.anthropic.api' in conn.client_ip.categories", contextFor('160.79.104.1'))).toBe(true);
    expect(evaluate("'com.anthropic.api' in conn.client_ip.categories", contextFor('160.79.112.0'))).toBe(false);
    expect(evaluate('conn.client_ip.categories', contextFor('2607:6bc0::1'))).toEqual(['com.anthropic.api']);
  });

  it('answers string methods on the client IP', () => {
    for (const expression of [
      "conn.client_ip.startsWith('10.')",
      "conn.client_ip.endsWith('.3')",
      "conn.client_ip.contains('1.2')",
      "conn.client_ip.matches('^10\\\\.')",
      'conn.client_ip.size() == 8',
      'size(conn.client_ip) == 8',
      "string(conn.client_ip) == '10.1.2.3'",
      "string(conn.client_ip) + '/32' == '10.1.2.3/32'",
    ]) {
      expect(check(expression), expression).toMatchObject({ valid: true, type: 'bool' });
      expect(evaluate(expression), expression).toBe(true);
    }
    expect(evaluate("conn.client_ip.startsWith('192.')")).toBe(false);
    expect(evaluate("conn.client_ip.matches('^192')")).toBe(false);
    expect(check('conn.client_ip.startsWith(1)').valid).toBe(false);
  });

  it('answers string methods on the request URL', () => {
    for (const expression of [
      "req.url.startsWith('https://api.example.com:8443/')",
      "req.url.endsWith('tag=b')",
      "req.url.contains('/v1/')",
      "req.url.matches('items\\\\?q=1')",
      "req.url.size() == size('https://api.example.com:8443/v1/items?q=1&tag=a&tag=b')",
      'size(req.url) == req.url.size()',
      "string(req.url) == 'https://api.example.com:8443/v1/items?q=1&tag=a&tag=b'",
      "req.url == 'https://api.example.com:8443/v1/items?q=1&tag=a&tag=b'",
      "req.url.path == '/v1/items' && req.url.query_params['tag'] == ['a', 'b']",
    ]) {
      expect(check(expression), expression).toMatchObject({ valid: true, type: 'bool' });
      expect(evaluate(expression), expression).toBe(true);
    }
    expect(evaluate("req.url.contains('/v2/')")).toBe(false);
  });

  it('counts code points like size(string)', () => {
    const context = contextFor('1.1.1.1');
    const emojiUrl = new RequestUrl('https', 'x.example', '', '/😀', '');
    expect(
      evaluate('req.url.size() == size(string(req.url))', {
        ...context,
        req: new RequestView(emojiUrl, new Map()),
      }),
    ).toBe(true);
    expect(evaluate('req.url.size()', { ...context, req: new RequestView(emojiUrl, new Map()) })).toBe(19n);
  });

  it('throws on an invalid pattern rather than answering false', () => {
    expect(() => evaluate("conn.client_ip.matches('(')")).toThrow(/invalid regular expression/);
  });
});

describe('string functions', () => {
  it('lower-cases and upper-cases, as methods and as functions', () => {
    expect(check('text.lower()')).toMatchObject({ valid: true, type: 'string' });
    expect(evaluate('text.lower()')).toBe('hello world');
    expect(evaluate('text.upper()')).toBe('HELLO WORLD');
    expect(evaluate('lower(text) + upper("é")')).toBe('hello worldÉ');
    expect(check('lower(1)').valid).toBe(false);
  });

  it('replaces all occurrences or at most n', () => {
    expect(check("text.replace('l', 'L')")).toMatchObject({ valid: true, type: 'string' });
    expect(check("text.replace('l', 'L', 1)")).toMatchObject({ valid: true, type: 'string' });
    expect(check("text.replace('l')").valid).toBe(false);
    expect(check("text.replace('l', 1)").valid).toBe(false);
    expect(evaluate("text.replace('l', 'L')")).toBe('HeLLo WorLd');
    expect(evaluate("text.replace('l', 'L', 2)")).toBe('HeLLo World');
    expect(evaluate("text.replace('l', 'L', 0)")).toBe('Hello World');
    expect(evaluate("text.replace('l', 'L', -1)")).toBe('HeLLo WorLd');
    expect(evaluate("'aaa'.replace('aa', 'b')")).toBe('ba');
    expect(evaluate("'a.b.c'.replace('.', '')")).toBe('abc');
    expect(evaluate("'$1'.replace('$1', '$&')")).toBe('$&');
  });

  it('replaces an empty pattern between code points, like Go', () => {
    expect(replaceOccurrences('abc', '', '-', -1)).toBe('-a-b-c-');
    expect(replaceOccurrences('abc', '', '-', 2)).toBe('-a-bc');
    expect(replaceOccurrences('abc', '', '-', 3)).toBe('-a-b-c');
    expect(replaceOccurrences('abc', '', '-', 4)).toBe('-a-b-c-');
    expect(replaceOccurrences('', '', '-', -1)).toBe('-');
    expect(replaceOccurrences('😀', '', '-', -1)).toBe('-😀-');
    expect(replaceOccurrences('abc', 'x', '-', -1)).toBe('abc');
    expect(replaceOccurrences('abc', '', '-', 0)).toBe('abc');
    expect(replaceOccurrences('abc', 'b', '-', 0)).toBe('abc');
  });
});

describe('codec functions', () => {
  it('type-checks', () => {
    for (const [expression, type] of [
      ["encodeBase64('x')", 'string'],
      ["'x'.encodeBase64()", 'string'],
      ["encodeBase64(b'x')", 'string'],
      ["decodeBase64('eA==')", 'string'],
      ["'eA=='.decodeBase64()", 'string'],
      ["sha256('x')", 'string'],
      ["'x'.sha256()", 'string'],
      ["sha256(b'x')", 'string'],
      ['encodeJson(conn.client_ip)', 'string'],
      ['encodeJson(vars)', 'string'],
      ["decodeJson('{}')", 'dyn'],
      ["'{}'.decodeJson()", 'dyn'],
      ["parseUrl('https://x.example')", 'map<string, dyn>'],
      ["'https://x.example'.parseUrl()", 'map<string, dyn>'],
      ["escapeUrl('a b')", 'string'],
      ["'a b'.escapeUrl()", 'string'],
      ["unescapeUrl('a%20b')", 'string'],
      ["'a%20b'.unescapeUrl()", 'string'],
    ] as const) {
      expect(check(expression), expression).toMatchObject({ valid: true, type });
    }
    for (const expression of [
      'encodeBase64(1)',
      'decodeBase64(b"x")',
      'sha256(1)',
      'decodeJson(1)',
      'parseUrl(1)',
      'escapeUrl()',
      'nope("x")',
    ]) {
      expect(check(expression).valid, expression).toBe(false);
    }
  });

  it('encodes and decodes base64 in both call forms', () => {
    expect(evaluate("encodeBase64('héllo')")).toBe('aMOpbGxv');
    expect(evaluate("'héllo'.encodeBase64() == encodeBase64('héllo')")).toBe(true);
    expect(evaluate("encodeBase64(b'hi')")).toBe('aGk=');
    expect(evaluate("decodeBase64('aMOpbGxv')")).toBe('héllo');
    expect(evaluate("'8J-YgA'.decodeBase64()")).toBe('😀');
    expect(evaluate('decodeBase64(text.encodeBase64()) == text')).toBe(true);
  });

  it('throws on bad base64 instead of returning a value', () => {
    expect(() => evaluate("decodeBase64('not base64!')")).toThrow('invalid base64');
    expect(() => evaluate("'a'.decodeBase64()")).toThrow('invalid base64');
    expect(() => evaluate("decodeBase64('/w==')")).toThrow(/UTF-8/);
  });

  it('hashes with sha256', () => {
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(evaluate("sha256('abc')")).toBe(abc);
    expect(evaluate("'abc'.sha256()")).toBe(abc);
    expect(evaluate("sha256(b'abc')")).toBe(abc);
    expect(evaluate("sha256('')")).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('encodes JSON from CEL values', () => {
    expect(evaluate("encodeJson({'a': [1, 2]})")).toBe('{"a":[1,2]}');
    expect(evaluate('encodeJson(conn.client_ip)')).toBe('"10.1.2.3"');
    expect(evaluate('encodeJson(req.url)')).toBe('"https://api.example.com:8443/v1/items?q=1&tag=a&tag=b"');
    expect(evaluate('encodeJson(conn.client_ip.categories)', contextFor('10.0.0.1'))).toBe('["office"]');
    expect(evaluate("encodeJson(timestamp('2024-01-02T03:04:05Z'))")).toBe('"2024-01-02T03:04:05.000Z"');
    expect(evaluate('encodeJson(9223372036854775807)')).toBe('"9223372036854775807"');
    expect(evaluate('encodeJson(1.5)')).toBe('1.5');
    expect(evaluate('encodeJson(vars)', contextFor('1.1.1.1', { user: 'ann', n: 2n }))).toBe('{"user":"ann","n":2}');
  });

  it('decodes JSON into values CEL can navigate', () => {
    expect(evaluate('decodeJson(\'{"a":{"b":[1,2]}}\').a.b[1] == 2')).toBe(true);
    expect(evaluate('\'{"role":"admin"}\'.decodeJson().role == "admin"')).toBe(true);
    expect(evaluate('decodeJson(\'{"constructor":"x"}\').constructor')).toBe('x');
    expect(evaluate('"a" in decodeJson(\'{"a":null}\')')).toBe(true);
    expect(evaluate('decodeJson(\'[1, "two"]\').size() == 2')).toBe(true);
    expect(evaluate("decodeJson('\"s\"') == 's'")).toBe(true);
    expect(evaluate('encodeJson(decodeJson(\'{"a":[1,{"b":null}]}\'))')).toBe('{"a":[1,{"b":null}]}');
  });

  it('throws on bad JSON instead of returning a value', () => {
    expect(() => evaluate("decodeJson('{bad')")).toThrow(/invalid JSON/);
    expect(() => evaluate("''.decodeJson()")).toThrow(/invalid JSON/);
  });

  it('parses URLs into maps', () => {
    expect(evaluate("parseUrl('https://User:pw@Example.com:8080/a/b?x=1&x=2#top').host")).toBe('example.com');
    // The expected map literal mixes value types, which needs the option the policy environments use.
    const looseEnv = createEnvironment(holder, { homogeneousAggregateLiterals: false });
    expect(
      looseEnv.evaluate(
        "parseUrl('https://u:p@example.com:8080/a/b?x=1&x=2#top') == " +
          "{'scheme': 'https', 'host': 'example.com', 'port': '8080', 'path': '/a/b', 'query': 'x=1&x=2', " +
          "'query_params': {'x': ['1', '2']}, 'fragment': 'top', 'user': 'u', 'password': 'p'}",
        contextFor('1.1.1.1'),
      ),
    ).toBe(true);
    expect(evaluate("'http://[::1]/'.parseUrl().host.isPrivateIp()")).toBe(true);
    expect(evaluate("parseUrl('https://x.example/?q=a%20b').query_params.q[0]")).toBe('a b');
    expect(() => evaluate("parseUrl('not a url')")).toThrow('invalid URL');
  });

  it('escapes and unescapes URL components', () => {
    expect(evaluate("escapeUrl('a b&c=d/é')")).toBe('a%20b%26c%3Dd%2F%C3%A9');
    expect(evaluate("'a b'.escapeUrl()")).toBe('a%20b');
    expect(evaluate("unescapeUrl('a%20b%2F')")).toBe('a b/');
    expect(evaluate("'%C3%A9'.unescapeUrl()")).toBe('é');
    expect(evaluate('unescapeUrl(escapeUrl(text)) == text')).toBe(true);
    expect(() => evaluate("unescapeUrl('%zz')")).toThrow('invalid percent-encoding');
  });

  it('reports failures as Errors the evaluator can catch', () => {
    let caught: unknown;
    try {
      evaluate("decodeBase64('%%%')");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(Error);
  });
});

describe('standard-library overloads cel-js lacks (cel-standard.ts)', () => {
  it('orders bytes by unsigned byte value, a prefix first', () => {
    expect(evaluate("b'a' < b'b' && b'' < b'a' && b'ab' > b'a' && b'\\xff' > b'\\x7f'")).toBe(true);
    expect(evaluate("b'abc' <= b'abc' && b'abc' >= b'abc' && !(b'b' < b'abc')")).toBe(true);
  });

  it('converts uint to int and refuses what does not fit', () => {
    expect(evaluate('int(9223372036854775807u)')).toBe(9223372036854775807n);
    expect(() => evaluate('int(9223372036854775808u)')).toThrow(/out of the int range/);
  });

  it('converts timestamps and durations as cel-go does', () => {
    expect(evaluate("int(timestamp('2009-02-13T23:31:30Z'))")).toBe(1234567890n);
    // Before the epoch time.Unix() rounds toward negative infinity.
    expect(evaluate("int(timestamp('1969-12-31T23:59:59.5Z'))")).toBe(-1n);
    expect(evaluate("string(timestamp('2009-02-13T23:31:30Z'))")).toBe('2009-02-13T23:31:30Z');
    expect(evaluate("string(timestamp('2009-02-13T23:31:30.120Z'))")).toBe('2009-02-13T23:31:30.12Z');
    expect(evaluate("string(duration('1m30s'))")).toBe('90s');
    expect(evaluate("timestamp(timestamp(0)) == timestamp(0) && duration(duration('1s')) == duration('1s')")).toBe(
      true,
    );
  });

  it("reads timestamps in cel-go's fixed-offset and IANA time zones", () => {
    const at = "timestamp('2009-02-13T23:31:30.250Z')";
    expect(evaluate(`${at}.getHours('02:00')`)).toBe(1n);
    expect(evaluate(`${at}.getDayOfMonth('+11:00')`)).toBe(13n);
    expect(evaluate(`${at}.getMinutes('-02:30')`)).toBe(1n);
    expect(evaluate(`${at}.getMinutes('Asia/Kathmandu')`)).toBe(16n);
    expect(evaluate(`${at}.getDayOfYear('Australia/Sydney')`)).toBe(44n);
    expect(evaluate(`${at}.getMilliseconds('-05:00') + ${at}.getSeconds()`)).toBe(280n);
    expect(evaluate(`${at}.getDayOfWeek() + ${at}.getMonth() + ${at}.getFullYear('UTC')`)).toBe(2015n);
    expect(evaluate("duration('90m').getHours() + duration('90m').getMinutes()")).toBe(91n);
    expect(() => evaluate(`${at}.getHours('+25:00')`)).toThrow(/invalid time zone offset/);
    expect(() => evaluate(`${at}.getHours('Mars/Olympus')`)).toThrow(/unknown time zone 'Mars\/Olympus'/);
  });

  it('converts to int and parses durations as cel-go does', () => {
    expect(evaluate('int(-9223372036854775807.0 / 2.0) < 0 && int(-7.9) == -7 && int(11.5) == 11')).toBe(true);
    expect(() => evaluate('int(-9223372036854775808.0)')).toThrow(/out of the int range/);
    expect(() => evaluate('int(1e99)')).toThrow(/out of the int range/);
    expect(evaluate("int('-9223372036854775808') + int('+42')")).toBe(-9223372036854775766n);
    for (const text of ['0b101', '0x10', ' 1', '1_000', '9223372036854775808', '']) {
      expect(() => evaluate(`int('${text}')`), text).toThrow(/is not a decimal int/);
    }
    expect(evaluate("duration('-1.5h') == duration('-90m') && duration('0') == duration('0s')")).toBe(true);
    expect(evaluate("string(duration('1h2m3.5s')) + ' ' + string(duration('2.000000001s'))")).toBe(
      '3723.5s 2.000000001s',
    );
    expect(evaluate("duration('1µs') == duration('1000ns') && duration('1μs') == duration('1us')")).toBe(true);
    expect(evaluate("duration('-9223372036854775808ns').getSeconds()")).toBe(-9223372036n);
    expect(() => evaluate("duration('9223372036854775808ns')")).toThrow(/out of the duration range/);
    for (const text of ['', '1', '.s', '1d', '-', '1h 2m']) {
      expect(() => evaluate(`duration('${text}')`), text).toThrow(/is not a duration/);
    }
  });

  it('converts to string as cel-go does, failing on invalid UTF-8', () => {
    expect(evaluate("string(b'\\303\\277') + string(1u) + string(-2) + string(true) + string(1.0/0.0)")).toBe(
      'ÿ1-2true+Inf',
    );
    expect(() => evaluate("string(b'\\000\\xff')")).toThrow(/not valid UTF-8/);
    expect(evaluate('string(conn.client_ip) + string(req.url)', contextFor('10.1.2.3'))).toBe(
      '10.1.2.3https://api.example.com:8443/v1/items?q=1&tag=a&tag=b',
    );
  });

  it('parses timestamps as RFC 3339 only, range-checked like cel-go', () => {
    expect(evaluate("int(timestamp('2009-02-13T23:31:30Z'))")).toBe(1234567890n);
    expect(evaluate("timestamp('2009-02-14T01:01:30.5+01:30') == timestamp('2009-02-13T23:31:30.500Z')")).toBe(true);
    expect(evaluate("string(timestamp('2024-02-29T00:00:00.123456789-00:00'))")).toBe('2024-02-29T00:00:00.123Z');
    expect(evaluate("timestamp('0001-01-01T00:00:00Z') == timestamp(-62135596800)")).toBe(true);
    for (const text of [
      '2009-02-13',
      '2009-02-13 23:31:30Z',
      '2009-02-13t23:31:30z',
      '2009-2-13T23:31:30Z',
      'Feb 13 2009',
    ]) {
      expect(() => evaluate(`timestamp('${text}')`), text).toThrow(/not an RFC 3339 timestamp/);
    }
    for (const text of [
      '2023-02-29T00:00:00Z',
      '2009-13-01T00:00:00Z',
      '2009-02-13T24:00:00Z',
      '2009-02-13T23:59:60Z',
    ]) {
      expect(() => evaluate(`timestamp('${text}')`), text).toThrow(/out of range/);
    }
    expect(() => evaluate("timestamp('0000-12-31T23:59:59Z')")).toThrow(/out of the timestamp range/);
    expect(() => evaluate('timestamp(253402300800)')).toThrow(/out of the timestamp range/);
  });
});
