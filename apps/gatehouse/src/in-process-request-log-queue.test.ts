import type { RequestEvent } from '@gatehouse/contracts';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { InProcessRequestLogQueue } from './in-process-request-log-queue.js';

/** Records batches; fails the next `failures` calls (a database that is briefly away). */
class RecordingProcessor {
  readonly batches: { source: string; ids: string[] }[] = [];
  failures = 0;

  processBatch(data: unknown): Promise<unknown> {
    if (this.failures > 0) {
      this.failures -= 1;
      return Promise.reject(new Error('database unavailable'));
    }
    const batch = data as { source: string; events: { id: string }[] };
    this.batches.push({ source: batch.source, ids: batch.events.map((event) => event.id) });
    return Promise.resolve({});
  }

  get stored(): string[] {
    return this.batches.flatMap((batch) => batch.ids);
  }
}

const event = (id: number) => ({ id: `event-${id}` }) as unknown as RequestEvent;
const silent = pino({ level: 'silent' });

function queueFor(processor: RecordingProcessor, options: ConstructorParameters<typeof InProcessRequestLogQueue>[3]) {
  return new InProcessRequestLogQueue((batch) => processor.processBatch(batch), silent, 'embedded', options);
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('InProcessRequestLogQueue', () => {
  it('stores events in batches of at most 500, in order, tagged with its source', async () => {
    const processor = new RecordingProcessor();
    const queue = queueFor(processor, {});
    for (let id = 0; id < 1_200; id += 1) expect(queue.emit(event(id))).toBe(true);
    await until(() => processor.stored.length === 1_200);
    expect(processor.batches.map((batch) => batch.ids.length)).toEqual([500, 500, 200]);
    expect(processor.stored).toEqual(Array.from({ length: 1_200 }, (_, id) => `event-${id}`));
    expect(new Set(processor.batches.map((batch) => batch.source))).toEqual(new Set(['embedded']));
    await queue.close();
  });

  it('keeps a batch whose insert failed and stores it on the retry, losing nothing', async () => {
    const processor = new RecordingProcessor();
    processor.failures = 2;
    const queue = queueFor(processor, { retryDelayMs: 20 });
    queue.emit(event(1));
    queue.emit(event(2));
    await until(() => processor.stored.length === 2);
    expect(processor.stored).toEqual(['event-1', 'event-2']);
    expect(queue.droppedEvents()).toBe(0);
    await queue.close();
  });

  it('drops and counts events beyond its buffer instead of growing without bound', async () => {
    const processor = new RecordingProcessor();
    processor.failures = Number.POSITIVE_INFINITY;
    const queue = queueFor(processor, { maxBufferedEvents: 3, retryDelayMs: 10, closeTimeoutMs: 50 });
    const accepted = [1, 2, 3, 4, 5].map((id) => queue.emit(event(id)));
    expect(accepted).toEqual([true, true, true, false, false]);
    expect(queue.droppedEvents()).toBe(2);
    await queue.close();
    // The three it could never store are counted as lost too.
    expect(queue.droppedEvents()).toBe(5);
    expect(queue.buffered).toBe(0);
  });

  it('stores what is buffered on close, then refuses new events', async () => {
    const processor = new RecordingProcessor();
    const queue = queueFor(processor, {});
    queue.emit(event(1));
    await queue.close();
    expect(processor.stored).toEqual(['event-1']);
    expect(queue.emit(event(2))).toBe(false);
    expect(queue.droppedEvents()).toBe(1);
  });
});
