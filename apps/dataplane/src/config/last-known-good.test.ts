import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigSnapshotSchema } from '@gatehouse/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LastKnownGoodWriter, readLastKnownGood } from './last-known-good.js';
import { applySnapshot, emptyRuntimeConfig } from './runtime-config.js';
import { syncedEndpoint } from '../../test/helpers/config-server.js';
import { memorySharedPorts } from '../../test/helpers/shared-ports.js';

const shared = memorySharedPorts();

const policy = 'on_http_request:\n  - actions: [{ type: deny }]\n';

function configAt(revision: number) {
  return applySnapshot(
    emptyRuntimeConfig(shared),
    {
      revision,
      generated_at: '2026-11-24T00:00:00Z',
      endpoints: [
        syncedEndpoint({ id: 'ep_a', url: 'https://a.example.com', traffic_policy: policy, policy_version: revision }),
      ],
      ip_categories: [{ name: 'c', cidrs: ['10.0.0.0/8'], description: 'c', builtin: false }],
    },
    shared,
  ).config;
}

describe('last-known-good file', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'gatehouse-lkg-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('is absent until written, then holds a contract-valid snapshot with its ETag', async () => {
    expect(await readLastKnownGood(directory)).toBeUndefined();
    const writer = new LastKnownGoodWriter(join(directory, 'nested'), (error) => {
      throw error;
    });
    writer.schedule(configAt(4), '"rev-4"');
    await writer.flush();
    const stored = await readLastKnownGood(join(directory, 'nested'));
    expect(stored?.etag).toBe('"rev-4"');
    expect(ConfigSnapshotSchema.parse(stored?.snapshot).revision).toBe(4);
    expect(stored?.snapshot.endpoints[0]?.id).toBe('ep_a');
    // No temporary files are left behind.
    expect(await readdir(join(directory, 'nested'))).toEqual(['dataplane-last-known-good.json']);
  });

  it('coalesces a burst of changes and always ends with the newest', async () => {
    const writer = new LastKnownGoodWriter(
      directory,
      (error) => {
        throw error;
      },
      20,
    );
    for (let revision = 1; revision <= 30; revision++) writer.schedule(configAt(revision), null);
    await writer.flush();
    expect((await readLastKnownGood(directory))?.snapshot.revision).toBe(30);
  });

  it('refuses a corrupt file with a clear error instead of serving garbage', async () => {
    await writeFile(
      join(directory, 'dataplane-last-known-good.json'),
      JSON.stringify({ format: 1, etag: null, snapshot: { revision: 'x' } }),
    );
    await expect(readLastKnownGood(directory)).rejects.toThrow(/not a valid snapshot/);
    expect(JSON.parse(await readFile(join(directory, 'dataplane-last-known-good.json'), 'utf8'))).toMatchObject({
      format: 1,
    });
  });
});
