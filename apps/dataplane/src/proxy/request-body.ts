import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { detectMcp, maxMcpDetectionBytes, type RequestFacts, type SyntheticResponse } from '@gatehouse/traffic-policy';
import type { LoadedEndpoint } from '../config/runtime-config.js';
import { gatewayError } from './policy-chain.js';

/**
 * The request body, read only when a policy needs it: buffered up to the limit for actions that read it (413 above
 * the limit), or — for MCP detection only — buffered when small and otherwise streamed on untouched.
 */
export class RequestBody {
  #state: 'untouched' | 'buffered' | 'streamed' | 'prefix' = 'untouched';
  #buffer: Buffer | undefined;
  #prefix: Buffer[] = [];
  bytesRead = 0;

  constructor(
    private readonly req: IncomingMessage,
    private readonly limit: number,
  ) {}

  get hasBody(): boolean {
    const length = this.req.headers['content-length'];
    return (length !== undefined && length !== '0') || this.req.headers['transfer-encoding'] !== undefined;
  }

  /** Buffers what `endpoint`'s policy reads before it runs; a too-large body for an action that needs it is a 413. */
  prepareFor(endpoint: LoadedEndpoint, request: RequestFacts): Promise<SyntheticResponse | undefined> | undefined {
    const policy = endpoint.policy;
    if (policy === undefined || this.#state !== 'untouched' || !this.hasBody) return undefined;
    if (!policy.needsRequestBody && !policy.readsMcp) return undefined;
    return this.#read(policy.needsRequestBody ? this.limit : Math.min(this.limit, maxMcpDetectionBytes)).then(
      (complete) => {
        if (complete) {
          request.body = this.#buffer;
          request.mcp = detectMcp(request.headers, this.#buffer) ?? request.mcp;
          return undefined;
        }
        return policy.needsRequestBody
          ? gatewayError(
              'REQUEST_BODY_TOO_LARGE',
              `the request body exceeds ${this.limit} bytes, the most a policy may read.`,
            )
          : undefined;
      },
    );
  }

  /** What to send upstream: the buffer, the stream (with any prefix already read), or nothing. */
  forUpstream(): Buffer | Readable | undefined {
    switch (this.#state) {
      case 'buffered':
        return this.#buffer;
      case 'prefix':
        return Readable.from(this.#prefixThenRest(), { objectMode: false });
      case 'untouched':
      case 'streamed': {
        if (!this.hasBody) return undefined;
        this.#state = 'streamed';
        // A known length is the byte count; only chunked uploads are counted on the way through.
        const length = Number(this.req.headers['content-length']);
        if (Number.isSafeInteger(length)) {
          this.bytesRead = length;
          return this.req;
        }
        return Readable.from(this.#counted(), { objectMode: false });
      }
    }
  }

  async *#counted(): AsyncIterable<Buffer> {
    for await (const chunk of this.req) {
      this.bytesRead += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  }

  /** A request answered without going upstream: drain what the client still sends so the connection stays usable. */
  discard(): void {
    if (this.#state !== 'streamed' && this.hasBody) this.req.resume();
  }

  /** Reads until the end (true) or until more than `cap` bytes arrived (false; the prefix is kept). */
  #read(cap: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        this.bytesRead += chunk.length;
        if (size > cap) {
          cleanup();
          this.req.pause();
          this.#prefix = chunks;
          this.#state = 'prefix';
          resolve(false);
        }
      };
      const onEnd = () => {
        cleanup();
        this.#buffer = Buffer.concat(chunks, size);
        this.#state = 'buffered';
        resolve(true);
      };
      const onError = (error: Error) => {
        cleanup();
        reject(error);
      };
      const cleanup = () => {
        this.req.off('data', onData);
        this.req.off('end', onEnd);
        this.req.off('error', onError);
      };
      this.req.on('data', onData);
      this.req.on('end', onEnd);
      this.req.on('error', onError);
    });
  }

  async *#prefixThenRest(): AsyncIterable<Buffer> {
    yield* this.#prefix;
    this.#prefix = [];
    for await (const chunk of this.req) {
      this.bytesRead += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  }
}
