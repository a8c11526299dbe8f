import { describe, expect, it } from 'vitest';
import { syntheticHeaderList } from './headers.js';
import { serializeRawResponse } from './websocket-proxy.js';

describe('raw responses on the upgrade path', () => {
  it('never lets a header name or value split the response or smuggle headers', () => {
    const raw = serializeRawResponse({
      status: 403,
      headers: new Map([
        ['x-ok', ['fine']],
        ['x-crlf', ['a\r\nset-cookie: session=stolen']],
        ['x-lf', ['a\nset-cookie: session=stolen']],
        ['x-cr', ['a\rb']],
        ['x-nul', ['a\u0000b']],
        ['x-control', ['a\u0001b']],
        ['bad name', ['x']],
        ['x-evil\r\nset-cookie', ['session=stolen']],
        ['', ['empty name']],
        ['content-length', ['999']],
        ['connection', ['keep-alive']],
        ['x-multi', ['1', 'two\r\nthree', '3']],
      ]),
      body: 'denied',
    }).toString('latin1');
    const [head, body] = raw.split('\r\n\r\n');
    expect(body).toBe('denied');
    expect(head!.split('\r\n')).toEqual([
      'HTTP/1.1 403 Forbidden',
      'x-ok: fine',
      'x-multi: 1',
      'x-multi: 3',
      'content-length: 6',
      'connection: close',
    ]);
    expect(raw).not.toMatch(/set-cookie/i);
    expect(raw.includes('\u0000') || raw.includes('\u0001')).toBe(false);
    // Exactly one header/body separator and no bare CR or LF anywhere in the head.
    expect(head!.replaceAll('\r\n', '')).not.toMatch(/[\r\n]/);
  });

  it('answers 500 for a status that cannot be written', () => {
    const raw = serializeRawResponse({ status: 12_345, headers: new Map(), body: '' }).toString('latin1');
    expect(raw.startsWith('HTTP/1.1 500 ')).toBe(true);
  });

  it('leaves invalid headers out of the list node:http writes too (which would otherwise throw)', () => {
    expect(
      syntheticHeaderList(
        new Map([
          ['x-ok', ['1']],
          ['x-bad', ['a\rb', '2']],
          ['x y', ['3']],
        ]),
      ),
    ).toEqual(['x-ok', '1', 'x-bad', '2']);
  });
});
