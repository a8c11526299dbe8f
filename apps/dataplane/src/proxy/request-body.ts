import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { detectMcp, maxMcpDetectionBytes, type RequestFacts, type SyntheticResponse } from '@gatehouse/traffic-policy';
import type { LoadedEndpoint } from '../config/runtime-config.js';
import { gatewayError, type PolicyBodyReader } from './policy-chain.js';
import type { BodyPrefix } from './request-log-capture.js';

/**
 * The request body, read only when a policy needs it: buffered up to the limit for actions that read it (413 above
 * the limit), or — for MCP detection only — buffered when small and otherwise streamed on untouched.
 */
export class RequestBody implements PolicyBodyReader {
  #state: 'untouched' | 'buffered' | 'streamed' | 'prefix' = 'untouched';
  #buffer: Buffer | undefined;
  #prefix: Buffer[] = [];
  bytesRead = 0;
  /**
   * The opted-in endpoint's request-log copy of the first bytes; every path below feeds it what flows past. Set by
   * admission once the request is routed (the endpoint decides), before anything is read.
   */
  capture: BodyPrefix | undefined;

  /** Sends `100 Continue` to a client that asked for it (`Expect: 100-continue`); undefined once sent or not asked. */
  #sendContinue: (() => void) | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly limit: number,
    sendContinue?: () => void,
  ) {
    this.#sendContinue = sendContinue;
  }

  /**
   * True while a client that sent `Expect: 100-continue` is still waiting for `100 Continue`: it has not sent its body,
   * so a final response needs nothing drained and ends the connection instead.
   */
  get awaitingContinue(): boolean {
    return this.#sendContinue !== undefined;
  }

  /**
   * The request was admitted far enough that its body is wanted (a policy reads it, or it goes upstream): a client
   * waiting on `Expect: 100-continue` is told to send it now. A request refused before that never gets the 100.
   */
  #wantBody(): void {
    const send = this.#sendContinue;
    this.#sendContinue = undefined;
    send?.();
  }

  /** The Content-Length the client declared, when it is a valid number. */
  get declaredLength(): number | undefined {
    const length = Number(this.req.headers['content-length']);
    return this.req.headers['content-length'] !== undefined && Number.isSafeInteger(length) ? length : undefined;
  }

  get hasBody(): boolean {
    const length = this.req.headers['content-length'];
    return (length !== undefined && length !== '0') || this.req.headers['transfer-encoding'] !== undefined;
  }

  /** Buffers what `endpoint`'s policy reads before it runs; a too-large body for an action that needs it is a 413. */
  prepareFor(endpoint: LoadedEndpoint, request: RequestFacts): Promise<SyntheticResponse | undefined> | undefined {
    const policy = endpoint.policy;
    if (policy === undefined || this.#state !== 'untouched' || !this.hasBody) return undefined;
    if (!policy.needsRequestBody && !policy.readsMcp) return undefined;
    const declared = this.declaredLength;
    if (declared !== undefined && declared > this.limit && policy.needsRequestBody) {
      // Refused from the headers alone: no byte of the body is read (and no 100 Continue is sent).
      return Promise.resolve(this.#tooLarge());
    }
    // MCP detection only looks at small bodies: one declared larger streams on untouched.
    if (declared !== undefined && declared > maxMcpDetectionBytes && !policy.needsRequestBody) return undefined;
    this.#wantBody();
    return this.#read(policy.needsRequestBody ? this.limit : Math.min(this.limit, maxMcpDetectionBytes)).then(
      (complete) => {
        if (complete) {
          request.body = this.#buffer;
          request.mcp = detectMcp(request.headers, this.#buffer) ?? request.mcp;
          return undefined;
        }
        return policy.needsRequestBody ? this.#tooLarge() : undefined;
      },
    );
  }

  #tooLarge(): SyntheticResponse {
    return gatewayError(
      'REQUEST_BODY_TOO_LARGE',
      `the request body exceeds ${this.limit} bytes, the most a policy may read.`,
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
        this.#wantBody();
        this.#state = 'streamed';
        // A known length is the byte count; only chunked uploads are counted on the way through.
        const length = Number(this.req.headers['content-length']);
        const knownLength = Number.isSafeInteger(length);
        if (knownLength) this.bytesRead = length;
        if (this.capture !== undefined) return Readable.from(this.#captured(!knownLength), { objectMode: false });
        return knownLength ? this.req : Readable.from(this.#counted(), { objectMode: false });
      }
    }
  }

  /** The stream on its way upstream, each chunk also offered to the capture (which copies at most a prefix). */
  async *#captured(count: boolean): AsyncIterable<Buffer> {
    for await (const chunk of this.req) {
      if (count) this.bytesRead += (chunk as Buffer).length;
      this.capture!.add(chunk as Buffer);
      yield chunk as Buffer;
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
    // A client still waiting for 100 Continue sends no body: there is nothing to drain.
    if (this.#state === 'streamed' || !this.hasBody || this.awaitingContinue) return;
    // An opted-in endpoint logs what a refused client sent too, as far as it arrives before the response ends.
    if (this.capture !== undefined && this.#state === 'untouched')
      this.req.on('data', this.capture.add.bind(this.capture));
    this.req.resume();
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
        this.capture?.add(chunk);
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
      this.capture?.add(chunk as Buffer);
      yield chunk as Buffer;
    }
  }
}
