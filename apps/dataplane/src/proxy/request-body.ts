import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import {
  checkMcpHeaders,
  detectMcp,
  errorCodeHeader,
  jsonRpcErrorBody,
  mayBeJsonRpc,
  maxMcpBatchElements,
  readMcp,
  type RequestFacts,
  type SyntheticResponse,
} from '@gatehouse/traffic-policy';
import type { LoadedEndpoint } from '../config/runtime-config.js';
import { gatewayError, type PolicyBodyReader } from './policy-chain.js';
import type { BodyPrefix } from './request-log-capture.js';

/** JSON-RPC 2.0's "Parse error": the body is not a message the gateway can read exactly. */
const jsonRpcParseError = -32700;
/** JSON-RPC 2.0's "Invalid Request". */
const jsonRpcInvalidRequest = -32600;

/** How a pull ended: the body is complete, the stop condition held, or more than the cap arrived. */
type PullResult = 'end' | 'enough' | 'over';

/**
 * The request body. Every body is looked at for MCP (JSON-RPC) messages before any policy runs: one that may be JSON
 * (its first significant byte is `{` or `[`, whatever the Content-Type says) is buffered up to the MCP cap and parsed,
 * anything else streams on after its first bytes. A policy action that reads the body gets it buffered up to the
 * limit (413 above it).
 */
export class RequestBody implements PolicyBodyReader {
  #state: 'untouched' | 'buffered' | 'streamed' | 'prefix' = 'untouched';
  #buffer: Buffer | undefined;
  /** When the whole body had arrived (`req.ts.body_received`). */
  #bufferedAtMs: number | undefined;
  /** What was read before the rest streams on (state `prefix`). */
  #prefix: Buffer[] = [];
  #prefixSize = 0;
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
   * The request was admitted far enough that its body is wanted (it is checked for MCP, a policy reads it, or it goes
   * upstream): a client waiting on `Expect: 100-continue` is told to send it now. A request refused before that (a
   * declared length over the limit, a route that does not exist) never gets the 100.
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

