import { describe, expect, it } from 'vitest';
import { RecordedRequestSchema, recordedHeadersMax, recordedHeaderValueMaxLength } from './replay.js';
import { requestEventSchema } from './request-events.js';
import { sampleRecordedRequest, sampleRequestEvent } from './testing/index.js';

/** Facts with these header lines, whatever they are (the schema is what judges them). */
const facts = (headers: unknown) => ({ ...sampleRecordedRequest(), headers });

describe('RecordedRequestSchema header lines', () => {
  it('keeps pairs of strings in order, repeated names included', () => {
    const lines = [
      ['accept', 'application/json'],
      ['x-tag', 'a'],
      ['x-tag', 'b'],
    ];
    expect(RecordedRequestSchema.parse(facts(lines)).headers).toEqual(lines);
    expect(RecordedRequestSchema.parse(facts([])).headers).toEqual([]);
  });

  it('cuts long values and extra lines without changing what it was given', () => {
    const long = 'v'.repeat(recordedHeaderValueMaxLength + 10);
    const lines: [string, string][] = Array.from({ length: recordedHeadersMax + 6 }, (_, index) => [
      `x-h${index}`,
      index % 2 === 0 ? long : 'short',
    ]);
    const parsed = RecordedRequestSchema.parse(facts(lines)).headers;
    expect(parsed).toHaveLength(recordedHeadersMax);
    expect(parsed[0]).toEqual(['x-h0', 'v'.repeat(recordedHeaderValueMaxLength)]);
    expect(parsed[1]).toEqual(['x-h1', 'short']);
    expect(parsed.at(-1)?.[0]).toBe(`x-h${recordedHeadersMax - 1}`);
    // The input is the worker's parsed job data; cutting must not write into it.
    expect(lines[0]![1]).toBe(long);
    expect(lines).toHaveLength(recordedHeadersMax + 6);
  });

  it.each([
    ['a line that is not a pair', [['accept']]],
    ['a line of three', [['accept', 'a', 'b']]],
    ['a value that is not a string', [['content-length', 100]]],
    ['a name that is not a string', [[1, 'x']]],
    ['a name over 256 characters', [['n'.repeat(257), 'x']]],
    ['a line that is an object', [{ name: 'accept', value: 'x' }]],
    ['lines that are not a list', { accept: 'x' }],
    ['a bad line past the kept ones', [...Array.from({ length: recordedHeadersMax }, () => ['a', 'b']), ['a', null]]],
  ])('refuses %s', (_, headers) => {
    const result = RecordedRequestSchema.safeParse(facts(headers));
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['headers']);
  });

  it('a malformed line costs the event its replay facts, never the event', () => {
    // Spread in, not passed to sampleRequestEvent: its type would not let a malformed line through.
    const event = requestEventSchema.parse({ ...sampleRequestEvent({ id: 'ev_1' }), replay: facts([['accept', 42]]) });
    expect(event.id).toBe('ev_1');
    expect(event.replay).toBeNull();
  });
});
