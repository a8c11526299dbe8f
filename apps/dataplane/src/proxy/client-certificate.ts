import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import type { ClientCertificateFacts, DistinguishedNameFacts } from '@gatehouse/traffic-policy';

/**
 * `conn.tls.client.*`: the facts ngrok documents about a mutual-TLS client certificate, read from what Node's TLS
 * socket reports. Returns a reader that parses the certificate on first use (and remembers it), so only policies that
 * read `conn.tls.client` pay for it. The certificate is exposed only when the handshake verified it against
 * DATAPLANE_TLS_CLIENT_CA (an unverified one is refused at the handshake anyway).
 */
export function clientCertificateReader(socket: TLSSocket): () => ClientCertificateFacts | undefined {
  let read: { facts: ClientCertificateFacts | undefined } | undefined;
  return () => {
    read ??= { facts: socket.authorized ? clientCertificateFacts(socket.getPeerCertificate(false)) : undefined };
    return read.facts;
  };
}

/** Undefined when the peer sent no certificate (Node reports an empty object then). */
export function clientCertificateFacts(
  certificate: PeerCertificate | DetailedPeerCertificate | undefined,
): ClientCertificateFacts | undefined {
  if (certificate === undefined || certificate.raw === undefined) return undefined;
  const san = subjectAltNames(certificate.subjectaltname ?? '');
  return {
    subject: distinguishedName(certificate.subject),
    issuer: distinguishedName(certificate.issuer),
    san,
    // Node writes the serial in upper-case hex; ngrok's examples are lower-case.
    serialNumber: (certificate.serialNumber ?? '').toLowerCase(),
    signatureAlgorithm: signatureAlgorithmName(certificate.raw),
    pem: pemOf(certificate.raw),
    notBeforeMs: timeOf(certificate.valid_from),
    notAfterMs: timeOf(certificate.valid_to),
  };
}

/** Node's subject/issuer object uses OpenSSL's short names; a repeated attribute is an array. */
function distinguishedName(name: Record<string, string | string[] | undefined> | undefined): DistinguishedNameFacts {
  const all = (key: string): string[] => {
    const value = name?.[key];
    return value === undefined ? [] : Array.isArray(value) ? [...value] : [value];
  };
  return {
    // Go's pkix.Name.CommonName keeps one common name (the last); certificates rarely carry more than one.
    commonName: all('CN').at(-1) ?? '',
    country: all('C'),
    locality: all('L'),
    organization: all('O'),
    organizationalUnit: all('OU'),
    postalCode: all('postalCode'),
    province: all('ST'),
    streetAddress: all('street'),
  };
}

/**
 * Node's `subjectaltname` is `DNS:a, IP Address:1.2.3.4, email:x@y, URI:u`; a value holding a comma, quote or other
 * special character is written as a JSON string, so it is read back with JSON.parse rather than split on commas.
 */
export function subjectAltNames(text: string): ClientCertificateFacts['san'] {
  const san: ClientCertificateFacts['san'] = { dnsNames: [], emailAddresses: [], ipAddresses: [], uris: [] };
  const entry = /([^:,]+?):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/gy;
  for (const match of text.matchAll(entry)) {
    const kind = match[1]!.trim();
    const raw = match[2]!;
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    if (kind === 'DNS') san.dnsNames.push(value);
    else if (kind === 'email') san.emailAddresses.push(value);
    else if (kind === 'IP Address') san.ipAddresses.push(value);
    else if (kind === 'URI') san.uris.push(value);
  }
  return san;
}

function timeOf(text: string | undefined): number {
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return Number.isFinite(ms) ? ms : 0;
}

function pemOf(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  // No trailing newline: ngrok's example checks `pem.ends_with('-----END CERTIFICATE-----')`.
  return ['-----BEGIN CERTIFICATE-----', ...lines, '-----END CERTIFICATE-----'].join('\n');
}

/** Go's names (x509.SignatureAlgorithm.String), which ngrok reports, by the algorithm's object identifier. */
const signatureAlgorithms: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'MD5-RSA',
  '1.2.840.113549.1.1.5': 'SHA1-RSA',
  '1.2.840.113549.1.1.11': 'SHA256-RSA',
  '1.2.840.113549.1.1.12': 'SHA384-RSA',
  '1.2.840.113549.1.1.13': 'SHA512-RSA',
  '1.2.840.10040.4.3': 'DSA-SHA1',
  '2.16.840.1.101.3.4.3.2': 'DSA-SHA256',
  '1.2.840.10045.4.1': 'ECDSA-SHA1',
  '1.2.840.10045.4.3.2': 'ECDSA-SHA256',
  '1.2.840.10045.4.3.3': 'ECDSA-SHA384',
  '1.2.840.10045.4.3.4': 'ECDSA-SHA512',
  '1.3.101.112': 'Ed25519',
};

/**
 * Node does not report a certificate's signature algorithm, so it is read from the DER: Certificate ::= SEQUENCE {
 * tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE { OID, … }, … }. '' for an algorithm Go has no single name for
 * (RSASSA-PSS names depend on its parameters) or DER this reader does not follow.
 */
export function signatureAlgorithmName(der: Buffer): string {
  const certificate = readTlv(der, 0);
  if (certificate === undefined) return '';
  const tbs = readTlv(der, certificate.start);
  const algorithm = tbs === undefined ? undefined : readTlv(der, tbs.end);
  const oid = algorithm === undefined ? undefined : readTlv(der, algorithm.start);
  if (oid === undefined || oid.tag !== 0x06) return '';
  return signatureAlgorithms[objectIdentifier(der.subarray(oid.start, oid.end))] ?? '';
}

/** One DER tag-length-value at `offset`: where its contents start and end; undefined past the buffer. */
function readTlv(der: Buffer, offset: number): { tag: number; start: number; end: number } | undefined {
  if (offset + 2 > der.length) return undefined;
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > der.length) return undefined;
    length = 0;
    for (let index = 0; index < bytes; index += 1) length = length * 256 + der[start + index]!;
    start += bytes;
  }
  const end = start + length;
  return end > der.length ? undefined : { tag, start, end };
}

function objectIdentifier(bytes: Buffer): string {
  const arcs: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}
