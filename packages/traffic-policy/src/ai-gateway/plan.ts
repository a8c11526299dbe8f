import type { AiWireFormat } from '../ports.js';
import { builtinProviders, catalogModelsOf, type CatalogModel } from './catalog.js';
import type { CompiledStrategy } from './selection.js';

/**
 * The pure half of ai-gateway: which models a request may use, in which order, with which keys, and the body and
 * headers each attempt sends. No I/O; the action's runner feeds the attempts to the AiProviders port.
 */

export interface ModelSettings extends CatalogModel {
  readonly author: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface ProviderKey {
  /** `sha256:` + 16 hex of the value: what traces and the request log show instead of the key. */
  readonly hash: string;
  /** Undefined when the secret it is computed from is not available on this data plane. */
  readonly value: string | undefined;
}

export interface ProviderSettings {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly baseUrl: string;
  /** `baseUrl` names an internal (or agent) endpoint: dispatched like forward-internal. */
  readonly internal: boolean;
  readonly format: AiWireFormat;
  /** Listed in the policy (as opposed to a built-in allowed because only_allow_configured_providers is off). */
  readonly configured: boolean;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The provider's keys in order; empty means passthrough (the client's own key is forwarded). */
  readonly keys: readonly ProviderKey[];
  /** The models it offers: the policy's list, plus the catalog's when only_allow_configured_models is off. */
  readonly models: readonly ModelSettings[];
}

export interface GatewaySettings {
  /** Enabled providers in the policy's order, then the built-ins the policy does not name (unless only configured). */
  readonly providers: readonly ProviderSettings[];
  readonly onlyConfiguredModels: boolean;
  readonly strategies: readonly CompiledStrategy[];
}

export interface Candidate {
  readonly provider: ProviderSettings;
  readonly model: ModelSettings;
}

export interface SelectionStep {
  strategy: string;
  error: string | null;
  returned: string[];
}

export type Selection =
  | {
      ok: true;
      candidates: Candidate[];
      rejected: { model: string; reason: string }[];
      steps: SelectionStep[];
    }
  | {
      ok: false;
      code: 'AI_GATEWAY_MODEL_REQUIRED' | 'AI_GATEWAY_MODEL_NOT_ALLOWED' | 'AI_GATEWAY_NO_MODEL_SELECTED';
      message: string;
      rejected: { model: string; reason: string }[];
      steps: SelectionStep[];
    };

/** Names a client may send to let the gateway choose (ngrok's, and the obvious one). */
const autoModelNames = new Set(['ngrok/auto', 'auto']);

/** At most this many (provider, model) candidates and attempts per request: failover must stay bounded. */
export const maxCandidates = 20;
export const maxAttempts = 50;

/** Which wire format a request path speaks, or undefined when ai-gateway does not serve it. */
export function wireFormatOfPath(path: string): AiWireFormat | undefined {
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  if (trimmed === '/v1/chat/completions' || trimmed === '/chat/completions') return 'openai';
  if (trimmed === '/v1/responses' || trimmed === '/responses') return 'openai';
  if (trimmed === '/v1/messages' || trimmed === '/messages') return 'anthropic';
  return undefined;
}

/**
 * Which OpenAI API an openai-format path is. The Responses API (`/v1/responses`) goes to the same providers with the
 * same keys, errors and failover as Chat Completions; its body names the output cap `max_output_tokens` and its
 * stream always ends with the usage (`response.completed`), so nothing is added to ask for it.
 */
export function openAiApiOfPath(path: string): 'chat' | 'responses' {
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed === '/v1/responses' || trimmed === '/responses' ? 'responses' : 'chat';
}

/** `model` first, then each of `models`, without repeats: the client's order of preference. */
export function requestedModels(body: Record<string, unknown>): string[] {
  const names: string[] = [];
  const add = (value: unknown) => {
    if (typeof value === 'string' && value.trim() !== '' && !names.includes(value.trim())) names.push(value.trim());
  };
  add(body.model);
  if (Array.isArray(body.models)) for (const value of body.models as unknown[]) add(value);
  return names;
}

function providerNamed(providers: readonly ProviderSettings[], name: string): ProviderSettings | undefined {
  const lower = name.toLowerCase();
  return providers.find((provider) => provider.id === lower || provider.aliases.includes(lower));
}

function modelNamed(provider: ProviderSettings, name: string): ModelSettings | undefined {
  return provider.models.find((model) => model.id === name || model.aliases.includes(name));
}

