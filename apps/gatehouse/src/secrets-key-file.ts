import { randomBytes } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSecretsKey } from '@gatehouse/api/control-plane';

export const SECRETS_KEY_FILE = 'secrets.key';

/**
 * The embedded shape's GATEHOUSE_SECRETS_KEY when none is set: generated once into the data directory (mode 0600,
 * created exclusively so two boots cannot write different keys) and read back on every later boot. Losing the file
 * loses every stored secret; back it up with the database.
 */
export async function loadOrCreateSecretsKey(dataDirectory: string): Promise<Buffer> {
  const path = join(dataDirectory, SECRETS_KEY_FILE);
  try {
    await writeFile(path, `${randomBytes(32).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
  }
  const mode = (await stat(path)).mode & 0o777;
  // Keep the key private even when the file was restored or copied with looser permissions.
  if ((mode & 0o077) !== 0) await chmod(path, 0o600);
  const key = parseSecretsKey(await readFile(path, 'utf8'));
  if (key === undefined) {
    throw new Error(
      `${path} does not hold a 32-byte key (base64 or hex); restore it from a backup or set GATEHOUSE_SECRETS_KEY`,
    );
  }
  return key;
}
