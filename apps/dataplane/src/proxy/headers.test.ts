import { describe, expect, it } from 'vitest';
import {
  forwardableHeaders,
  headerMapOf,
  hostWithoutPort,
  requestTargetOf,
  responseHeaderList,
  upstreamHeaders,
} from './headers.js';

describe('headers', () => {
  it('keeps every value of a repeated header, lower-casing names', () => {
    const map = headerMapOf(['Accept', 'a', 'X-Multi', '1', 'x-multi', '2']);
    expect([...map]).toEqual([
      ['accept', ['a']],
      ['x-multi', ['1', '2']],
    ]);
  });

  it('drops hop-by-hop headers, headers named in Connection, and the gateway error header', () => {
    const map = headerMapOf([
      'Connection',
      'keep-alive, X-Hop',
      'X-Hop',
      '1',
      'Keep-Alive',
      '5',
      'Upgrade',
      'h2c',
      'TE',
      'trailers',
      'Transfer-Encoding',
      'chunked',
      'Gatehouse-Error-Code',
      'X',
      'Host',
      'h',
      'X-Keep',
      'k',
    ]);
    expect(forwardableHeaders(map, new Set(['host']))).toEqual(['x-keep', 'k']);
    expect(responseHeaderList(map)).toEqual(['host', 'h', 'x-keep', 'k']);
  });

  it('splits Host into a lower-case host and a port, IPv6 literals included', () => {
    expect(hostWithoutPort('API.Example.com:8443')).toEqual({ host: 'api.example.com', port: '8443' });
    expect(hostWithoutPort('example.com')).toEqual({ host: 'example.com', port: '' });
    expect(hostWithoutPort('[::1]:8080')).toEqual({ host: '[::1]', port: '8080' });
    expect(hostWithoutPort('[::1]')).toEqual({ host: '[::1]', port: '' });
  });

  it('reads origin-form targets with Host, and absolute-form targets with their own authority', () => {
    expect(requestTargetOf('/a/b?x=1&y', 'Example.com:81')).toEqual({
      hostHeader: 'Example.com:81',
      host: 'example.com',
      port: '81',
      path: '/a/b',
      query: 'x=1&y',
      absoluteForm: false,
    });
    expect(requestTargetOf('http://API.example.com:8080/p?q', 'ignored.example.com')).toEqual({
      hostHeader: 'API.example.com:8080',
      host: 'api.example.com',
      port: '8080',
      path: '/p',
      query: 'q',
      absoluteForm: true,
    });
    expect(requestTargetOf('https://api.example.com?q', undefined)).toMatchObject({
      host: 'api.example.com',
      path: '/',
      query: 'q',
    });
    expect(requestTargetOf('*', undefined)).toMatchObject({ host: '', path: '*', query: '' });
  });

  it('builds upstream headers: X-Forwarded-* replaced for untrusted peers, extended and kept for trusted ones', () => {
    const headers = headerMapOf([
      'Host',
      'a.example.com',
      'X-Forwarded-For',
      '6.6.6.6',
      'X-Forwarded-Host',
      'spoof',
      'X-Forwarded-Proto',
      'https',
      'Content-Length',
      '3',
      'Accept',
      '*/*',
    ]);
    const base = {
      headers,
      hostHeader: 'a.example.com',
      rewriteHost: undefined,
      clientIp: '198.51.100.1',
      peer: '10.0.0.1',
      scheme: 'http' as const,
      bufferedBody: false,
    };
    expect(upstreamHeaders({ ...base, trustedPeer: false })).toEqual([
      'content-length',
      '3',
      'accept',
      '*/*',
      'host',
      'a.example.com',
      'x-forwarded-for',
      '198.51.100.1',
      'x-forwarded-host',
      'a.example.com',
      'x-forwarded-proto',
      'http',
    ]);
    expect(upstreamHeaders({ ...base, trustedPeer: true, rewriteHost: '127.0.0.1:9000', bufferedBody: true })).toEqual([
      'accept',
      '*/*',
      'host',
      '127.0.0.1:9000',
      'x-forwarded-for',
      '6.6.6.6, 10.0.0.1',
      'x-forwarded-host',
      'spoof',
      'x-forwarded-proto',
      'https',
    ]);
  });
});
