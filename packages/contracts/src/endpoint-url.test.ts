import { describe, expect, it } from 'vitest';
import { parseEndpointUrl, parseUpstreamUrl, policyOptionsFor } from './endpoint-url.js';

describe('parseEndpointUrl', () => {
  it.each([
    ['https://Example.COM', 'cloud', { url: 'https://example.com', port: 443, proto: 'https', type: 'cloud' }],
    ['http://example.com:80/', 'cloud', { url: 'http://example.com', port: 80, proto: 'http' }],
    ['https://example.com:8443', 'cloud', { url: 'https://example.com:8443', port: 8443 }],
    ['https://*.example.com', 'cloud', { url: 'https://*.example.com', host: '*.example.com' }],
    ['https://mcp.example.internal', 'internal', { url: 'https://mcp.example.internal', type: 'internal' }],
    // A trailing dot names the same host; leading and trailing blanks are the user's, not the URL's.
    ['https://mcp.example.internal.', 'internal', { url: 'https://mcp.example.internal' }],
    ['  https://a.example.com  ', 'cloud', { url: 'https://a.example.com' }],
    ['https://*.example.co.uk', 'cloud', { host: '*.example.co.uk' }],
    ['https://*.mcp.example.com', 'cloud', { host: '*.mcp.example.com' }],
  ] as const)('accepts %s (%s)', (text, type, expected) => {
    const parsed = parseEndpointUrl(text, type);
    expect(parsed).toEqual({ ok: true, value: expect.objectContaining(expected) as unknown });
  });

  it('derives the type from the host when none is expected', () => {
    expect(parseEndpointUrl('https://a.internal')).toMatchObject({ ok: true, value: { type: 'internal' } });
    expect(parseEndpointUrl('https://a.example.com')).toMatchObject({ ok: true, value: { type: 'cloud' } });
  });

  it('reads a wildcard host the way a browser serializes it', () => {
    // Chromium's URL parser percent-encodes `*` in hosts; Node's does not. Both must give the same answer.
    const original = globalThis.URL;
    class BrowserLikeUrl extends original {
      override get hostname(): string {
        return super.hostname.replace(/^\*\./, '%2A.');
      }
    }
    globalThis.URL = BrowserLikeUrl;
    try {
      expect(parseEndpointUrl('https://*.example.com', 'cloud')).toMatchObject({
        ok: true,
        value: { host: '*.example.com' },
      });
    } finally {
      globalThis.URL = original;
    }
  });

  it.each([
    ['mcp.example.com', undefined, 'is not a URL (expected e.g. https://mcp.example.com)'],
    ['javascript:alert(1)', 'cloud', 'The scheme must be http or https, not javascript'],
    ['ftp://example.com', 'cloud', 'The scheme must be http or https, not ftp'],
    ['https://user:pw@mcp.example.com', 'cloud', 'The URL must not contain credentials'],
    ['https://example.com/path', 'cloud', 'An endpoint URL is scheme://host[:port] only: no path, query or fragment'],
    ['https://example.com/?a=1', 'cloud', 'no path, query or fragment'],
    ['https://example.com#top', 'cloud', 'no path, query or fragment'],
    ['https://a.internal', 'cloud', 'Cloud endpoint hosts must not end in .internal'],
    ['https://example.com', 'internal', 'Internal endpoint hosts must end in .internal'],
    ['https://*.svc.internal', 'internal', 'Internal endpoints cannot use wildcard hosts'],
    ['https://*.svc.internal', undefined, 'Internal endpoints cannot use wildcard hosts'],
    ['https://a..b.com', 'cloud', 'is not a valid host name'],
    ['https://-a.com', 'cloud', 'is not a valid host name'],
    ['https://a.*.com', 'cloud', 'is not a valid host name'],
    ['https://under_score.example.com', 'cloud', '"under_score.example.com" is not a valid host name'],
    ['https://[::1]', 'cloud', 'is not a valid host name'],
    // A wildcard on a bare public suffix claims every site under it (issue 12, item 13).
    ['https://*.com', 'cloud', '"*.com" is a wildcard on the public suffix "com"'],
    ['https://*.co.uk', 'cloud', '"*.co.uk" is a wildcard on the public suffix "co.uk"'],
    ['https://*.github.io', 'cloud', 'is a wildcard on the public suffix "github.io"'],
    ['https://*.COM.', 'cloud', 'is a wildcard on the public suffix "com"'],
    // IP literals, in every spelling WHATWG URL normalizes to dotted form.
    ['http://127.0.0.1:8080', 'cloud', '"127.0.0.1" is an IP address; an endpoint host must be a DNS name'],
    ['https://203.0.113.7', 'cloud', 'is an IP address'],
    ['http://2130706433', 'cloud', '"127.0.0.1" is an IP address'],
    ['http://0x7f.1', 'cloud', '"127.0.0.1" is an IP address'],
    [`https://${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`, 'cloud', 'valid host'],
  ] as const)('rejects %s (%s)', (text, type, problem) => {
    const parsed = parseEndpointUrl(text, type);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toContain(problem);
  });

  it('quotes at most 200 characters of text that is not a URL', () => {
    const parsed = parseEndpointUrl('x'.repeat(5000));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem.length).toBeLessThan(300);
  });
});

describe('parseUpstreamUrl', () => {
  it('drops the lone trailing slash, keeps paths and queries', () => {
    expect(parseUpstreamUrl('http://127.0.0.1:3333/')).toEqual({ ok: true, value: 'http://127.0.0.1:3333' });
    expect(parseUpstreamUrl('HTTP://Upstream:80')).toEqual({ ok: true, value: 'http://upstream' });
    expect(parseUpstreamUrl('https://svc.local/base/')).toEqual({ ok: true, value: 'https://svc.local/base/' });
    expect(parseUpstreamUrl('http://upstream/?a=1')).toEqual({ ok: true, value: 'http://upstream/?a=1' });
  });

  it.each([
    ['nope', 'is not a URL (expected e.g. http://127.0.0.1:3333)'],
    ['127.0.0.1:3333', 'is not a URL'],
    ['upstream:3333', 'The upstream must be an http or https URL, not upstream'],
    ['ws://127.0.0.1:3333', 'The upstream must be an http or https URL, not ws'],
    ['file:///etc/passwd', 'The upstream must be an http or https URL, not file'],
    ['http://user:pw@host', 'The upstream URL must not contain credentials'],
    ['http://upstream/#x', 'The upstream URL must not contain a fragment'],
  ])('rejects %s', (text, problem) => {
    const parsed = parseUpstreamUrl(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toContain(problem);
  });
});

describe('policyOptionsFor', () => {
  it.each([
    ['cloud', 'https://api.example.com', { endpointType: 'cloud', acceptsConnections: true }],
    ['internal', 'https://svc.internal', { endpointType: 'internal', acceptsConnections: false }],
    // Agent policies may fall through to the upstream (internal rules); a public one is connected to directly.
    ['agent', 'https://laptop.example.com', { endpointType: 'internal', acceptsConnections: true }],
    ['agent', 'https://laptop.team.internal', { endpointType: 'internal', acceptsConnections: false }],
    ['agent', 'https://LAPTOP.TEAM.INTERNAL:8443', { endpointType: 'internal', acceptsConnections: false }],
    ['agent', 'not a url', { endpointType: 'internal', acceptsConnections: false }],
  ] as const)('%s %s', (type, url, expected) => {
    expect(policyOptionsFor(type, url)).toEqual(expected);
  });
});
