import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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

export interface TestCertificateAuthority {
  cert: Buffer;
  key: Buffer;
}

/** A throwaway certificate authority (openssl, RSA 2048, one day) for mutual-TLS tests. */
export async function createTestCertificateAuthority(commonName: string): Promise<TestCertificateAuthority> {
  return createTestCertificate(commonName);
}

/**
 * A certificate `authority` issued for `subject` (an openssl `-subj`, e.g. `/CN=service-a/O=Example Corp`), with the
 * given subjectAltName extension value (e.g. `DNS:a.example.com,IP:10.0.0.1`) and serial (hex).
 */
export async function createIssuedCertificate(
  authority: TestCertificateAuthority,
  subject: string,
  options: { subjectAltName?: string; serialHex?: string } = {},
): Promise<{ cert: Buffer; key: Buffer }> {
  const directory = await mkdtemp(join(tmpdir(), 'gatehouse-tls-'));
  const path = (name: string) => join(directory, name);
  try {
    await writeFile(path('ca.pem'), authority.cert);
    await writeFile(path('ca-key.pem'), authority.key);
    await writeFile(
      path('ext.cnf'),
      options.subjectAltName === undefined ? '' : `subjectAltName=${options.subjectAltName}\n`,
    );
    const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
    run([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      path('key.pem'),
      '-out',
      path('req.csr'),
    ]);
    run([
      'x509',
      '-req',
      '-in',
      path('req.csr'),
      '-CA',
      path('ca.pem'),
      '-CAkey',
      path('ca-key.pem'),
      '-set_serial',
      `0x${options.serialHex ?? '01'}`,
      '-days',
      '1',
      '-sha256',
      '-extfile',
      path('ext.cnf'),
      '-out',
      path('cert.pem'),
    ]);
    return { cert: await readFile(path('cert.pem')), key: await readFile(path('key.pem')) };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
