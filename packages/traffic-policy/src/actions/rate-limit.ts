import { z } from 'zod';
import { defineAction } from '../action.js';
import type { CompiledExpression } from '../cel-environment.js';
import { sha256Hex } from '../codecs.js';
import { continueOutcome } from '../context.js';
import { parseDuration } from '../duration.js';
import { evaluateOrFail, ExpressionFailure } from '../expression-failure.js';
import { stringifyCelValue } from '../interpolation.js';
import { retryAfterSeconds } from '../ports.js';
import { jsonRpcErrorCodes } from '../mcp.js';
import { enforceField, formatField, jsonRpcErrorOutcome, respondWithError } from './shared.js';

const hashedBucketsMax = 1_024;

const rateSchema = z
  .string()
  .refine((text) => {
    const ms = parseDuration(text);
    return ms !== undefined && ms >= 60_000 && ms <= 86_400_000 && ms % 10_000 === 0;
  }, 'rate must be a duration that is a multiple of 10s, from 60s to 24h (e.g. 60s, 90s, 10m, 1h)')
  .describe('The window length: a duration, a multiple of 10s, from 60s to 24h.');

const configSchema = z.strictObject({
  name: z.string().min(1).max(1023).describe('Names the limiter; buckets are kept per endpoint and name.'),
  algorithm: z.literal('sliding_window').describe('The only algorithm: a sliding window over two fixed windows.'),
  capacity: z.int().min(1).max(2_000_000_000).describe('Requests allowed per window and bucket (1 to 2,000,000,000).'),
  rate: rateSchema,
  bucket_key: z
    .array(z.string().min(1).max(1024))
    .min(1)
    .max(10)
    .describe(
      '1 to 10 raw CEL expressions (no `${}`); the bucket is the tuple of their values, e.g. getReqBearerToken() or conn.client_ip.',
    ),
  mode: z
    .enum(['leased', 'exact'])
    .default('leased')
    .describe(
      'How data planes share the count. leased (default): each data plane reserves units of the budget on the shared counter (more as its traffic grows, at most 1% of capacity at a time) and admits locally against them, so a busy bucket costs a few round trips per window instead of one per request; never admits more than exact, may admit less (unused reserved units of a window are lost). exact: one round trip to the shared counter per request.',
    ),
  cost: z
    .string()
    .min(1)
    .max(2048)
    .optional()
    .describe(
      'Gatehouse extension: a raw CEL expression (no `${}`) for the units a request uses, evaluated when the exchange ends (the response has ended or the client left), e.g. actions.ngrok.ai_gateway.total_tokens. With it the rule admits while the bucket has at least one unit left and charges the cost afterwards, so capacity is in those units (tokens per minute); a cost that cannot be computed charges the whole capacity (fails closed).',
    ),
  enforce: enforceField,
  format: formatField,
});

/** The largest charge one request can make: the bucket's counters stay well inside exact doubles. */
const maxCharge = 2_000_000_000;

/** The units a `cost` value stands for: a whole number ≥ 0 (fractions round up, so a cost is never under-charged). */
function unitsOf(value: unknown): number {
  const units = typeof value === 'bigint' ? Number(value) : typeof value === 'number' ? Math.ceil(value) : Number.NaN;
  if (!Number.isFinite(units) || units < 0) throw new Error(`cost must be a number ≥ 0, not ${String(value)}`);
  return Math.min(units, maxCharge);
}

export const rateLimitAction = defineAction({
  type: 'rate-limit',
  description:
    'Limits requests (or, with cost, units such as tokens) per bucket with a sliding window; past the limit answers 429 with retry-after.',
  phases: ['on_http_request', 'on_http_response'],
  resultName: 'rate_limit',
  configSchema,
  configRequired: true,
  alwaysTerminates: () => false,
  compile(config, context) {
    const windowMs = parseDuration(config.rate) ?? 60_000;
    const keyExpressions = config.bucket_key
      .map((source, index) => context.expression(source, ['bucket_key', index]))
      .filter((expression): expression is CompiledExpression => expression !== undefined)
      // `filter` leaves spare capacity, and the runner keeps this list as long as the policy runs.
      .slice();
    const costExpression = config.cost === undefined ? undefined : context.expression(config.cost, ['cost']);
    // Hashes of recent buckets: a client sends the same key on every request, and SHA-256 in JavaScript (the engine
    // runs in browsers too: no node:crypto) was a visible share of a request's CPU, twice with a shadow policy beside
    // the live one. Bounded per action, emptied whole when full; the raw keys are request values this process already
    // holds while it serves them.
    const hashedBuckets = new Map<string, string>();
    return async (request, ports) => {
      let bucket = '';
      const parts: string[] = [];
      for (const expression of keyExpressions) {
        // A key that cannot be computed fails the request (POLICY_RUNTIME_ERROR) rather than guessing a bucket.
        const part = stringifyCelValue(evaluateOrFail(expression, request));
        parts.push(part);
        bucket += `${part}\u0000`;
      }
      // Hashed so bearer tokens used as keys never sit in Redis in the clear.
      let hashed = hashedBuckets.get(bucket);
      if (hashed === undefined) {
        if (hashedBuckets.size >= hashedBucketsMax) hashedBuckets.clear();
        hashed = sha256Hex(bucket);
        hashedBuckets.set(bucket, hashed);
      }
      const key = `${request.endpoint.id}:${config.name}:${hashed}`;
      const window = { capacity: config.capacity, windowMs, nowMs: ports.clock.now(), mode: config.mode };
      const counts =
        costExpression === undefined
          ? await ports.rateLimits.consume(key, window)
          : await ports.rateLimits.check(key, window);
      request.actionResults.rate_limit = { bucket_key: parts, limited: !counts.admitted };
      if (counts.admitted) {
        if (costExpression !== undefined) {
          request.atExchangeEnd.push((ended) => {
            let units: number;
            try {
              units = unitsOf(evaluateOrFail(costExpression, ended));
            } catch (error) {
              // Recorded on the request (evaluateOrFail) when it is the expression; a bad value is recorded here.
              if (!(error instanceof ExpressionFailure)) ended.recordRuntimeError(costExpression.source, error);
              units = config.capacity;
            }
            if (units === 0) return Promise.resolve();
            return ports.rateLimits.charge(key, { ...window, nowMs: ports.clock.now() }, units);
          });
          return {
            outcome: continueOutcome,
            detail: `${counts.current}/${config.capacity} in window; cost charged at the end`,
          };
        }
        return { outcome: continueOutcome, detail: `${counts.current}/${config.capacity} in window` };
      }
      const retryAfter = retryAfterSeconds(counts, window);
      if (!config.enforce) return { outcome: continueOutcome, detail: 'limited (not enforced)' };
      const message = `Gatehouse: rate limit "${config.name}" exceeded; retry in ${retryAfter}s.`;
      const headers = new Map([['retry-after', [String(retryAfter)]]]);
      const outcome =
        (config.format === 'jsonrpc'
          ? jsonRpcErrorOutcome(request, jsonRpcErrorCodes.rateLimited, message, headers, 'RATE_LIMITED')
          : undefined) ?? respondWithError('RATE_LIMITED', message, headers);
      return { outcome, detail: `limited: ${config.capacity} per ${config.rate}, retry after ${retryAfter}s` };
    };
  },
});
