import { z } from 'zod';
import { defineAction, type ActionCompileContext } from '../action.js';
import type { AiGatewayAttemptRecord, AiGatewayRecord } from '../ai-gateway/accounting.js';
import { builtinProviders, catalogModelsOf } from '../ai-gateway/catalog.js';
import {
  attemptsFor,
  builtinFor,
  clientKeyOf,
  estimateInputTokens,
  openAiApiOfPath,
  providerBody,
  providerHeaders,
  providerUrl,
  requestedModels,
  selectCandidates,
  wireFormatOfPath,
  type GatewaySettings,
  type ModelSettings,
  type ProviderKey,
  type ProviderSettings,
} from '../ai-gateway/plan.js';
import { compileStrategy, type CompiledStrategy } from '../ai-gateway/selection.js';
import { sha256Hex } from '../codecs.js';
import { continueOutcome, type HeaderMap, type Outcome, type PolicyContext } from '../context.js';
import { parseDuration } from '../duration.js';
import { errorCodeHeader, runtimeErrorCodes, type RuntimeErrorCode } from '../errors.js';
import type { AiWireFormat } from '../ports.js';
import { internalTargetOf } from './forward-internal.js';
import { compileHeaderTemplates, headersMapField, renderHeaders } from './shared.js';

function durationField(defaultValue: string, description: string) {
  return z
    .string()
    .refine((text) => {
      const ms = parseDuration(text);
      return ms !== undefined && ms >= 100 && ms <= 3_600_000;
    }, 'must be a duration from 100ms to 1h (e.g. 30s, 2m)')
    .default(defaultValue)
    .describe(description);
}

const tokenLimit = z.int().min(1).max(500_000);

const modelSchema = z.strictObject({
  id: z.string().min(1).max(256).describe('The model id the provider knows it by.'),
  id_aliases: z.array(z.string().min(1).max(256)).max(20).optional().describe('Other names clients may use.'),
  author_id: z.string().max(256).optional().describe('Who made the model (for onlyAuthors/ignoreAuthors).'),
  disabled: z.boolean().default(false).describe('Keeps the model configured but unused.'),
  metadata: z.record(z.string(), z.unknown()).optional().describe('Free data, visible to strategies as m.metadata.'),
  context_window: z.int().min(1).optional().describe('Gatehouse: tokens the model accepts (overrides the catalog).'),
  pricing: z
    .strictObject({
      input_per_million: z.number().min(0).describe('USD per million input tokens.'),
      output_per_million: z.number().min(0).describe('USD per million output tokens.'),
    })
    .optional()
    .describe('Gatehouse: prices for the cost estimate (override the catalog).'),
});

const providerSchema = z.strictObject({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z0-9][a-z0-9._-]*$/, 'provider ids are lower-case letters, digits, ".", "_" and "-"')
    .describe('openai, anthropic, or a name of your own for a provider with base_url.'),
  id_aliases: z.array(z.string().min(1).max(64)).max(10).optional().describe('Other names for the provider.'),
  base_url: z
    .string()
    .url()
    .optional()
    .describe(
      'Where the provider listens; required for custom providers. An internal endpoint URL (https://llm.internal) is dispatched like forward-internal, so a model behind the agent works.',
    ),
  api_format: z
    .enum(['openai', 'anthropic'])
    .optional()
    .describe(
      'Gatehouse: the wire format a custom provider speaks (openai, the default, or anthropic); built-ins know theirs.',
    ),
  disabled: z.boolean().default(false).describe('Keeps the provider configured but unused.'),
  metadata: z.record(z.string(), z.unknown()).optional().describe('Free data, visible to strategies.'),
  api_keys: z
    .array(
      z.strictObject({ value: z.string().min(1).max(4096).describe("The key; `${secrets.get('vault', 'name')}`.") }),
    )
    .max(10)
    .optional()
    .describe('Keys tried in order; none means passthrough (the client’s own key is forwarded).'),
  models: z.array(modelSchema).max(100).optional().describe('The models to offer (with only_allow_configured_models).'),
});

