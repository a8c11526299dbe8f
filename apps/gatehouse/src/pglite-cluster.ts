import { PGlite } from '@electric-sql/pglite';

/**
 * Postgres' default 128 MB of shared buffers is resident in PGlite's WebAssembly memory from the start (it is the
 * largest part of the embedded shape's idle RSS); 16 MB holds the hot pages of a single-node install, and the rest of
 * the data is read through the OS page cache as with any Postgres.
 */
const embeddedSharedBuffers = '16MB';

/** PGlite over the cluster in `directory` (created when it has none), ready for queries. */
export async function openPGlite(directory: string): Promise<PGlite> {
  const pglite = new PGlite(directory, {
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${embeddedSharedBuffers}`],
  });
  await pglite.waitReady;
  return pglite;
}
