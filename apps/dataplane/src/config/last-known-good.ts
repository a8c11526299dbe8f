import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigSnapshotSchema, type ConfigSnapshot } from '@gatehouse/contracts';
import { z } from 'zod';
import type { RuntimeConfig } from './runtime-config.js';

/**
 * The last-known-good snapshot on disk: what the data plane last ran, so a restart serves traffic even when the API is
 * down. Written atomically (temp file, fsync, rename) so a crash mid-write leaves the previous file intact. The config
 * being written is immutable, so writing it in slices across awaits is safe.
 */

const fileName = 'dataplane-last-known-good.json';
const fileSchema = z.object({ format: z.literal(1), etag: z.string().nullable(), snapshot: ConfigSnapshotSchema });

export interface StoredSnapshot {
  snapshot: ConfigSnapshot;
  etag: string | null;
}

export async function readLastKnownGood(directory: string): Promise<StoredSnapshot | undefined> {
  let text: string;
  try {
    // Read as bytes and decoded in one call: readFile's own decoding goes through a StringDecoder chunk by chunk,
    // ≈20 ms more for a 15 MB file (10,000 endpoints) on the boot path.
    text = (await readFile(join(directory, fileName))).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = fileSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new Error(
      `${join(directory, fileName)} is not a valid snapshot: ${parsed.error.issues[0]?.message ?? 'unknown problem'}`,
    );
  return { snapshot: parsed.data.snapshot, etag: parsed.data.etag };
}

/**
 * Each endpoint's JSON is encoded per write, a slice at a time, and dropped once written: keeping every endpoint's
 * encoded copy between writes held 14 MB at 10,000 endpoints (a second copy of every policy text) for a write that
 * happens at most once a second and only after changes. One 10 MB string per write is avoided too (it made the
 * young-generation GC copy it around and stalled config changes for tens of ms): a slice is ≈0.7 MB and takes a few ms to encode.
 */
const comma = Buffer.from(',');

/** Endpoints encoded and written per call: the file goes out in slices so a 10 MB snapshot never holds the event loop. */
const endpointsPerSlice = 512;

async function writeAtomically(directory: string, config: RuntimeConfig, etag: string | null): Promise<void> {
  await mkdir(directory, { recursive: true });
  const target = join(directory, fileName);
  const temporary = `${target}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    const head = JSON.stringify({ revision: config.revision, generated_at: new Date().toISOString() }).slice(0, -1);
    let written = 0;
    await handle.write(`{"format":1,"etag":${JSON.stringify(etag)},"snapshot":${head},"endpoints":[`);
    let slice: Buffer[] = [];
    for (const endpoint of config.endpointsById.values()) {
      if (slice.length > 0 || written > 0) slice.push(comma);
      slice.push(Buffer.from(JSON.stringify(endpoint.synced)));
      written++;
      if (slice.length >= endpointsPerSlice * 2) {
        await handle.writev(slice);
        slice = [];
      }
    }
    if (slice.length > 0) await handle.writev(slice);
    await handle.write(`],"ip_categories":${JSON.stringify([...config.ipCategories.values()])}}}`);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Writes the newest config after changes, one write at a time: changes that land while a write runs are coalesced
 * into the next write, spaced by `minimumIntervalMs`, so a burst of changes never queues a burst of 10 MB writes
 * and the newest config always reaches the disk.
 */
export class LastKnownGoodWriter {
  #pending: { config: RuntimeConfig; etag: string | null } | undefined;
  #running: Promise<void> | undefined;
  #lastWriteAt = 0;
  /** Ends the spacing wait early (flush on shutdown). */
  #wake: (() => void) | undefined;

  constructor(
    private readonly directory: string,
    private readonly onError: (error: unknown) => void,
    private readonly minimumIntervalMs = 0,
  ) {}

  schedule(config: RuntimeConfig, etag: string | null): void {
    this.#pending = { config, etag };
    this.#running ??= this.#drain().finally(() => (this.#running = undefined));
  }

  /** Writes what is scheduled now (skipping the spacing) and resolves once it is on disk or failed and was reported. */
  async flush(): Promise<void> {
    this.#wake?.();
    while (this.#running !== undefined) {
      this.#wake?.();
      await this.#running;
    }
  }

  async #drain(): Promise<void> {
    while (this.#pending !== undefined) {
      const wait = this.#lastWriteAt + this.minimumIntervalMs - Date.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
      const next = this.#pending;
      this.#pending = undefined;
      try {
        await writeAtomically(this.directory, next.config, next.etag);
      } catch (error) {
        this.onError(error);
      }
      this.#lastWriteAt = Date.now();
    }
  }
}