/** A model a provider does not list, passed through as written (ngrok: a provider prefix lets new models through). */
function unlistedModel(provider: ProviderSettings, id: string): ModelSettings {
  return { provider: provider.id, id, aliases: [], author: provider.id, metadata: {} };
}

/**
 * Resolves the client's `model`/`models` (or the strategies, when it names none or `ngrok/auto`) to an ordered list
 * of candidates among the providers that speak `format`. With a client list, strategies only filter it (they never
 * add a model the client did not ask for) and the client's order stays; without one, the first strategy that returns
 * a model decides the order.
 */
export function selectCandidates(
  settings: GatewaySettings,
  format: AiWireFormat,
  requested: readonly string[],
): Selection {
  const serving = settings.providers.filter((provider) => provider.format === format);
  const rejected: { model: string; reason: string }[] = [];
  const steps: SelectionStep[] = [];
  const pool: Candidate[] = serving.flatMap((provider) => provider.models.map((model) => ({ provider, model })));
  const explicit = requested.filter((name) => !autoModelNames.has(name));

  let clientCandidates: Candidate[] | undefined;
  if (explicit.length > 0) {
    clientCandidates = [];
    for (const name of explicit) {
      const resolved = resolveModelName(settings, serving, pool, format, name);
      if ('reason' in resolved) rejected.push({ model: name, reason: resolved.reason });
      else
        for (const candidate of resolved.candidates)
          if (!includes(clientCandidates, candidate)) clientCandidates.push(candidate);
    }
    if (clientCandidates.length === 0)
      return {
        ok: false,
        code: 'AI_GATEWAY_MODEL_NOT_ALLOWED',
        message: `no requested model can be used: ${rejected.map((entry) => `${entry.model} (${entry.reason})`).join('; ')}`,
        rejected,
        steps,
      };
  }

  if (settings.strategies.length === 0) {
    if (clientCandidates === undefined)
      return {
        ok: false,
        code: 'AI_GATEWAY_MODEL_REQUIRED',
        message: 'the request names no model and the policy has no model_selection strategy to choose one.',
        rejected,
        steps,
      };
    return { ok: true, candidates: clientCandidates.slice(0, maxCandidates), rejected, steps };
  }

  // `ai.models` holds what the client may get: its own candidates, or the whole pool when it let the gateway choose.
  const offered = clientCandidates ?? pool;
  const byKey = new Map(offered.map((candidate) => [candidateKey(candidate), candidate]));
  const ai = new Map<string, unknown>([
    ['models', offered.map(modelValue)],
    [
      'providers',
      serving.map(
        (provider) =>
          new Map<string, unknown>([
            ['id', provider.id],
            ['metadata', toCel(provider.metadata)],
          ]),
      ),
    ],
  ]);
  for (const strategy of settings.strategies) {
    const step: SelectionStep = { strategy: strategy.source, error: null, returned: [] };
    steps.push(step);
    let value: unknown;
    try {
      value = strategy.evaluate(ai);
    } catch (error) {
      // ngrok moves on to the next strategy when one fails; the failure stays visible in the action's result.
      step.error = error instanceof Error ? error.message : String(error);
      continue;
    }
    const chosen: Candidate[] = [];
    for (const item of Array.isArray(value) ? (value as unknown[]) : []) {
      const candidate =
        item instanceof Map
          ? byKey.get(`${String(item.get('provider_id'))}\u0000${String(item.get('id'))}`)
          : undefined;
      if (candidate !== undefined && !chosen.includes(candidate)) chosen.push(candidate);
    }
    step.returned = chosen.map((candidate) => `${candidate.provider.id}:${candidate.model.id}`);
    if (chosen.length === 0) continue;
    // A client's list keeps its order; the strategy only decided which of its entries stay.
    const ordered =
      clientCandidates === undefined ? chosen : clientCandidates.filter((candidate) => chosen.includes(candidate));
    return { ok: true, candidates: ordered.slice(0, maxCandidates), rejected, steps };
  }
  return {
    ok: false,
    code: 'AI_GATEWAY_NO_MODEL_SELECTED',
    message: 'every model_selection strategy returned no model for this request.',
    rejected,
    steps,
  };
}

