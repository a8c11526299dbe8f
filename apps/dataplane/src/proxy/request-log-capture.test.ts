import { describe, expect, it } from 'vitest';
import { BodyPrefix, capturedHeaders } from './request-log-capture.js';

const headers = (entries: Record<string, string>) =>
  new Map(Object.entries(entries).map(([name, value]) => [name, [value]]));

describe('BodyPrefix', () => {
  it('keeps text bodies of textual media types and of none, whole when short', () => {
    const json = new BodyPrefix(headers({ 'content-type': 'application/problem+json; charset=utf-8' }));
    json.add(Buffer.from('{"a":'));
    json.add(Buffer.from('1}'));
    expect(json.toText()).toBe('{"a":1}');
    const untyped = new BodyPrefix(new Map());
    untyped.addText('plain words');
    expect(untyped.toText()).toBe('plain words');
    expect(new BodyPrefix(new Map()).toText()).toBeNull();
  });

  it('cuts at the limit on a character boundary and says how much is missing', () => {
    const prefix = new BodyPrefix(headers({ 'content-type': 'text/plain' }), 5);
    prefix.addText('ab€cd');
    prefix.addText('efgh');
    // 'ab' + the 3-byte '€' fill the 5 bytes exactly; the rest only counts.
    expect(prefix.toText()).toBe('ab€\n[truncated: first 5 of 11 bytes]');
    const cut = new BodyPrefix(new Map(), 4);
    cut.addText('ab€');
    expect(cut.toText()).toBe('ab\n[truncated: first 4 of 5 bytes]');
  });

  it('summarizes encoded, binary-typed and binary-looking bodies', () => {
    const gzip = new BodyPrefix(headers({ 'content-type': 'application/json', 'content-encoding': 'gzip' }));
    gzip.add(Buffer.from([0x1f, 0x8b, 8]));
    expect(gzip.toText()).toBe('[gzip-encoded body not captured] (3 bytes)');
    const octets = new BodyPrefix(headers({ 'content-type': 'application/octet-stream' }));
    octets.addText('looks like text');
    expect(octets.toText()).toBe('[application/octet-stream body not captured] (15 bytes)');
    const invalidUtf8 = new BodyPrefix(new Map());
    invalidUtf8.add(Buffer.from([0xff, 0xfe, 0x41]));
    expect(invalidUtf8.toText()).toBe('[binary body not captured] (3 bytes)');
    const withNul = new BodyPrefix(headers({ 'content-type': 'text/plain' }));
    withNul.add(Buffer.from('a\u0000b'));
    expect(withNul.toText()).toBe('[binary body not captured] (3 bytes)');
  });
});

describe('capturedHeaders', () => {
  it('drops secret headers whatever their case and keeps repeated values as a list', () => {
    const map = new Map([
      ['Authorization', ['Bearer x']],
      ['cookie', ['a=b']],
      ['proxy-authorization', ['Basic y']],
      ['set-cookie', ['c=d']],
      ['x-tag', ['one', 'two']],
      ['accept', ['*/*']],
    ]);
    expect(capturedHeaders(map)).toEqual({ 'x-tag': ['one', 'two'], accept: '*/*' });
  });
});
