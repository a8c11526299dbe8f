import type { RequestLogBatch } from '@gatehouse/contracts';

/**
 * The request events a sink holds until they are sent: each event's JSON text encoded into the UTF-8 bytes of the
 * batch it will be sent in, as it is emitted.
 *
 * Why bytes and not the texts: buffering the texts, joining them into one half-megabyte string per batch and encoding
 * that for ioredis cost 23–27 µs of CPU per event (`npm run bench:event-sink`), several times the JSON.stringify
 * itself: the join and the encoding of large fresh strings, and texts that lived up to a batch interval (copied by
 * scavenges, then promoted). Under wrk, the same data plane without a sink used about a fifth less CPU per request.
 * Here a text dies as soon as it is written, and the bytes live outside the JS heap in buffers that are reused
 * (9–12 µs per event in all).
 *
 * Layout of one batch's buffer: room for the head `{"source":…,"sent_at":…,"events":[`, the events separated by
 * commas, and `]}` written when it is sealed. The sealed payload is the JSON text of a RequestLogBatch, the same
 * bytes `JSON.stringify({ source, sent_at, events })` gives.
 */
export class EventBatch {
  /** Where each event ends (exclusive); an event starts one byte (the comma) after the previous one ends. */
  readonly #ends: number[] = [];
  #bytes: Buffer;
  #length: number;
  #payload: Buffer | undefined;

  constructor(
    bytes: Buffer,
    private readonly eventsStart: number,
  ) {
    this.#bytes = bytes;
    this.#length = eventsStart;
  }

  get count(): number {
    return this.#ends.length;
  }

  /** Bytes written so far, head room included. */
  get bytesUsed(): number {
    return this.#length;
  }

  /** Sealed: handed to a send. Its bytes never change again (a send that timed out may still be written later). */
  get sealed(): boolean {
    return this.#payload !== undefined;
  }