function resolveModelName(
  settings: GatewaySettings,
  serving: readonly ProviderSettings[],
  pool: readonly Candidate[],
  format: AiWireFormat,
  name: string,
): { candidates: Candidate[] } | { reason: string } {
  const colon = name.indexOf(':');
  if (colon > 0) {
    const provider = providerNamed(settings.providers, name.slice(0, colon));
    if (provider !== undefined) {
      if (provider.format !== format)
        return { reason: `provider ${provider.id} does not speak the ${format} format of this path` };
      const modelName = name.slice(colon + 1);
      const listed = modelNamed(provider, modelName);
      if (listed !== undefined) return { candidates: [{ provider, model: listed }] };
      if (settings.onlyConfiguredModels) return { reason: `model ${modelName} is not configured for ${provider.id}` };
      return { candidates: [{ provider, model: unlistedModel(provider, modelName) }] };
    }
    const known = builtinProviders.find((builtin) => builtin.id === name.slice(0, colon).toLowerCase());
    if (known !== undefined) return { reason: `provider ${known.id} is not allowed by this policy` };
  }
  const matches = pool.filter(({ model }) => model.id === name || model.aliases.includes(name));
  if (matches.length > 0) return { candidates: matches };
  if (serving.length === 0) return { reason: `no provider serves the ${format} format of this path` };
  return {
    reason: settings.onlyConfiguredModels
      ? 'not a configured model'
      : 'unknown model: not in the catalog or the policy; prefix it with its provider (openai:<model>)',
  };
}

function includes(list: readonly Candidate[], candidate: Candidate): boolean {
  return list.some((entry) => entry.provider === candidate.provider && entry.model.id === candidate.model.id);
}

function candidateKey(candidate: Candidate): string {
  return `${candidate.provider.id}\u0000${candidate.model.id}`;
}

/** A model as `ai.models` shows it to a strategy. Integers are CEL ints, prices doubles. */
function modelValue({ provider, model }: Candidate): Map<string, unknown> {
  return new Map<string, unknown>([
    ['id', model.id],
    ['provider_id', provider.id],
    ['author_id', model.author],
    ['aliases', [...model.aliases]],
    ['context_window', BigInt(model.context_window ?? 0)],
    ['input_price', model.input_per_million ?? 0],
    ['output_price', model.output_per_million ?? 0],
    ['metadata', toCel(model.metadata)],
    ['provider_metadata', toCel(provider.metadata)],
  ]);
}

function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (value !== null && typeof value === 'object')
    return new Map(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, toCel(item)]));
  return value;
}

export interface Attempt {
  readonly candidate: Candidate;
  /** Undefined: passthrough, the client's own credentials go to the provider. */
  readonly key: ProviderKey | undefined;
}

/** Keys of a provider innermost, then the candidates in order (next model, then next provider). */
export function attemptsFor(candidates: readonly Candidate[]): Attempt[] {
  const attempts: Attempt[] = [];
  for (const candidate of candidates) {
    const keys = candidate.provider.keys;
    if (keys.length === 0) attempts.push({ candidate, key: undefined });
    else for (const key of keys) attempts.push({ candidate, key });
  }
  return attempts.slice(0, maxAttempts);
}

/** Sampling and logprob parameters OpenAI's reasoning models refuse with a 400. */
const reasoningUnsupported = [
  'temperature',
  'top_p',
  'presence_penalty',
  'frequency_penalty',
  'logprobs',
  'top_logprobs',
  'logit_bias',
];

/** Fields only the gateway reads; no provider accepts them. */
const gatewayOnlyFields = ['models'];

/**
 * The body one attempt sends: the client's, with the provider's model id, the gateway-only fields and the parameters
 * the model refuses removed, the output cap applied, the policy's `body` merged over it, and (OpenAI, streamed)
 * usage asked for so the request log can count tokens.
 */
export function providerBody(
  body: Readonly<Record<string, unknown>>,
  candidate: Candidate,
  format: AiWireFormat,
  options: {
    maxOutputTokens: number | undefined;
    merge: Readonly<Record<string, unknown>>;
    /** The OpenAI Responses API (`/v1/responses`) rather than Chat Completions. */
    responses?: boolean;
  },
): Record<string, unknown> {
  const sent: Record<string, unknown> = { ...body, ...options.merge, model: candidate.model.id };
  for (const name of gatewayOnlyFields) delete sent[name];
  const reasoning = candidate.model.reasoning === true;
  if (options.responses === true) {
    // Responses: the sampling parameters reasoning models refuse are the same; the cap is max_output_tokens, and
    // stream_options.include_usage does not exist (the final response.completed event carries the usage).
    if (reasoning) for (const name of reasoningUnsupported) delete sent[name];
    const cap = options.maxOutputTokens;
    if (cap !== undefined) {
      const current = sent.max_output_tokens;
      sent.max_output_tokens = typeof current === 'number' && current > 0 ? Math.min(current, cap) : cap;
    }
    return sent;
  }
  if (reasoning) {
    for (const name of reasoningUnsupported) delete sent[name];
    // Reasoning models take max_completion_tokens only.
    if (sent.max_tokens !== undefined && sent.max_completion_tokens === undefined)
      sent.max_completion_tokens = sent.max_tokens;
    delete sent.max_tokens;
  }
  const cap = options.maxOutputTokens;
  if (cap !== undefined) {
    const field =
      format === 'openai' && (reasoning || sent.max_completion_tokens !== undefined)
        ? 'max_completion_tokens'
        : 'max_tokens';
    const current = sent[field];
    sent[field] = typeof current === 'number' && current > 0 ? Math.min(current, cap) : cap;
  }
  if (format === 'openai' && sent.stream === true) {
    const streamOptions = sent.stream_options;
    const existing =
      streamOptions !== null && typeof streamOptions === 'object' ? (streamOptions as Record<string, unknown>) : {};
    sent.stream_options = { ...existing, include_usage: true };
  }
  return sent;
}