  /**
   * Sets `request.mcp` from the body (never from headers alone when there is a body), reading at most `cap` bytes.
   * Answers 413 when a body that may be JSON-RPC is larger than the cap (it cannot be judged, so it does not pass),
   * and 400 with a JSON-RPC error when `Mcp-Method`/`Mcp-Name` contradict the body.
   */
  async inspectMcp(request: RequestFacts, cap: number): Promise<SyntheticResponse | undefined> {
    if (!this.hasBody) {
      request.mcp = detectMcp(request.headers);
      return undefined;
    }
    const encoding = (request.headers.get('content-encoding') ?? []).join(',').trim().toLowerCase();
    this.#wantBody();
    let pulled: PullResult;
    if (encoding === '' || encoding === 'identity') {
      pulled = await this.#pull(cap, () => mayBeJsonRpc(this.#firstBytes()) !== undefined);
      if (pulled !== 'end' && mayBeJsonRpc(this.#firstBytes()) === false) return mismatch(request, undefined, true);
      if (pulled === 'enough') {
        // It may be JSON-RPC and says it is larger than can be checked: refused now, not after `cap` bytes arrive.
        const declared = this.declaredLength;
        pulled = declared !== undefined && declared > cap ? 'over' : await this.#pull(cap);
      }
    } else {
      // A compressed body is what a decompressing upstream (express.json inflates) reads: judged decompressed.
      pulled = await this.#pull(cap);
    }
    if (pulled === 'over') {
      return gatewayError(
        'MCP_BODY_TOO_LARGE',
        `the request body exceeds ${cap} bytes, the most the gateway reads to check a JSON-RPC message (DATAPLANE_MCP_MAX_BODY_BYTES).`,
      );
    }
    const body = this.#buffer!;
    const decoded = encoding === '' || encoding === 'identity' ? body : decode(encoding, body, cap);
    if (decoded === 'over')
      return gatewayError('MCP_BODY_TOO_LARGE', `the decompressed request body exceeds ${cap} bytes.`);
    if (decoded === undefined) {
      request.mcp = undefined;
      return mismatch(request, undefined, true);
    }
    const { facts, malformed, batchTooLarge } = readMcp(request.headers, decoded);
    request.mcp = facts;
    if (batchTooLarge === true) {
      return {
        status: 400,
        headers: new Map([
          [errorCodeHeader, ['MCP_BATCH_TOO_LARGE']],
          ['content-type', ['application/json']],
        ]),
        body: jsonRpcErrorBody(
          null,
          jsonRpcInvalidRequest,
          `Gatehouse: a JSON-RPC batch may have at most ${maxMcpBatchElements} elements.`,
        ),
      };
    }
    if (malformed !== undefined) {
      return {
        status: 400,
        headers: new Map([
          [errorCodeHeader, ['MCP_BODY_MALFORMED']],
          ['content-type', ['application/json']],
        ]),
        body: jsonRpcErrorBody(null, jsonRpcParseError, `Gatehouse: ${malformed}, so the gateway cannot judge it.`),
      };
    }
    return mismatch(request, request.mcp, true);
  }

  /**
   * 413 from the headers alone when `endpoint`'s policy reads the body and the declared Content-Length is over the
   * limit: answered before any byte of the body is read (and before any 100 Continue), not after it all arrived.
   */
  refuseDeclaredOversize(endpoint: LoadedEndpoint): SyntheticResponse | undefined {
    if (endpoint.policy?.needsRequestBody !== true || this.#state !== 'untouched') return undefined;
    const declared = this.declaredLength;
    return declared !== undefined && declared > this.limit ? this.#tooLarge() : undefined;
  }

  /** Buffers what `endpoint`'s policy reads before it runs; a too-large body for an action that needs it is a 413. */
  prepareFor(endpoint: LoadedEndpoint, request: RequestFacts): Promise<SyntheticResponse | undefined> | undefined {
    const policy = endpoint.policy;
    if (policy === undefined || !policy.needsRequestBody || !this.hasBody) return undefined;
    if (this.#state === 'streamed') return undefined;
    if (this.#state === 'buffered') {
      request.body = this.#buffer;
      request.bodyReceivedAtMs = this.#bufferedAtMs;
      return this.#buffer!.length > this.limit ? Promise.resolve(this.#tooLarge()) : undefined;
    }
    const declared = this.declaredLength;
    // Refused from the headers alone: no more of the body is read (and no 100 Continue is sent if none was yet).
    if (declared !== undefined && declared > this.limit) return Promise.resolve(this.#tooLarge());
    this.#wantBody();
    return this.#pull(this.limit).then((pulled) => {
      if (pulled !== 'end') return this.#tooLarge();
      request.body = this.#buffer;
      // `req.ts.body_received`: when the last byte arrived.
      request.bodyReceivedAtMs = this.#bufferedAtMs;
      return undefined;
    });
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
    if (this.#state === 'streamed' || this.#state === 'buffered' || !this.hasBody || this.awaitingContinue) return;
    // An opted-in endpoint logs what a refused client sent too, as far as it arrives before the response ends.
    if (this.capture !== undefined && this.#state === 'untouched')
      this.req.on('data', this.capture.add.bind(this.capture));
    this.req.resume();
  }

  /** The bytes read so far, joined (only ever called while they are few: before the first significant byte). */
  #firstBytes(): Buffer {
    if (this.#prefix.length > 1) this.#prefix = [Buffer.concat(this.#prefix, this.#prefixSize)];
    return this.#prefix[0] ?? Buffer.alloc(0);
  }

  /**
   * Reads on from what was already read until the end ('end': state `buffered`), until `enough()` holds after a chunk
   * ('enough'), or until more than `cap` bytes arrived in all ('over'); both keep what was read as the prefix.
   */
  #pull(cap: number, enough?: () => boolean): Promise<PullResult> {
    return new Promise((resolve, reject) => {
      const stop = (result: PullResult) => {
        cleanup();
        if (result === 'end') {
          this.#buffer = Buffer.concat(this.#prefix, this.#prefixSize);
          this.#prefix = [];
          this.#state = 'buffered';
          this.#bufferedAtMs = Date.now();
        } else {
          this.req.pause();
          this.#state = 'prefix';
        }
        resolve(result);
      };
      const onData = (chunk: Buffer) => {
        this.#prefix.push(chunk);
        this.#prefixSize += chunk.length;
        this.bytesRead += chunk.length;
        this.capture?.add(chunk);
        if (this.#prefixSize > cap) stop('over');
        else if (enough?.() === true) stop('enough');
      };
      // The bytes read before this pull count too: a first chunk can already be over the cap.
      const onEnd = () => stop(this.#prefixSize > cap ? 'over' : 'end');
      const onError = (error: Error) => {
        cleanup();
        reject(error);
      };
      const cleanup = () => {
        this.req.off('data', onData);
        this.req.off('end', onEnd);
        this.req.off('error', onError);
      };
      if (this.#prefixSize > cap) {
        stop('over');
        return;
      }
      if (this.req.readableEnded) {
        stop('end');
        return;
      }
      this.req.on('data', onData);
      this.req.on('end', onEnd);
      this.req.on('error', onError);
      // An earlier pull paused the stream; a new 'data' listener does not undo an explicit pause.
      this.req.resume();
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

/** A compressed body, decompressed up to `cap` bytes; undefined when it cannot be (the upstream cannot read it either). */
function decode(encoding: string, body: Buffer, cap: number): Buffer | 'over' | undefined {
  const options = { maxOutputLength: cap };
  try {
    switch (encoding) {
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(body, options);
      case 'deflate':
        return inflateSync(body, options);
      case 'br':
        return brotliDecompressSync(body, options);
      default:
        return undefined;
    }
  } catch (error) {
    return (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? 'over' : undefined;
  }
}

/** 400 with a JSON-RPC error (the message's id when it has one) when the MCP headers contradict the body. */
function mismatch(request: RequestFacts, facts: RequestFacts['mcp'], hasBody: boolean): SyntheticResponse | undefined {
  const problem = checkMcpHeaders(request.headers, facts, hasBody);
  if (problem === undefined) return undefined;
  return {
    status: 400,
    headers: new Map([
      [errorCodeHeader, ['MCP_HEADER_MISMATCH']],
      ['content-type', ['application/json']],
    ]),
    body: jsonRpcErrorBody(facts?.id, -32600, `Gatehouse: ${problem}.`),
  };
}
