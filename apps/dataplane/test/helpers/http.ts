import { request } from 'node:http';

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTP/1.1 request over node:http, which (unlike fetch) sends the Host header we give it: host-based routing
 * tests need that. No keep-alive, so each call is independent.
 */
export function httpRequest(options: {
  port: number;
  host?: string;
  path?: string;
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  timeoutMs?: number;
}): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: options.port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        headers: { ...(options.host === undefined ? {} : { host: options.host }), ...options.headers },
        agent: false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('test request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface OpenedStream {
  contentType: string | undefined;
  /** The first chunk the client received, while the rest of the response may still be on its way. */
  firstChunk: string;
  /** The whole body, once the response ends. */
  body: Promise<string>;
}

/** Starts a GET and resolves at the first body chunk, so a test can tell streaming from buffering. */
export function openStream(options: {
  port: number;
  path: string;
  headers: Record<string, string>;
}): Promise<OpenedStream> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: options.port, path: options.path, headers: options.headers, agent: false },
      (res) => {
        res.setEncoding('utf8');
        let received = '';
        const body = new Promise<string>((done) => res.on('end', () => done(received)));
        res.once('data', (chunk: string) => {
          received += chunk;
          res.on('data', (more: string) => (received += more));
          resolve({ contentType: res.headers['content-type'], firstChunk: chunk, body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}