/**
 * A cheap input size estimate (about four characters per token for English text and JSON), made before sending to
 * enforce max_input_tokens and skip models whose context window it exceeds. Deliberately not a tokenizer: the engine
 * runs in the browser too, and the provider's own count replaces the estimate in the request log.
 */
export function estimateInputTokens(body: Readonly<Record<string, unknown>>): number {
  let characters = 0;
  for (const field of ['messages', 'system', 'instructions', 'tools', 'input', 'prompt']) {
    const value = body[field];
    if (value === undefined) continue;
    characters += typeof value === 'string' ? value.length : JSON.stringify(value).length;
  }
  return Math.ceil(characters / 4);
}

/**
 * The URL of an attempt: the provider's base URL followed by the request path. A base URL that ends in `/v1` (as the
 * built-ins' do, and most OpenAI-compatible servers document theirs) is not doubled: `…/v1` + `/v1/messages`.
 */
export function providerUrl(baseUrl: string, path: string, query: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl.slice(0, -1) : baseUrl;
  const suffix = base.endsWith('/v1') && path.startsWith('/v1/') ? path.slice(3) : path;
  return `${base}${suffix}${query === '' ? '' : `?${query}`}`;
}

/** Client headers a provider may need; everything else (cookies, forwarding headers, the gateway's own) stays here. */
const forwardedHeaders = [
  'accept',
  'content-type',
  'user-agent',
  'anthropic-version',
  'anthropic-beta',
  'openai-organization',
  'openai-project',
  'openai-beta',
  'x-stainless-lang',
  'x-stainless-package-version',
];

/** The client's credential headers, forwarded only in passthrough. */
const credentialHeaders = ['authorization', 'x-api-key', 'api-key'];

export function providerHeaders(
  client: ReadonlyMap<string, readonly string[]>,
  format: AiWireFormat,
  key: ProviderKey | undefined,
  extra: ReadonlyMap<string, readonly string[]>,
): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  for (const name of forwardedHeaders) {
    const values = client.get(name);
    if (values !== undefined) headers.set(name, [...values]);
  }
  headers.set('content-type', ['application/json']);
  if (key === undefined) {
    for (const name of credentialHeaders) {
      const values = client.get(name);
      if (values !== undefined) headers.set(name, [...values]);
    }
  } else if (format === 'openai') {
    headers.set('authorization', [`Bearer ${key.value ?? ''}`]);
  } else {
    headers.set('x-api-key', [key.value ?? '']);
  }
  if (format === 'anthropic' && !headers.has('anthropic-version')) headers.set('anthropic-version', ['2023-06-01']);
  for (const [name, values] of extra) headers.set(name, [...values]);
  return headers;
}

/** The client's own key (bearer token or x-api-key), for grouping usage by caller; never stored as is. */
export function clientKeyOf(client: ReadonlyMap<string, readonly string[]>): string | undefined {
  const authorization = client.get('authorization')?.[0];
  if (authorization !== undefined && /^bearer\s+/i.test(authorization))
    return authorization.replace(/^bearer\s+/i, '').trim();
  return client.get('x-api-key')?.[0] ?? client.get('api-key')?.[0];
}

/** The built-in provider a configured provider stands for (by id or alias), whose catalog models and URL it inherits. */
export function builtinFor(id: string, aliases: readonly string[]): (typeof builtinProviders)[number] | undefined {
  return builtinProviders.find((builtin) => builtin.id === id || aliases.includes(builtin.id));
}

export function catalogModelSettings(provider: string): ModelSettings[] {
  return catalogModelsOf(provider).map((model) => ({ ...model, author: model.provider, metadata: {} }));
}
