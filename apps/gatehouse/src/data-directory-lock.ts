import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * One process per GATEHOUSE_DATA_DIR: PGlite has no locking of its own, and two processes writing one data
 * directory would corrupt it. The lock is a pid file created exclusively; a file left by a process that no longer
 * runs (a crash, kill -9) is taken over.
 */
export async function lockDataDirectory(directory: string): Promise<() => Promise<void>> {
  const path = join(directory, 'gatehouse.pid');
  if (heldByThisProcess.has(path)) throw inUse(directory, process.pid);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const file = await open(path, 'wx', 0o600);
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      heldByThisProcess.add(path);
      return async () => {
        heldByThisProcess.delete(path);
        await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    // Our own pid in a file we do not hold is a leftover of an earlier run (in a container, pid 1 every time).
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) {
      throw inUse(directory, holder);
    }
    await rm(path, { force: true });
  }
  throw new Error(`could not lock GATEHOUSE_DATA_DIR ${directory} (${path} keeps reappearing)`);
}

/** Lock files this process holds (a second embedded Gatehouse in one process, e.g. in tests, must not pass). */
const heldByThisProcess = new Set<string>();

/** Another process (or another instance in this one) runs on the directory. */
export class DataDirectoryInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirectoryInUseError';
  }
}

function inUse(directory: string, pid: number): Error {
  return new DataDirectoryInUseError(
    `GATEHOUSE_DATA_DIR ${directory} is in use by process ${pid}; stop it first or choose another directory`,
  );
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user — still running.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
