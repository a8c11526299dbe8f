import { describe, expect, it } from 'vitest';
import { EventBatches } from './event-batches.js';

const sentAt = new Date('2026-12-07T03:04:05.678Z');
const texts = (count: number, offset = 0): string[] =>
  Array.from({ length: count }, (_, index) =>
    JSON.stringify({ id: `e${offset + index}`, path: `/p/${offset + index}` }),
  );

describe('EventBatches', () => {
  it('seals a batch into the JSON text JSON.stringify({ source, sent_at, events }) gives', () => {
    const batches = new EventBatches('dp-1', 500);
    const events = [
      { id: 'a', path: '/ü/😀', query: 'q=\u2028"\\' },
      { id: 'b', user_agent: '中文 \u0000 \ud83d\ude00' },
      { id: 'c', n: 1.5, ok: true, none: null },
    ];
    for (const event of events) batches.append(JSON.stringify(event));
    const payload = batches.seal(batches.first()!, sentAt);
    expect(payload.toString('utf8')).toBe(JSON.stringify({ source: 'dp-1', sent_at: sentAt.toISOString(), events }));
  });

  it('starts a new batch at maxEvents and keeps every event, in order, across batches', () => {
    const batches = new EventBatches('', 3);
    for (const text of texts(7)) batches.append(text);
    expect(batches.count).toBe(7);
    const sent: unknown[] = [];
    while (batches.first() !== undefined) {
      const batch = batches.first()!;
      const parsed = JSON.parse(batches.seal(batch, sentAt).toString('utf8')) as { events: unknown[] };
      expect(parsed.events.length).toBeLessThanOrEqual(3);
      sent.push(...parsed.events);
      batches.delivered(batch, true);
    }
    expect(sent).toEqual(texts(7).map((text) => JSON.parse(text) as unknown));
    expect(batches.count).toBe(0);
  });

  it('never changes a sealed batch: later events go to a new one, and a second seal answers the same bytes', () => {
    const batches = new EventBatches('dp', 500);
    for (const text of texts(2)) batches.append(text);
    const first = batches.first()!;
    const payload = Buffer.from(batches.seal(first, sentAt));
    batches.append(texts(1, 2)[0]!);
    expect(batches.count).toBe(3);
    expect(Buffer.compare(batches.seal(first, new Date(sentAt.getTime() + 5_000)), payload)).toBe(0);
    batches.delivered(first, false);
    const second = batches.first()!;
    expect(second).not.toBe(first);
    expect(second.texts()).toEqual(texts(1, 2));
  });

  it('grows a buffer for events larger than it, keeping what it held', () => {
    const batches = new EventBatches('dp', 500, 64);
    const big = JSON.stringify({ id: 'big', body: 'x'.repeat(10_000) + '€'.repeat(1_000) });
    const all = [...texts(2), big, ...texts(2, 2)];
    for (const text of all) batches.append(text);
    expect(batches.first()!.texts()).toEqual(all);
    const parsed = JSON.parse(batches.seal(batches.first()!, sentAt).toString('utf8')) as { events: unknown[] };
    expect(parsed.events).toEqual(all.map((text) => JSON.parse(text) as unknown));
  });

  it('reuses a delivered buffer without carrying any of its events over', () => {
    const batches = new EventBatches('dp', 2);
    for (const text of texts(2)) batches.append(text);
    const first = batches.first()!;
    const used = first.buffer;
    batches.seal(first, sentAt);
    batches.delivered(first, true);
    batches.append(texts(1, 9)[0]!);
    const next = batches.first()!;
    expect(next.buffer).toBe(used);
    expect(JSON.parse(batches.seal(next, sentAt).toString('utf8'))).toEqual({
      source: 'dp',
      sent_at: sentAt.toISOString(),
      events: [{ id: 'e9', path: '/p/9' }],
    });
  });

  it('makes a new buffer large enough for a batch like the last one, so it does not copy itself while it fills', () => {
    const batches = new EventBatches('dp', 64, 64);
    for (const text of texts(64)) batches.append(text);
    const grown = batches.first()!;
    batches.seal(grown, sentAt);
    batches.delivered(grown, false);
    batches.append(texts(1, 64)[0]!);
    const next = batches.first()!;
    const allocated = next.buffer;
    expect(allocated).not.toBe(grown.buffer);
    for (const text of texts(63, 65)) batches.append(text);
    expect(next.count).toBe(64);
    expect(next.buffer).toBe(allocated);
  });

  it('does not reuse the buffer of a batch whose send failed before', () => {
    const batches = new EventBatches('dp', 1);
    batches.append(texts(1)[0]!);
    const failed = batches.first()!;
    batches.seal(failed, sentAt);
    batches.delivered(failed, false);
    batches.append(texts(1, 1)[0]!);
    expect(batches.first()!.buffer).not.toBe(failed.buffer);
  });

  it('takes the texts of every batch from an index on (spilling), leaving the ones before', () => {
    const batches = new EventBatches('dp', 2);
    for (const text of texts(5)) batches.append(text);
    expect(batches.takeTexts(1)).toEqual(texts(3, 2));
    expect(batches.count).toBe(2);
    expect(batches.takeTexts()).toEqual(texts(2));
    expect(batches.count).toBe(0);
    expect(batches.first()).toBeUndefined();
  });

  it('discards every batch, sealed or not, and counts their events', () => {
    const batches = new EventBatches('dp', 2);
    for (const text of texts(5)) batches.append(text);
    batches.seal(batches.first()!, sentAt);
    expect(batches.discard()).toBe(5);
    expect(batches.count).toBe(0);
    expect(batches.first()).toBeUndefined();
    batches.append(texts(1)[0]!);
    expect(batches.first()!.texts()).toEqual(texts(1));
  });

  it('delivers only the oldest batch, once', () => {
    const batches = new EventBatches('dp', 1);
    for (const text of texts(2)) batches.append(text);
    const first = batches.first()!;
    batches.delivered(first, true);
    expect(() => batches.delivered(first, true)).toThrow('only the oldest batch is delivered');
    expect(batches.count).toBe(1);
  });
});
