import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway self-signed certificate for `commonName` (openssl, RSA 2048, one day), as PEM buffers. */
export async function createTestCertificate(commonName: string): Promise<{ cert: Buffer; key: Buffer }> {
  const directory = await mkdtemp(join(tmpdir(), 'gatehouse-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        `/CN=${commonName}`,
        '-keyout',
        join(directory, 'key.pem'),
        '-out',
        join(directory, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { cert: await readFile(join(directory, 'cert.pem')), key: await readFile(join(directory, 'key.pem')) };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
