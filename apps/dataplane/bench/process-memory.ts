import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Reads a data plane process's memory from its admin port: RSS as it stands, and the JS heap after a full GC. The
 * full GC comes from Node's --heapsnapshot-signal (a snapshot forces one first; the files are deleted), so the process
 * must be started with `nodeOptions` in its NODE_OPTIONS. Shared by the per-session and per-stream memory benches.
 */
export interface MemoryProbe {
  /** Add to the data plane's NODE_OPTIONS. */
  readonly nodeOptions: string;
  readonly attach: (pid: number, adminPort: number) => void;
  readonly rss: () => Promise<number>;
  readonly heapAfterFullGc: () => Promise<number>;
  readonly metrics: () => Promise<Map<string, number>>;
  readonly close: () => Promise<void>;
}

export async function createMemoryProbe(): Promise<MemoryProbe> {
  const scratch = await mkdtemp(join(tmpdir(), 'gatehouse-bench-memory-'));
  let target: { pid: number; adminPort: number } | undefined;
  const attached = () => {
    if (target === undefined) throw new Error('attach the probe to the data plane first');
    return target;
  };
  const metrics = async (): Promise<Map<string, number>> => {
    const text = await (await fetch(`http://127.0.0.1:${attached().adminPort}/metrics`)).text();
    const values = new Map<string, number>();
    for (const match of text.matchAll(/^(\w+) (\S+)$/gm)) values.set(match[1]!, Number(match[2]));
    return values;
  };
  return {
    nodeOptions: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${scratch}`,
    attach: (pid, adminPort) => {
      target = { pid, adminPort };
    },
    metrics,
    rss: async () => {
      return (await metrics()).get('gatehouse_dataplane_process_resident_memory_bytes')!;
    },
    heapAfterFullGc: async () => {
      const before = (await readdir(scratch)).length;
      process.kill(attached().pid, 'SIGUSR2');
      const deadline = Date.now() + 120_000;
      // The snapshot file appears when writing starts; wait until its size stops changing.
      let lastSize = -1;
      for (;;) {
        if (Date.now() > deadline) throw new Error('the data plane wrote no heap snapshot within 120 s');
        await new Promise((resolve) => setTimeout(resolve, 250));
        const files = (await readdir(scratch)).filter((name) => name.endsWith('.heapsnapshot'));
        if (files.length <= before) continue;
        const { size } = await stat(join(scratch, files.at(-1)!));
        if (size > 0 && size === lastSize) break;
        lastSize = size;
      }
      for (const name of await readdir(scratch)) await rm(join(scratch, name), { force: true });
      return (await metrics()).get('gatehouse_dataplane_nodejs_heap_size_used_bytes')!;
    },
    close: async () => {
      await rm(scratch, { recursive: true, force: true });
    },
  };
}
