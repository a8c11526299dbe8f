import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** The directory under GATEHOUSE_DATA_DIR that holds request events not yet handed to the request-log queue. */
export const spillDirectoryName = 'request-events';

/** What one append wrote and what the size bound made it drop. */
export interface SpillAppendResult {
  written: number;
  dropped: number;
}

/** A spill file this process took over for delivery (renamed, so nobody else delivers or appends to it). */
export interface ClaimedSpill {
  path: string;
}

/**
 * Request events kept on disk while the request-log queue (Redis) cannot take them: JSON lines appended to a file of
 * this process's own (`spill-<pid>-<random>.jsonl`), bounded in bytes. Each process writes its own file, so several
 * data plane processes may share one GATEHOUSE_DATA_DIR. Delivery claims a file by renaming it (`replay-…`), which is
 * atomic: two processes never deliver the same file, and appends after the claim go to a new file. A file whose
 * writer is gone (a previous run, a crashed worker) is claimed by whoever starts next. Liveness is a pid check, so
 * the directory belongs to one host or container (as GATEHOUSE_DATA_DIR does): processes of one data plane may share
 * it, separate data planes may not. One instance per process: a file named with this pid but another id is taken to be
 * a previous process's (a restarted container gets the same pid).
 *
 * Crash safety: a write interrupted by a crash leaves at most a torn last line, which `read` skips (and counts);
 * `append(…, { sync: true })` fsyncs before it resolves (shutdown).
 */
export class EventSpill {
  readonly directory: string;
  readonly #id = `${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly #maxBytes: number;
  /** Bytes in this process's current spill file (the bound applies to it). */
  #bytes = 0;
  /** Appends and claims of our own file run one at a time, in order. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(options: { dataDirectory: string; maxBytes: number }) {
    this.directory = join(options.dataDirectory, spillDirectoryName);
    this.#maxBytes = options.maxBytes;
  }

  /** This process's current spill file. */
  get path(): string {
    return join(this.directory, `spill-${this.#id}.jsonl`);
  }

  /**
   * Appends events (each the JSON text of a RequestEventInput, as the sink buffers them) as lines, as many as fit
   * under the byte bound; the rest are reported as dropped.
   */
  append(events: readonly string[], options: { sync?: boolean } = {}): Promise<SpillAppendResult> {
    return this.#serialized(async () => {
      if (events.length === 0) return { written: 0, dropped: 0 };
      const lines: string[] = [];
      let bytes = 0;
      for (const event of events) {
        const line = `${event}\n`;
        const size = Buffer.byteLength(line);
        if (this.#bytes + bytes + size > this.#maxBytes) break;
        lines.push(line);
        bytes += size;
      }
      if (lines.length > 0) {
        await mkdir(this.directory, { recursive: true });
        const file = await open(this.path, 'a');
        try {
          await file.write(lines.join(''));
          if (options.sync === true) await file.sync();
        } finally {
          await file.close();
        }
        // The file's directory entry too, or a power loss right after shutdown could lose a file that was just made.
        if (options.sync === true) await syncDirectory(this.directory);
        this.#bytes += bytes;
      }
      return { written: lines.length, dropped: events.length - lines.length };
    });
  }

  /**
   * Takes one spill file over for delivery, or resolves undefined when there is none: a file of a process that is no
   * longer running (or that had this pid before: a restarted container), one this process claimed earlier, or this
   * process's own current file (new appends then start a new one).
   */
  claim(): Promise<ClaimedSpill | undefined> {
    return this.#serialized(async () => {
      let names: string[];
      try {
        names = (await readdir(this.directory)).filter((name) => name.endsWith('.jsonl')).sort();
      } catch {
        return undefined;
      }
      const ours = `spill-${this.#id}.jsonl`;
      // Files of earlier runs first, our own current file last.
      for (const name of [...names.filter((entry) => entry !== ours), ...names.filter((entry) => entry === ours)]) {
        const owner = /^(?:spill|replay)-(\d+)-([0-9a-f]+)/.exec(name);
        if (owner === null) continue;
        const ownerId = `${owner[1]}-${owner[2]}`;
        if (name.startsWith('replay-') && ownerId === this.#id) return { path: join(this.directory, name) };
        if (ownerId !== this.#id && processAlive(Number(owner[1]))) continue;
        const claimed = join(this.directory, `replay-${this.#id}-${name.replace(/^(?:spill|replay)-/, '')}`);
        try {
          await rename(join(this.directory, name), claimed);
        } catch {
          // Another process claimed it first.
          continue;
        }
        if (name === ours) this.#bytes = 0;
        return { path: claimed };
      }
      return undefined;
    });
  }

  /**
   * The events of a spill file, as their JSON texts; lines that are not a JSON object with an id (a torn last line)
   * are skipped.
   */
  async read(spill: ClaimedSpill): Promise<{ events: string[]; skipped: number }> {
    const text = await readFile(spill.path, 'utf8');
    const events: string[] = [];
    let skipped = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const value = JSON.parse(line) as unknown;
        if (typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string')
          events.push(line);
        else skipped += 1;
      } catch {
        skipped += 1;
      }
    }
    return { events, skipped };
  }

  async remove(spill: ClaimedSpill): Promise<void> {
    await rm(spill.path, { force: true });
  }

  /** Resolves once every append started so far is on disk (or failed). */
  async settled(): Promise<void> {
    await this.#chain.catch(() => undefined);
  }

  #serialized<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#chain.catch(() => undefined).then(task);
    this.#chain = next;
    return next;
  }
}

async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** Whether a process with this id runs (EPERM: it does, as another user). Our own pid is "not running" here. */
function processAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