const configSchema = z.strictObject({
  providers: z.array(providerSchema).max(20).default([]).describe('Providers, in order of preference.'),
  only_allow_configured_providers: z.boolean().default(false).describe('Refuse providers the list does not name.'),
  only_allow_configured_models: z.boolean().default(false).describe('Refuse models the providers do not list.'),
  model_selection: z
    .strictObject({
      strategy: z
        .array(z.string().min(1).max(2048))
        .max(10)
        .default([])
        .describe('CEL expressions over ai.models, tried in order; the first that returns a model decides.'),
    })
    .optional()
    .describe('How candidate models are chosen and ordered.'),
  api_key_selection: z
    .strictObject({
      strategy: z
        .array(z.string().min(1).max(2048))
        .max(10)
        .default([])
        .describe('Ignored: keys are tried in the listed order.'),
    })
    .optional()
    .describe('Accepted for compatibility; Gatehouse tries keys in the listed order.'),
  per_request_timeout: durationField('30s', 'Time one attempt may take to answer (head and first bytes).'),
  total_timeout: durationField('5m', 'Time all attempts together may take.'),
  max_input_tokens: tokenLimit.optional().describe('Refuse requests whose estimated input exceeds this.'),
  max_output_tokens: tokenLimit.optional().describe('Cap on the completion length sent to the provider.'),
  headers: headersMapField('Headers added to every provider request; `${}` allowed.').optional(),
  query_params: z
    .record(z.string(), z.string().max(1024))
    .optional()
    .describe('Query parameters added to provider URLs.'),
  body: z.record(z.string(), z.unknown()).optional().describe('JSON fields merged over the request body.'),
  on_error: z
    .enum(['halt', 'continue'])
    .default('halt')
    .describe('halt (default): answer the failure; continue: run the next action with actions.ngrok.ai_gateway set.'),
});

type Config = z.infer<typeof configSchema>;

/** Statuses after which the next key, model or provider is tried: the provider (or this key of it) cannot serve now. */
function failsOver(status: number): boolean {
  return status === 401 || status === 403 || status === 408 || status === 429 || status >= 500;
}

function keyHash(value: string): string {
  return `sha256:${sha256Hex(`gatehouse-ai-key\u0000${value}`).slice(0, 16)}`;
}

