import { z } from 'zod';
import { defineAction } from '../action.js';
import { compileRetryCondition, type CompiledRetryCondition } from '../cel-environment.js';
import { continueOutcome, type PolicyContext } from '../context.js';
import { parseDuration } from '../duration.js';
import { failure } from '../expression-failure.js';
import type { CompiledTemplate } from '../interpolation.js';
import { maxExpressionLength, maxSideCallsPerRequest } from '../limits.js';
import {
  sideCallMethods,
  type PolicyPorts,
  type SideCallErrorCode,
  type SideCallRequest,
  type SideCallResult,
} from '../ports.js';
import { headerNameSchema, headerValue, maxHeadersPerAction, respondWithError } from './shared.js';

/** ngrok retries at most 3 times after the first attempt. */
const maxRetries = 3;
/** The longest request body the action sends (ngrok names no limit; a side call is a lookup, not an upload). */
export const maxSideCallBodyLength = 64 * 1024;

/**
 * Headers the gateway owns on a side call: framing (undici computes it from the body), Host (the target's), and
 * CDN-Loop, which carries the loop protection — a policy that could set it could also erase it.
 */
const reservedHeaders = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'cdn-loop',
]);

const durationBetween = (minMs: number, maxMs: number) =>
  z.string().refine(
    (text) => {
      const ms = parseDuration(text);
      return ms !== undefined && ms >= minMs && ms <= maxMs;
    },
    `a duration from ${minMs / 1000}s to ${maxMs / 1000}s`,
  );

const configSchema = z.strictObject({
  url: z
    .string()
    .min(1)
    .max(8192)
    .describe(
      'Where to send the request: an internal endpoint (https://tiers.example.internal/lookup) or an address the outbound allow list admits; `${}` allowed.',
    ),
  method: z.enum(sideCallMethods).default('GET').describe('GET (default), POST, PUT, PATCH, DELETE or OPTIONS.'),
  query_params: z
    .array(
      z.strictObject({
        key: z.string().min(1).max(128).describe('Parameter name; `${}` allowed.'),
        value: z.string().max(8192).describe('Parameter value; `${}` allowed.'),
      }),
    )
    .max(32)
    .optional()
    .describe('Query parameters appended to the URL, in order (at most 32).'),
  headers: z
    .record(
      headerNameSchema.refine(
        (name) => !reservedHeaders.has(name.toLowerCase()),
        'is set by the gateway (Host, framing and CDN-Loop headers cannot be written)',
      ),
      z.string().max(8192),
    )
    .refine((headers) => Object.keys(headers).length <= maxHeadersPerAction, {
      message: `at most ${maxHeadersPerAction} headers`,
    })
    .optional()
    .describe('Request headers (at most 10); values allow `${}`.'),
  body: z.string().max(maxSideCallBodyLength).optional().describe('Request body (POST, PUT, PATCH, …); `${}` allowed.'),
  max_redirects: z
    .int()
    .min(0)
    .max(100)
    .default(0)
    .describe('Redirects to follow (default 0: a 3xx is the response); each target is checked like the first.'),
  timeout: durationBetween(1000, 30_000)
    .default('3s')
    .describe('Time for the whole action, retries and redirects included (1s to 30s, default 3s).'),
  retry_condition: z
    .string()
    .min(1)
    .max(maxExpressionLength)
    .optional()
    .describe(
      'CEL over `attempts` and `last_attempt` (req, res, error), evaluated after each attempt; true retries (at most 3 times).',
    ),
  on_error: z
    .enum(['continue', 'halt'])
    .default('continue')
    .describe(
      'continue (default): later actions run and read actions.ngrok.http_request.error; halt: answer 502 HTTP_REQUEST_FAILED.',
    ),
});

interface CompiledSideCall {
  url: CompiledTemplate;
  queryParams: readonly (readonly [CompiledTemplate, CompiledTemplate])[];
  headers: readonly (readonly [string, CompiledTemplate])[];
  body: CompiledTemplate | undefined;
}

