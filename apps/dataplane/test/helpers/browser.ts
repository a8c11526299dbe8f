import { request } from 'node:http';
import { CookieJar } from 'tough-cookie';

export interface BrowserResponse {
  url: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A browser for sign-in tests: real HTTP over sockets, a cookie jar (tough-cookie, RFC 6265 rules: host-only,
 * Path, Max-Age, HttpOnly irrelevant to it) and redirects followed the way browsers do (302/303 → GET). Every host
 * name is dialed at 127.0.0.1 on the URL's port and sent as the Host header, so a gateway endpoint can have its own
 * name (and so its own cookies) next to the identity provider's.
 */
export class TestBrowser {
  readonly jar = new CookieJar();
  /** Every response seen, redirects included, in order. */
  readonly history: BrowserResponse[] = [];

  /** Requests `url` and follows redirects until a non-redirect (or `stopWhen` says stop). */
  async open(
    url: string,
    options: { method?: string; headers?: Record<string, string>; stopWhen?: (url: URL) => boolean } = {},
  ): Promise<BrowserResponse> {
    let current = new URL(url);
    let method = options.method ?? 'GET';
    for (let hops = 0; hops < 20; hops++) {
      const response = await this.send(current, method, hops === 0 ? (options.headers ?? {}) : {});
      const location = response.headers['location'];
      if (response.status < 300 || response.status >= 400 || typeof location !== 'string') return response;
      const next = new URL(location, current);
      if (options.stopWhen?.(next) === true) return response;
      current = next;
      if (response.status === 302 || response.status === 303) method = 'GET';
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** One request, no redirect following; cookies are sent and stored. */
  async send(url: URL, method = 'GET', headers: Record<string, string> = {}): Promise<BrowserResponse> {
    const cookie = await this.jar.getCookieString(url.href);
    const response = await new Promise<BrowserResponse>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: Number(url.port),
          path: `${url.pathname}${url.search}`,
          method,
          headers: { host: url.host, ...(cookie === '' ? {} : { cookie }), ...headers },
          agent: false,
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              url: url.href,
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('browser request timed out')));
      req.on('error', reject);
      req.end();
    });
    for (const setCookie of setCookies(response)) await this.jar.setCookie(setCookie, url.href);
    this.history.push(response);
    return response;
  }

  async cookie(url: string, name: string): Promise<string | undefined> {
    const cookies = await this.jar.getCookies(url);
    return cookies.find((cookie) => cookie.key === name)?.value;
  }

  /** Replaces a cookie's value as a client could (to tamper with it). */
  async setCookieValue(url: string, name: string, value: string): Promise<void> {
    await this.jar.setCookie(`${name}=${value}; Path=/`, url);
  }
}

export function setCookies(response: { headers: Record<string, string | string[] | undefined> }): string[] {
  const value = response.headers['set-cookie'];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