function compileProviders(config: Config, context: ActionCompileContext): ProviderSettings[] {
  const providers: ProviderSettings[] = [];
  config.providers.forEach((provider, index) => {
    const field = ['providers', index];
    const aliases = (provider.id_aliases ?? []).map((alias) => alias.toLowerCase());
    const builtin = builtinFor(provider.id, aliases);
    if (builtin === undefined && provider.base_url === undefined)
      context.issue(
        'POLICY_CONFIG_INVALID',
        `Provider "${provider.id}" is not built in (${builtinProviders.map((entry) => entry.id).join(', ')}), so it needs a base_url.`,
        [...field, 'id'],
      );
    let baseUrl = provider.base_url ?? builtin?.baseUrl ?? '';
    let internal = false;
    if (provider.base_url !== undefined) {
      const url = new URL(provider.base_url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        context.issue('POLICY_CONFIG_INVALID', 'base_url must be an http or https URL.', [...field, 'base_url']);
      if (url.hostname.endsWith('.internal')) {
        const target = internalTargetOf(`${url.protocol}//${url.host}`);
        if ('problem' in target) context.issue('POLICY_FORWARD_TARGET_INVALID', target.problem, [...field, 'base_url']);
        else {
          internal = true;
          baseUrl = `${target.url}${url.pathname === '/' ? '' : url.pathname}`;
          if (context.internalEndpointUrls !== undefined && !context.internalEndpointUrls.has(target.url))
            context.issue(
              'POLICY_FORWARD_TARGET_UNKNOWN',
              `No internal endpoint ${target.url} is registered yet; attempts to this provider fail until it is.`,
              [...field, 'base_url'],
              'warning',
            );
        }
      }
    }
    const keys: ProviderKey[] = (provider.api_keys ?? []).map((key, keyIndex) => {
      const computed = context.constant(key.value, [...field, 'api_keys', keyIndex, 'value']);
      return computed.known
        ? { value: computed.text, hash: keyHash(computed.text) }
        : { value: undefined, hash: `unavailable-${keyIndex + 1}` };
    });
    const configuredModels: ModelSettings[] = (provider.models ?? [])
      .filter((model) => !model.disabled)
      .map((model) => {
        const known =
          builtin === undefined ? undefined : catalogModelsOf(builtin.id).find((entry) => entry.id === model.id);
        return {
          provider: provider.id,
          id: model.id,
          aliases: [...(model.id_aliases ?? []), ...(known?.aliases ?? [])],
          author: model.author_id ?? known?.provider ?? provider.id,
          metadata: model.metadata ?? {},
          context_window: model.context_window ?? known?.context_window,
          input_per_million: model.pricing?.input_per_million ?? known?.input_per_million,
          output_per_million: model.pricing?.output_per_million ?? known?.output_per_million,
          reasoning: known?.reasoning,
        };
      });
    const disabledIds = new Set((provider.models ?? []).filter((model) => model.disabled).map((model) => model.id));
    const catalogModels =
      config.only_allow_configured_models || builtin === undefined
        ? []
        : catalogModelsOf(builtin.id)
            .filter((model) => !disabledIds.has(model.id) && !configuredModels.some((own) => own.id === model.id))
            .map((model) => ({ ...model, provider: provider.id, author: model.provider, metadata: {} }));
    if (provider.disabled) return;
    providers.push({
      id: provider.id,
      aliases,
      baseUrl,
      internal,
      format: provider.api_format ?? builtin?.format ?? 'openai',
      configured: true,
      metadata: provider.metadata ?? {},
      keys,
      models: [...configuredModels, ...catalogModels],
    });
  });
  if (!config.only_allow_configured_providers) {
    const named = new Set(config.providers.flatMap((provider) => [provider.id, ...(provider.id_aliases ?? [])]));
    for (const builtin of builtinProviders) {
      if (named.has(builtin.id)) continue;
      providers.push({
        id: builtin.id,
        aliases: [],
        baseUrl: builtin.baseUrl,
        internal: false,
        format: builtin.format,
        configured: false,
        metadata: {},
        keys: [],
        models: config.only_allow_configured_models
          ? []
          : catalogModelsOf(builtin.id).map((model) => ({ ...model, author: model.provider, metadata: {} })),
      });
    }
  }
  return providers;
}

/** An error in the wire format's own shape, so the official SDKs raise it with the message instead of a parse error. */
function aiError(format: AiWireFormat | undefined, code: RuntimeErrorCode, message: string): Outcome {
  const status = runtimeErrorCodes[code].status;
  const body =
    format === 'anthropic'
      ? { type: 'error', error: { type: code.toLowerCase(), message: `Gatehouse: ${message}` } }
      : { error: { message: `Gatehouse: ${message}`, type: 'gatehouse_error', code } };
  const headers: HeaderMap = new Map([
    [errorCodeHeader, [code]],
    ['content-type', ['application/json']],
  ]);
  return { kind: 'respond', errorCode: code, response: { status, headers, body: JSON.stringify(body) } };
}

/** `actions.ngrok.ai_gateway` as CEL sees it: ints are CEL ints. */
function celResult(record: AiGatewayRecord, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    status: record.status,
    ...(record.error_code === null ? {} : { error: { code: record.error_code, message: extra.message ?? '' } }),
    provider: record.provider ?? '',
    model: record.model ?? '',
    input_tokens_estimated: BigInt(record.input_tokens_estimated),
    attempts: record.attempts.map((attempt) => ({
      provider_id: attempt.provider,
      model_id: attempt.model,
      api_key_hash: attempt.api_key,
      status: attempt.status,
      status_code: BigInt(attempt.status_code),
      error: attempt.error ?? '',
      duration_ms: BigInt(Math.round(attempt.duration_ms)),
    })),
    ...extra,
  };
}