  /** Appends one event's JSON text. Not after sealing. */
  append(text: string): void {
    const separator = this.#ends.length === 0 ? 0 : 1;
    // At most three bytes per UTF-16 unit: room for that, so `write` never stops short (no byteLength scan first).
    const needed = this.#length + separator + text.length * 3 + 2;
    if (needed > this.#bytes.length) {
      const larger = Buffer.allocUnsafe(Math.max(needed, this.#bytes.length * 2));
      this.#bytes.copy(larger, 0, 0, this.#length);
      this.#bytes = larger;
    }
    if (separator === 1) this.#bytes[this.#length++] = 0x2c; // ','
    this.#length += this.#bytes.write(text, this.#length, 'utf8');
    this.#ends.push(this.#length);
  }

  /** The events' JSON texts, in order (spilling to disk, which stores one text per line). */
  texts(): string[] {
    const texts: string[] = [];
    let start = this.eventsStart;
    for (const end of this.#ends) {
      texts.push(this.#bytes.toString('utf8', start, end));
      start = end + 1;
    }
    return texts;
  }

  /**
   * The RequestLogBatch payload, fixed at the first call: later calls (a retried send) answer the same bytes. `head`
   * is `{"source":…,"sent_at":…,"events":[` and must take `eventsStart` bytes (EventBatches checks it).
   */
  seal(head: () => string): Buffer {
    if (this.#payload !== undefined) return this.#payload;
    this.#bytes.write(head(), 0, this.eventsStart, 'utf8');
    this.#bytes[this.#length] = 0x5d; // ']'
    this.#bytes[this.#length + 1] = 0x7d; // '}'
    this.#payload = this.#bytes.subarray(0, this.#length + 2);
    return this.#payload;
  }

  /** The buffer, for reuse by the next batch. */
  get buffer(): Buffer {
    return this.#bytes;
  }
}

/** Buffers up to this size are reused, and new ones are never made larger (a batch still grows as it needs). */
const maxRememberedBytes = 4 * 1024 * 1024;

/**
 * The batches waiting to be sent, oldest first: every batch but the last holds `maxEvents` events or was sealed with
 * fewer (a timer sent it); new events go to the last batch while it is open and has room.
 */
export class EventBatches {
  readonly #batches: EventBatch[] = [];
  /** Buffers of delivered batches, to be written again (no fresh allocation, no page faults per batch). */
  readonly #spare: Buffer[] = [];
  readonly #headBytes: number;
  #count = 0;
  /**
   * A new buffer's size: a quarter more than the last delivered batch used, so a new batch of the same traffic does
   * not copy itself while it grows. The last batch only: one batch of huge events must not size every later buffer
   * (while Redis is down, a hundred batches may wait).
   */
  #bufferBytes: number;

  constructor(
    private readonly source: string,
    private readonly maxEvents: number,
    /** A new buffer's size; it grows (doubling) when a batch needs more. */
    private readonly initialBytes = 256 * 1024,
  ) {
    this.#headBytes = Buffer.byteLength(this.#head(new Date(0).toISOString()));
    this.#bufferBytes = Math.max(initialBytes, this.#headBytes + 2);
  }

  /** Events held, sealed or not. */
  get count(): number {
    return this.#count;
  }

  append(text: string): void {
    let last = this.#batches.at(-1);
    if (last === undefined || last.sealed || last.count >= this.maxEvents) {
      const spare = this.#spare.pop();
      last = new EventBatch(spare ?? Buffer.allocUnsafe(this.#bufferBytes), this.#headBytes);
      this.#batches.push(last);
    }
    last.append(text);
    this.#count += 1;
  }

  /** The oldest batch: the next to send. */
  first(): EventBatch | undefined {
    return this.#batches[0];
  }

  /** The payload of the oldest batch, sealing it with `sentAt` if it was not yet. */
  seal(batch: EventBatch, sentAt: Date): Buffer {
    return batch.seal(() => {
      const head = this.#head(sentAt.toISOString());
      // An ISO timestamp is 24 characters for years 0–9999; past that the layout would not hold.
      if (Buffer.byteLength(head) !== this.#headBytes) throw new Error(`unexpected batch head: ${head}`);
      return head;
    });
  }

  /**
   * Removes the oldest batch once it was delivered. `reuse`: its buffer may be written again. Only for a batch
   * delivered by its first send: after a failed or timed-out send, ioredis may still hold the command and write it
   * again on a reconnect, so that buffer is left to the garbage collector.
   */
  delivered(batch: EventBatch, reuse: boolean): void {
    if (this.#batches[0] !== batch) throw new Error('only the oldest batch is delivered');
    this.#batches.shift();
    this.#count -= batch.count;
    this.#bufferBytes = Math.min(
      maxRememberedBytes,
      Math.max(this.initialBytes, this.#headBytes + 2, Math.ceil(batch.bytesUsed * 1.25)),
    );
    const buffer = batch.buffer;
    if (reuse && this.#spare.length < 2 && buffer.length <= maxRememberedBytes) this.#spare.push(buffer);
  }

  /** Removes every batch and answers how many events they held (given up at shutdown: nothing reads them again). */
  discard(): number {
    const discarded = this.#count;
    this.#batches.length = 0;
    this.#count = 0;
    return discarded;
  }

  /** Removes every batch from index `from` on and answers their events' texts, in order (for the spill file). */
  takeTexts(from = 0): string[] {
    const taken = this.#batches.splice(from);
    const texts: string[] = [];
    for (const batch of taken) {
      this.#count -= batch.count;
      texts.push(...batch.texts());
    }
    return texts;
  }

  /** The batch's fields before its events, typed by the contract: a field added there must be added here. */
  #head(sentAt: string): string {
    const head: Omit<RequestLogBatch, 'events'> = { source: this.source, sent_at: sentAt };
    return `${JSON.stringify(head).slice(0, -1)},"events":[`;
  }
}
