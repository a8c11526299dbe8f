import { describe, expect, it } from 'vitest';
import { CopyTextEncoder, jsonWithoutNul } from './copy-text';

// What Postgres reads back is tested on the real thing (request-logs.e2e.test.ts, "stores what the COPY text format
// escapes…"); these pin the text itself.
describe('CopyTextEncoder', () => {
  const encoder = new CopyTextEncoder([
    ['name', 'text'],
    ['count', 'integer'],
    ['tags', 'text[]'],
    ['doc', 'jsonb'],
    ['flag', 'boolean'],
  ]);

  it('writes nulls as \\N, escapes the text format and quotes array elements', () => {
    expect(
      encoder.encode([
        {
          name: 'a\tb\nc\rd\\e',
          count: 3,
          tags: ['x,y', 'say "hi"', 'back\\slash', null],
          doc: { s: 'q"\\' },
          flag: true,
        },
        { name: '\\N', count: null, tags: [], doc: null, flag: false },
        { count: 0 },
      ]),
    ).toBe(
      [
        [
          String.raw`a\tb\nc\rd\\e`,
          '3',
          String.raw`{"x,y","say \\"hi\\"","back\\\\slash",NULL}`,
          String.raw`{"s":"q\\"\\\\"}`,
          't',
        ],
        [String.raw`\\N`, String.raw`\N`, '{}', String.raw`\N`, 'f'],
        [String.raw`\N`, '0', String.raw`\N`, String.raw`\N`, String.raw`\N`],
      ]
        .map((fields) => `${fields.join('\t')}\n`)
        .join(''),
    );
  });

  it('writes a json column serialized already (json text) as it writes the value itself', () => {
    const value = { path: 'C:\\temp', tab: '\t', quote: '"' };
    const json = new CopyTextEncoder([['value', 'json']]);
    const text = new CopyTextEncoder([['value', 'json text']]);
    expect(text.encode([{ value: JSON.stringify(value) }])).toBe(json.encode([{ value }]));
    expect(text.encode([{ value: JSON.stringify(value) }])).toBe(`${JSON.stringify(value).replace(/\\/g, '\\\\')}\n`);
    expect(text.encode([{ value: null }])).toBe('\\N\n');
  });

  it('reads a column from its key when it has one (a value the row carries under a symbol)', () => {
    const facts = Symbol('facts');
    const keyed = new CopyTextEncoder([
      ['id', 'text'],
      ['facts', 'json text', facts],
    ]);
    // The row's own `facts` property is not the column: the symbol's value is.
    const json = String.raw`{"p":"C:\\x"}`;
    expect(keyed.encode([{ id: 'a', facts: 'ignored', [facts]: json }, { id: 'b' }])).toBe(
      `a\t${String.raw`{"p":"C:\\\\x"}`}\nb\t\\N\n`,
    );
  });

  it('turns NUL escapes in JSON into U+FFFD and leaves a literal backslash-u0000 alone', () => {
    const value = { nul: 'a\u0000b', literal: 'c\\u0000d', both: '\\\u0000', ['k\u0000']: 1 };
    expect(JSON.parse(jsonWithoutNul(JSON.stringify(value)))).toEqual({
      nul: 'a\ufffdb',
      literal: 'c\\u0000d',
      both: '\\\ufffd',
      ['k\ufffd']: 1,
    });
    const plain = JSON.stringify({ a: 'no nul' });
    expect(jsonWithoutNul(plain)).toBe(plain);
  });
});