export const aiGatewayAction = defineAction({
  type: 'ai-gateway',
  description:
    'Sends OpenAI Chat Completions and Responses and Anthropic Messages requests to model providers, choosing models and failing over across keys, models and providers; ends the phase.',
  phases: ['on_http_request'],
  resultName: 'ai_gateway',
  configSchema,
  configRequired: false,
  needsRequestBody: () => true,
  alwaysTerminates: (config) => config.on_error === 'halt',
  compile(config, context) {
    const providers = compileProviders(config, context);
    const strategies: CompiledStrategy[] = [];
    (config.model_selection?.strategy ?? []).forEach((source, index) => {
      const compiled = compileStrategy(source);
      if (compiled.ok) strategies.push(compiled.strategy);
      else
        context.issue('POLICY_EXPRESSION_INVALID', `Invalid model_selection strategy: ${compiled.message}`, [
          'model_selection',
          'strategy',
          index,
        ]);
    });
    if ((config.api_key_selection?.strategy.length ?? 0) > 0)
      context.issue(
        'POLICY_CONFIG_INVALID',
        'api_key_selection is accepted but not evaluated by Gatehouse: keys are tried in the order listed.',
        ['api_key_selection'],
        'warning',
      );
    const settings: GatewaySettings = {
      providers,
      onlyConfiguredModels: config.only_allow_configured_models,
      strategies,
    };
    const headerTemplates = compileHeaderTemplates(config.headers, context, 'headers');
    const perRequestMs = parseDuration(config.per_request_timeout) ?? 30_000;
    const totalMs = parseDuration(config.total_timeout) ?? 300_000;
    const extraQuery = new URLSearchParams(config.query_params ?? {}).toString();
    const merge = config.body ?? {};

    return async (request, ports) => {
      const startedAt = ports.clock.now();
      const format = wireFormatOfPath(request.request.path);
      const responses = format === 'openai' && openAiApiOfPath(request.request.path) === 'responses';
      const record: AiGatewayRecord = {
        format: format ?? 'openai',
        status: 'error',
        error_code: null,
        requested_model: null,
        provider: null,
        model: null,
        attempts: [],
        input_tokens_estimated: 0,
        input_tokens: null,
        output_tokens: null,
        cost_usd: null,
        client_key_hash: null,
        streamed: false,
        price: null,
      };
      request.aiGateway = record;
      const clientKey = clientKeyOf(request.request.headers);
      if (clientKey !== undefined) record.client_key_hash = keyHash(clientKey);
      const fail = (code: RuntimeErrorCode, message: string, extra: Record<string, unknown> = {}) => {
        record.error_code = code;
        request.actionResults.ai_gateway = celResult(record, { message, ...extra });
        if (config.on_error === 'continue') return { outcome: continueOutcome, detail: `${message}; continuing` };
        return { outcome: aiError(format, code, message), detail: message };
      };

      if (format === undefined)
        return fail(
          'AI_GATEWAY_PATH_UNSUPPORTED',
          `${request.request.path} is not /v1/chat/completions, /v1/responses or /v1/messages.`,
        );
      if (request.request.method !== 'POST')
        return fail(
          'AI_GATEWAY_METHOD_NOT_ALLOWED',
          `${request.request.path} takes POST, not ${request.request.method}.`,
        );
      const body = parseBody(request);
      if (body === undefined) return fail('AI_GATEWAY_BAD_REQUEST', 'the request body is not a JSON object.');
      const requested = requestedModels(body);
      record.requested_model = requested[0] ?? null;
      record.streamed = body.stream === true;
      const estimate = estimateInputTokens(body);
      record.input_tokens_estimated = estimate;
      if (config.max_input_tokens !== undefined && estimate > config.max_input_tokens)
        return fail(
          'AI_GATEWAY_INPUT_TOO_LARGE',
          `the request's input is about ${estimate} tokens, over this endpoint's max_input_tokens (${config.max_input_tokens}).`,
        );

      const selection = selectCandidates(settings, format, requested);
      const selectionResult = {
        client: {
          model: typeof body.model === 'string' ? body.model : '',
          models: requested,
          rejected_models: selection.rejected,
        },
        model_selection: selection.steps.map((step) => ({ ...step })),
      };
      if (!selection.ok) return fail(selection.code, selection.message, selectionResult);
      // A model whose context window the estimate already exceeds would only answer 400: skip it up front.
      const candidates = selection.candidates.filter(
        (candidate) => candidate.model.context_window === undefined || estimate <= candidate.model.context_window,
      );
      if (candidates.length === 0)
        return fail(
          'AI_GATEWAY_INPUT_TOO_LARGE',
          `about ${estimate} input tokens exceed every candidate model's context window.`,
          selectionResult,
        );
      const attempts = attemptsFor(candidates);
      const aiProviders = ports.aiProviders;
      if (aiProviders === undefined)
        return fail('AI_GATEWAY_UNAVAILABLE', 'this gateway cannot reach model providers.', selectionResult);
      const extraHeaders = renderHeaders(headerTemplates, request);

      let sawRateLimit = false;
      let sawTimeout = false;
      for (const attempt of attempts) {
        const { provider, model } = attempt.candidate;
        const attemptRecord: AiGatewayAttemptRecord = {
          provider: provider.id,
          model: model.id,
          api_key: attempt.key?.hash ?? 'passthrough',
          status: 'error',
          status_code: 0,
          error: null,
          duration_ms: 0,
        };
        record.attempts.push(attemptRecord);
        const remaining = totalMs - (ports.clock.now() - startedAt);
        if (remaining <= 0) {
          attemptRecord.error = 'not tried: total_timeout reached';
          sawTimeout = true;
          break;
        }
        if (attempt.key !== undefined && attempt.key.value === undefined) {
          // Never passthrough instead: the policy named keys, so the client's credentials are not meant to be used.
          attemptRecord.error = 'the key’s secret is not available on this data plane';
          continue;
        }
        const sentBody = providerBody(body, attempt.candidate, format, {
          maxOutputTokens: config.max_output_tokens,
          merge,
          responses,
        });
        const attemptStarted = ports.clock.now();
        const outcome = await aiProviders.send({
          url: providerUrl(provider.baseUrl, request.request.path, joinQuery(request.request.query, extraQuery)),
          internal: provider.internal,
          method: 'POST',
          headers: providerHeaders(request.request.headers, format, attempt.key, extraHeaders),
          body: JSON.stringify(sentBody),
          format,
          timeoutMs: Math.min(perRequestMs, remaining),
        });
        attemptRecord.duration_ms = ports.clock.now() - attemptStarted;
        if (outcome.kind === 'failed') {
          attemptRecord.error = outcome.message;
          if (outcome.reason === 'timeout') sawTimeout = true;
          continue;
        }
        const status = outcome.response.status;
        attemptRecord.status_code = status;
        if (failsOver(status)) {
          outcome.response.discard();
          attemptRecord.error = `provider answered ${status}`;
          if (status === 429) sawRateLimit = true;
          continue;
        }
        // 2xx, or a client error the next provider would refuse too (400, 404, 422): the client gets it as is.
        attemptRecord.status = status < 400 ? 'success' : 'error';
        record.status = status < 400 ? 'success' : 'error';
        record.provider = provider.id;
        record.model = model.id;
        record.price =
          model.input_per_million === undefined || model.output_per_million === undefined
            ? null
            : { input_per_million: model.input_per_million, output_per_million: model.output_per_million };
        request.actionResults.ai_gateway = celResult(record, selectionResult);
        return {
          outcome: { kind: 'provider-response', response: outcome.response },
          detail: `${provider.id}:${model.id} answered ${status} (attempt ${record.attempts.length})`,
        };
      }
      const summary = record.attempts
        .map((entry) => `${entry.provider}:${entry.model} ${entry.error ?? entry.status_code}`)
        .join('; ');
      if (sawTimeout && record.attempts.every((entry) => entry.status_code === 0))
        return fail('AI_GATEWAY_TIMEOUT', `no provider answered in time (${summary}).`, selectionResult);
      if (sawRateLimit && record.attempts.every((entry) => entry.status_code === 429 || entry.status_code === 0))
        return fail(
          'AI_GATEWAY_RATE_LIMITED',
          `every provider attempt was rate limited (${summary}).`,
          selectionResult,
        );
      return fail('AI_GATEWAY_PROVIDERS_FAILED', `every provider attempt failed (${summary}).`, selectionResult);
    };
  },
});

function joinQuery(query: string, extra: string): string {
  if (extra === '') return query;
  return query === '' ? extra : `${query}&${extra}`;
}

function parseBody(context: PolicyContext): Record<string, unknown> | undefined {
  const bytes = context.request.body;
  if (bytes === undefined) return undefined;
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