export const httpRequestAction = defineAction({
  type: 'http-request',
  description:
    'Makes a side call (a tier lookup, an identity check) and exposes its response to later rules as actions.ngrok.http_request.res.',
  phases: ['on_http_request', 'on_http_response'],
  resultName: 'http_request',
  configSchema,
  configRequired: true,
  alwaysTerminates: () => false,
  compile(config, context) {
    const call: CompiledSideCall = {
      url: context.template(config.url, ['url']),
      queryParams: (config.query_params ?? []).map(
        (entry, index) =>
          [
            context.template(entry.key, ['query_params', index, 'key']),
            context.template(entry.value, ['query_params', index, 'value']),
          ] as const,
      ),
      headers: Object.entries(config.headers ?? {}).map(
        ([name, value]) => [name.toLowerCase(), context.template(value, ['headers', name])] as const,
      ),
      body: config.body === undefined ? undefined : context.template(config.body, ['body']),
    };
    if (call.url.isStatic && !isHttpUrl(call.url.text))
      context.issue('POLICY_CONFIG_INVALID', 'url must be an absolute http(s) URL', ['url']);
    let retryCondition: CompiledRetryCondition | undefined;
    if (config.retry_condition !== undefined) {
      const check = compileRetryCondition(config.retry_condition);
      if (check.ok) retryCondition = check.expression;
      else
        context.issue(
          'POLICY_EXPRESSION_INVALID',
          `Invalid retry_condition: ${check.message} (it sees only attempts and last_attempt)`,
          ['retry_condition'],
        );
    }
    const timeoutMs = parseDuration(config.timeout) ?? 3000;
    const settings = { method: config.method, maxRedirects: config.max_redirects, timeoutMs, retryCondition };
    return async (request, ports) => {
      const built = buildRequest(call, settings, request);
      const outcome =
        'problem' in built
          ? ({ error: { code: 'HTTP_REQUEST_INVALID_URL', message: built.problem }, attempts: [] } as const)
          : await callWithRetries(built.request, settings, request, ports);
      const error = outcome.error;
      const last = outcome.attempts.at(-1);
      const sent = 'request' in built ? built.request : undefined;
      request.actionResults.http_request = {
        req: {
          method: config.method,
          url: sent?.url ?? '',
          header: sent === undefined ? {} : headerRecord(sent.headers),
          body: sent?.body ?? '',
        },
        res:
          last?.ok === true
            ? {
                status_code: BigInt(last.response.statusCode),
                header: last.response.headers,
                body: last.response.body,
                time_ms: BigInt(Math.round(last.response.timeMs)),
                resolved_ip: last.response.resolvedIp,
              }
            : // Zero values rather than an absent key: `res.status_code == 200` is then simply false after a failure.
              { status_code: 0n, header: {}, body: '', time_ms: 0n, resolved_ip: '' },
        attempts: outcome.attempts.map((attempt) => attemptRecord(attempt, request)),
        // Always present ('' when the call got a response), so `error.code == ''` reads without a has() guard.
        error: error ?? { code: '', message: '' },
      };
      const target = sent === undefined ? 'the side call' : `${config.method} ${redactedUrl(sent.url, request)}`;
      if (error === undefined)
        return {
          outcome: continueOutcome,
          detail: `${target} answered ${last?.ok === true ? last.response.statusCode : '?'}`,
        };
      const detail = `${target} failed: ${error.code}`;
      if (config.on_error === 'continue') return { outcome: continueOutcome, detail: `${detail}; continuing` };
      return {
        outcome: respondWithError('HTTP_REQUEST_FAILED', 'Gatehouse: a side call the policy depends on failed.'),
        detail,
      };
    };
  },
});

interface Settings {
  method: SideCallRequest['method'];
  maxRedirects: number;
  timeoutMs: number;
  retryCondition: CompiledRetryCondition | undefined;
}

function buildRequest(
  call: CompiledSideCall,
  settings: Settings,
  context: PolicyContext,
): { request: SideCallRequest } | { problem: string } {
  const rendered = call.url.render(context);
  if (!isHttpUrl(rendered)) return { problem: 'the URL is not an absolute http(s) URL' };
  const url = new URL(rendered);
  for (const [key, value] of call.queryParams) url.searchParams.append(key.render(context), value.render(context));
  const headers = call.headers.map(([name, value]) => [name, headerValue(value.render(context))] as const);
  const body = call.body?.render(context);
  if (body !== undefined && body.length > maxSideCallBodyLength)
    return { problem: `the rendered body is longer than ${maxSideCallBodyLength} characters` };
  return {
    request: {
      method: settings.method,
      url: url.toString(),
      headers,
      body,
      maxRedirects: settings.maxRedirects,
      timeoutMs: settings.timeoutMs,
      clientIp: context.connection.clientIp,
      budget: context.sideCalls,
    },
  };
}

