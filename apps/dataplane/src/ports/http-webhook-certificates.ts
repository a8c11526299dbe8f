import { X509Certificate } from 'node:crypto';
import type { WebhookCertificateFetcher } from '@gatehouse/traffic-policy';
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { OutboundRefusedError, type OutboundGuard } from './outbound-guard.js';

/**
 * Amazon SNS's own certificate hosts. AWS's verification steps say to check that SigningCertURL comes from SNS before
 * fetching it: anyone can sign a message with their own certificate and name its URL, so the host is the trust anchor.
 * https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
 */
const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;
/** A PEM certificate is about 2 KiB; anything much larger is not one. */
const MAX_CERTIFICATE_BYTES = 16 * 1024;

export interface HttpWebhookCertificatesOptions {
  /**
   * Further `host` or `host:port` names whose certificates are trusted like SNS's (GATEHOUSE_SNS_CERT_HOSTS): a
   * private SNS-compatible service, or a test. They may be served over http only where the outbound rules allow it.
   */
  extraHosts?: readonly string[];
  /** A certificate is kept this long (SNS rotates its signing certificate rarely and under a new URL). */
  ttlMs?: number;
  timeoutMs?: number;
  maxEntries?: number;
  dispatcher?: Dispatcher;
  outbound?: OutboundGuard;
  logger?: Logger;
  now?: () => number;
}

/** Why a SigningCertURL is not fetched; undefined when it names a .pem file on SNS's hosts or an extra host. */
export function snsCertificateUrlProblem(url: string, extraHosts: ReadonlySet<string>): string | undefined {
  if (!URL.canParse(url)) return 'the certificate URL is not a URL';
  const parsed = new URL(url);
  const trusted =
    (parsed.protocol === 'https:' && SNS_HOST.test(parsed.hostname) && parsed.port === '') ||
    ((parsed.protocol === 'https:' || parsed.protocol === 'http:') &&
      (extraHosts.has(parsed.hostname) || extraHosts.has(parsed.host)));
  if (!trusted) return `${parsed.host} is not an SNS certificate host`;
  if (parsed.username !== '' || parsed.password !== '') return 'the certificate URL carries credentials';
  return parsed.pathname.endsWith('.pem') ? undefined : 'the certificate URL does not name a .pem file';
}

interface CacheEntry {
  publicKey: Uint8Array | undefined;
  notAfter: number;
  fetchedAt: number;
  pending: Promise<Uint8Array> | undefined;
}

/**
 * Signing certificates for verify-webhook (SNS): only from SNS's hosts (or the operator's extra ones), through the
 * outbound rules, cached per URL with concurrent misses sharing one fetch, and refused outside their validity dates.
 * Failures reject with one generic error; the reason goes to the log.
 */
export class HttpWebhookCertificates implements WebhookCertificateFetcher {
  readonly #cache = new Map<string, CacheEntry>();
  readonly #extraHosts: ReadonlySet<string>;
  readonly #ttlMs: number;
  readonly #timeoutMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(private readonly options: HttpWebhookCertificatesOptions = {}) {
    this.#extraHosts = new Set((options.extraHosts ?? []).map((host) => host.toLowerCase()));
    this.#ttlMs = options.ttlMs ?? 24 * 3_600_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#maxEntries = options.maxEntries ?? 100;
    this.#now = options.now ?? Date.now;
  }

  publicKey(url: string): Promise<Uint8Array> {
    const now = this.#now();
    const cached = this.#cache.get(url);
    if (cached?.publicKey !== undefined && now - cached.fetchedAt < this.#ttlMs && now < cached.notAfter)
      return Promise.resolve(cached.publicKey);
    let entry = cached;
    if (entry === undefined) {
      if (this.#cache.size >= this.#maxEntries) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(url, (entry = { publicKey: undefined, notAfter: 0, fetchedAt: 0, pending: undefined }));
    }
    return (entry.pending ??= this.#fetch(url, entry));
  }

  async #fetch(url: string, entry: CacheEntry): Promise<Uint8Array> {
    try {
      return await this.#download(url, entry);
    } catch (error) {
      this.options.logger?.warn({ err: error, certificateUrl: url.slice(0, 300) }, 'webhook certificate fetch failed');
      // The engine only says the certificate could not be had; the cause stays in this process (and the log).
      throw new Error('the signing certificate could not be fetched (the reason is in the data plane log)', {
        cause: error,
      });
    } finally {
      entry.pending = undefined;
    }
  }

  async #download(url: string, entry: CacheEntry): Promise<Uint8Array> {
    const problem = snsCertificateUrlProblem(url, this.#extraHosts);
    if (problem !== undefined) throw new Error(problem);
    const verdict = this.options.outbound?.checkFetchUrl(url);
    if (verdict !== undefined && !verdict.allowed) throw new OutboundRefusedError(verdict);
    const response = await request(url, {
      method: 'GET',
      signal: AbortSignal.timeout(this.#timeoutMs),
      ...(this.options.dispatcher === undefined ? {} : { dispatcher: this.options.dispatcher }),
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`the certificate URL answered ${response.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_CERTIFICATE_BYTES) {
        response.body.destroy();
        throw new Error(`the certificate is larger than ${MAX_CERTIFICATE_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
    const certificate = new X509Certificate(Buffer.concat(chunks));
    const now = this.#now();
    const notBefore = Date.parse(certificate.validFrom);
    const notAfter = Date.parse(certificate.validTo);
    if (!(notBefore <= now && now < notAfter)) throw new Error('the certificate is outside its validity dates');
    const publicKey = new Uint8Array(certificate.publicKey.export({ type: 'spki', format: 'der' }));
    entry.publicKey = publicKey;
    entry.notAfter = notAfter;
    entry.fetchedAt = now;
    return publicKey;
  }
}
