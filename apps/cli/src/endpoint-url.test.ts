import { describe, expect, it } from 'vitest';
import { isCidrOrAddress, normalizeUpstreamUrl, parseEndpointAddress } from './endpoint-url.js';

describe('parseEndpointAddress (the API spelling of endpoint URLs)', () => {
  it.each([
    ['https://MCP.Example.com', 'https://mcp.example.com', 'cloud'],
    ['https://mcp.example.com:443/', 'https://mcp.example.com', 'cloud'],
    ['http://mcp.example.com:80', 'http://mcp.example.com', 'cloud'],
    ['http://mcp.example.com:8080', 'http://mcp.example.com:8080', 'cloud'],
    ['https://mcp.example.internal.', 'https://mcp.example.internal', 'internal'],
    ['https://*.example.com', 'https://*.example.com', 'cloud'],
    ['  https://a.example.com  ', 'https://a.example.com', 'cloud'],
  ])('%s → %s (%s)', (text, url, type) => {
    expect(parseEndpointAddress(text)).toEqual({ ok: true, value: expect.objectContaining({ url, type }) as unknown });
  });

  it.each([
    ['mcp.example.com', 'not a URL'],
    ['ftp://mcp.example.com', 'the scheme must be http or https, not ftp'],
    ['https://mcp.example.com/path', 'no path, query or fragment'],
    ['https://mcp.example.com/?a=1', 'no path, query or fragment'],
    ['https://user:pw@mcp.example.com', 'must not contain credentials'],
    ['https://*.example.internal', 'internal endpoints cannot use wildcard hosts'],
    ['https://under_score.example.com', 'is not a valid host name'],
  ])('rejects %s', (text, problem) => {
    const parsed = parseEndpointAddress(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toContain(problem);
  });
});

describe('normalizeUpstreamUrl', () => {
  it('drops the lone trailing slash the API drops, keeps paths and queries', () => {
    expect(normalizeUpstreamUrl('http://127.0.0.1:3333/')).toEqual({ ok: true, value: 'http://127.0.0.1:3333' });
    expect(normalizeUpstreamUrl('HTTP://Upstream:80')).toEqual({ ok: true, value: 'http://upstream' });
    expect(normalizeUpstreamUrl('http://upstream/mcp/')).toEqual({ ok: true, value: 'http://upstream/mcp/' });
    expect(normalizeUpstreamUrl('http://upstream/?a=1')).toEqual({ ok: true, value: 'http://upstream/?a=1' });
  });

  it('rejects what the API rejects', () => {
    expect(normalizeUpstreamUrl('upstream:3333').ok).toBe(false);
    expect(normalizeUpstreamUrl('ws://upstream').ok).toBe(false);
    expect(normalizeUpstreamUrl('http://a:b@upstream').ok).toBe(false);
    expect(normalizeUpstreamUrl('http://upstream/#x').ok).toBe(false);
  });
});

describe('isCidrOrAddress', () => {
  it.each(['10.0.0.0/8', '203.0.113.7', '2607:6bc0::/48', '::1', '0.0.0.0/0'])('accepts %s', (value) => {
    expect(isCidrOrAddress(value)).toBe(true);
  });
  it.each(['10.0.0.0/33', '2607:6bc0::/129', '10.0.0/8', '1.2.3.4/8/1', 'example.com', '1.2.3.4/x'])(
    'rejects %s',
    (value) => {
      expect(isCidrOrAddress(value)).toBe(false);
    },
  );
});
