import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateSecretsKey, SECRETS_KEY_FILE } from './secrets-key-file.js';

describe('the embedded secrets key', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'gatehouse-key-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('is generated once with mode 0600 and read back on the next boot', async () => {
    const first = await loadOrCreateSecretsKey(directory);
    expect(first).toHaveLength(32);
    expect((await stat(join(directory, SECRETS_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect((await loadOrCreateSecretsKey(directory)).equals(first)).toBe(true);
  });

  it('tightens a copied file and refuses one that holds no key', async () => {
    await writeFile(join(directory, SECRETS_KEY_FILE), 'not a key\n', { mode: 0o644 });
    await expect(loadOrCreateSecretsKey(directory)).rejects.toThrow(/does not hold a 32-byte key/);
    expect((await stat(join(directory, SECRETS_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(directory, SECRETS_KEY_FILE), 'utf8')).toBe('not a key\n');
  });
});
