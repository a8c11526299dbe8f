import { describe, expect, it } from 'vitest';
import { celCatalog, celCompletions } from './cel-catalog.js';
import { compileExpression } from './cel-environment.js';
import { phases } from './context.js';

const names = (items: readonly { name: string }[]) => items.map((item) => item.name);

describe('CEL catalog', () => {
  it('documents every variable, field, function, method and macro the environment registers', () => {
    for (const phase of phases) {
      const catalog = celCatalog(phase);
      const all = [
        ...catalog.variables,
        ...Object.values(catalog.fields).flat(),
        ...catalog.functions,
        ...catalog.methods,
        ...catalog.macros,
        ...Object.values(catalog.namespaces).flat(),
      ];
      const undocumented = all.filter((item) => item.documentation.trim() === '').map((item) => item.name);
      expect(undocumented, `${phase}: add the prose to functionDocs or cel-types.ts`).toEqual([]);
    }
  });

  it('shows the names people type, never internal aliases', () => {
    const catalog = celCatalog('on_http_request');
    expect(names(catalog.methods)).toContain('matches');
    expect(names(catalog.methods)).toContain('join');
    expect(JSON.stringify(catalog)).not.toMatch(/gatehouse(Re2Matches|BoundedJoin)/);
    expect(names(catalog.macros)).toEqual(
      expect.arrayContaining(['has', 'all', 'exists', 'exists_one', 'map', 'filter']),
    );
  });

  it('offers only the variables of the phase', () => {
    expect(names(celCatalog('on_http_request').variables)).toContain('req');
    expect(names(celCatalog('on_http_request').variables)).not.toContain('res');
    expect(names(celCatalog('on_http_response').variables)).toContain('res');
    expect(names(celCatalog('on_tcp_connect').variables)).not.toContain('req');
  });
});

describe('celCompletions', () => {
  it('lists the request fields after `req.`', () => {
    const completion = celCompletions('req.', 'on_http_request');
    expect(completion.prefix).toBe('');
    expect(names(completion.items)).toEqual(
      expect.arrayContaining(['method', 'url', 'host', 'headers', 'cookies', 'content_length', 'user_agent']),
    );
    expect(names(completion.items)).not.toContain('hasReqHeader');
  });

  it('completes every mcp.* variable of issue 14 with its type, and kind names all four kinds', () => {
    const items = celCompletions('mcp.tool == "run_query" && mcp.', 'on_http_request').items;
    expect(Object.fromEntries(items.map((item) => [item.name, item.detail]))).toEqual({
      method: 'string',
      tool: 'string',
      arguments: 'map<string, dyn>',
      session_id: 'string',
      protocol_version: 'string',
      kind: 'string',
    });
    const kind = items.find((item) => item.name === 'kind')?.documentation ?? '';
    for (const value of ['request', 'notification', 'response', 'batch']) expect(kind).toContain(`\`${value}\``);
  });

  it('walks nested fields and filters by the typed prefix', () => {
    expect(names(celCompletions('req.url.pa', 'on_http_request').items)[0]).toBe('path');
    expect(names(celCompletions("'a' in conn.client_ip.ca", 'on_http_request').items)).toEqual(['categories']);
    // Mutual TLS: the client certificate's members complete down to the distinguished name's attributes.
    expect(names(celCompletions('conn.tls.client.subject.comm', 'on_http_request').items)).toEqual(['common_name']);
    expect(names(celCompletions('conn.tls.client.san.', 'on_http_request').items)).toEqual(
      expect.arrayContaining(['dns_names', 'email_addresses', 'ip_addresses', 'uris']),
    );
  });

  it('offers string methods after a string field and macros after a list', () => {
    expect(names(celCompletions('req.method.sta', 'on_http_request').items)).toEqual(['startsWith']);
    const afterList = names(celCompletions('conn.client_ip.categories.', 'on_http_request').items);
    expect(afterList).toEqual(expect.arrayContaining(['exists', 'all', 'filter', 'map', 'size']));
    expect(afterList).not.toContain('startsWith');
  });

  it("offers a namespace's functions with their docs after `hash.` and the other namespaces", () => {
    const hash = celCompletions('hash.', 'on_http_request').items;
    expect(names(hash)).toEqual(['crc32', 'crc64', 'md5', 'sha1', 'sha256', 'sha512', 'xxhash64']);
    const md5 = hash.find((item) => item.name === 'md5')!;
    expect(md5.kind).toBe('function');
    expect(md5.detail).toContain('hash.md5(string): string');
    expect(md5.documentation).toMatch(/MD5/);
    expect(names(celCompletions('hash.sh', 'on_http_request').items)).toEqual(['sha1', 'sha256', 'sha512']);
    const expected: Record<string, string[]> = {
      base64: ['decode', 'encode'],
      basic_auth: ['encode'],
      json: ['decode', 'encode'],
      url: ['escape', 'parse', 'unescape'],
      queryString: ['decode', 'encode'],
      rand: ['double', 'int'],
      lists: ['range'],
      strings: ['quote'],
    };
    for (const [namespace, functions] of Object.entries(expected)) {
      const items = celCompletions(`req.method == "GET" && ${namespace}.`, 'on_http_request').items;
      expect(names(items), namespace).toEqual(functions);
      for (const item of items) expect(item.documentation, `${namespace}.${item.name}`).not.toBe('');
    }
  });

  it('offers the namespaces at the start of a term, never their functions bare', () => {
    const items = celCompletions('', 'on_http_request').items;
    expect(names(items)).toEqual(expect.arrayContaining(['hash', 'base64', 'queryString', 'basic_auth']));
    expect(items.find((item) => item.name === 'hash')?.documentation).toContain('`hash.md5()`');
    expect(names(items)).not.toContain('quote');
  });

  it('offers variables, functions and has() at the start of a term', () => {
    const items = names(celCompletions('req.method == "GET" && hasR', 'on_http_request').items);
    expect(items).toEqual(expect.arrayContaining(['hasReqHeader', 'hasReqCookie']));
    expect(names(celCompletions('', 'on_http_request').items)).toEqual(
      expect.arrayContaining(['req', 'conn', 'has', 'inCidrRange']),
    );
  });
});

describe('CEL error messages', () => {
  const messageOf = (source: string, phase: (typeof phases)[number] = 'on_http_request') => {
    const check = compileExpression(source, phase);
    if (check.ok) throw new Error(`${source} compiled`);
    return check.message;
  };

  it('suggests the function, method, variable or field meant', () => {
    expect(messageOf('hasReqHeadr("x")')).toBe('Unknown function hasReqHeadr(). Did you mean "hasReqHeader"?');
    expect(messageOf('req.method.startWith("a")')).toContain('Did you mean "startsWith"?');
    expect(messageOf('req.methd == "GET"')).toContain('Did you mean "method"?');
    expect(messageOf('con.client_ip == "1.2.3.4"')).toContain('Did you mean "conn"?');
    expect(messageOf('foo == 1')).not.toContain('Did you mean');
  });

  it('says what is wrong with the syntax in plain words', () => {
    expect(messageOf('(req.method == "GET"')).toBe("The expression ends before a closing ')'.");
    expect(messageOf('req.method ==')).toMatch(/ends too early/);
    expect(messageOf('"abc')).toMatch(/string is not closed/);
    expect(messageOf('req.method = "GET"')).toMatch(/compare with '=='/);
    expect(messageOf('size(req.url.path) > 1)')).toMatch(/no matching opening/);
  });

  it('keeps the phase hints', () => {
    expect(messageOf('res.status_code == 200')).toContain('res.* exists only in on_http_response');
  });
});
