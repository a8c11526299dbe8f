import { describe, expect, it } from 'vitest';
import { AppError } from '../common/app-error';
import { parseEndpointUrl, parseUpstreamUrl } from './endpoint-url';

describe('parseEndpointUrl', () => {
  it.each([
    ['https://Example.COM', 'cloud', { url: 'https://example.com', port: 443, proto: 'https' }],
    ['http://example.com:80/', 'cloud', { url: 'http://example.com', port: 80 }],
    ['https://example.com:8443', 'cloud', { url: 'https://example.com:8443', port: 8443 }],
    ['https://*.example.com', 'cloud', { url: 'https://*.example.com', host: '*.example.com' }],
    ['https://mcp.example.internal', 'internal', { url: 'https://mcp.example.internal' }],
    // An IPv4 literal is a valid Host to route on (local testing).
    ['http://127.0.0.1:8080', 'cloud', { url: 'http://127.0.0.1:8080', host: '127.0.0.1' }],
  ] as const)('accepts %s (%s)', (text, type, expected) => {
    expect(parseEndpointUrl(text, type)).toMatchObject(expected);
  });

  it.each([
    ['ftp://example.com', 'cloud'],
    ['https://example.com/path', 'cloud'],
    ['https://a.internal', 'cloud'],
    ['https://example.com', 'internal'],
    ['https://*.svc.internal', 'internal'],
    ['https://a..b.com', 'cloud'],
    ['https://-a.com', 'cloud'],
    ['https://a.*.com', 'cloud'],
    ['https://[::1]', 'cloud'],
    ['javascript:alert(1)', 'cloud'],
  ] as const)('rejects %s (%s)', (text, type) => {
    expect(() => parseEndpointUrl(text, type)).toThrow(AppError);
  });
});

describe('parseUpstreamUrl', () => {
  it('accepts http(s) URLs and normalizes a bare trailing slash', () => {
    expect(parseUpstreamUrl('http://127.0.0.1:3333/')).toBe('http://127.0.0.1:3333');
    expect(parseUpstreamUrl('https://svc.local/base/')).toBe('https://svc.local/base/');
  });
  it('rejects other schemes and credentials', () => {
    expect(() => parseUpstreamUrl('file:///etc/passwd')).toThrow(AppError);
    expect(() => parseUpstreamUrl('http://user:pw@host')).toThrow(AppError);
    expect(() => parseUpstreamUrl('nope')).toThrow(AppError);
  });
});