async function callWithRetries(
  sideCall: SideCallRequest,
  settings: Settings,
  context: PolicyContext,
  ports: PolicyPorts,
): Promise<{ error: { code: SideCallErrorCode; message: string } | undefined; attempts: SideCallResult[] }> {
  const attempts: SideCallResult[] = [];
  const deadline = ports.clock.now() + settings.timeoutMs;
  for (;;) {
    // One budget for the whole request, across hops and batch elements (the counter object is shared by them).
    if (context.sideCalls.made >= maxSideCallsPerRequest) {
      const limited = {
        ok: false as const,
        code: 'HTTP_REQUEST_LIMIT_EXCEEDED' as const,
        message: `a request may make at most ${maxSideCallsPerRequest} side calls`,
      };
      attempts.push(limited);
      return { error: { code: limited.code, message: limited.message }, attempts };
    }
    context.sideCalls.made++;
    const remaining = deadline - ports.clock.now();
    const result: SideCallResult =
      remaining <= 0
        ? { ok: false, code: 'HTTP_REQUEST_TIMEOUT', message: `no response within ${settings.timeoutMs} ms` }
        : await send(ports, { ...sideCall, timeoutMs: remaining });
    attempts.push(result);
    const retry =
      settings.retryCondition !== undefined &&
      attempts.length <= maxRetries &&
      deadline - ports.clock.now() > 0 &&
      shouldRetry(settings.retryCondition, sideCall, result, attempts.length, context);
    if (!retry) {
      return {
        error: result.ok ? undefined : { code: result.code, message: context.redact(result.message) },
        attempts,
      };
    }
  }
}

/** The port promises not to reject; a bug there must still not escape as an unhandled error mid-policy. */
async function send(ports: PolicyPorts, request: SideCallRequest): Promise<SideCallResult> {
  try {
    return await ports.httpRequests.send(request);
  } catch {
    return { ok: false, code: 'HTTP_REQUEST_UNAVAILABLE', message: 'the side call failed' };
  }
}

function shouldRetry(
  condition: CompiledRetryCondition,
  sideCall: SideCallRequest,
  result: SideCallResult,
  attempts: number,
  context: PolicyContext,
): boolean {
  const response = result.ok ? result.response : undefined;
  const res =
    response === undefined
      ? {}
      : {
          status_code: BigInt(response.statusCode),
          // ngrok's own example writes `last_attempt.res.statusCode`.
          statusCode: BigInt(response.statusCode),
          header: response.headers,
          body: response.body,
          time_ms: BigInt(Math.round(response.timeMs)),
          resolved_ip: response.resolvedIp,
        };
  let value: unknown;
  try {
    value = condition.evaluate({
      attempts: BigInt(attempts),
      last_attempt: {
        req: {
          method: sideCall.method,
          url: sideCall.url,
          header: headerRecord(sideCall.headers),
          body: sideCall.body ?? '',
        },
        res,
        error: result.ok ? '' : result.code,
      },
    });
  } catch (error) {
    // Fails closed like every runtime expression error: the request is answered POLICY_RUNTIME_ERROR.
    throw failure(condition.source, error, context);
  }
  return value === true;
}

function headerRecord(headers: readonly (readonly [string, string])[]): Record<string, string[]> {
  const record: Record<string, string[]> = {};
  for (const [name, value] of headers) (record[name] ??= []).push(value);
  return record;
}

function attemptRecord(result: SideCallResult, context: PolicyContext): Record<string, unknown> {
  if (!result.ok) return { error: { code: result.code, message: context.redact(result.message) } };
  return {
    resolved_ip: result.response.resolvedIp,
    response_header: result.response.headers,
    response_status_code: BigInt(result.response.statusCode),
    response_time_ms: BigInt(Math.round(result.response.timeMs)),
  };
}

/** For the decision trace: the URL without its query (which may carry a secret or the client's data). */
function redactedUrl(url: string, context: PolicyContext): string {
  return context.redact(url.split('?', 1)[0]!);
}

function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const protocol = new URL(text).protocol;
  return protocol === 'http:' || protocol === 'https:';
}
