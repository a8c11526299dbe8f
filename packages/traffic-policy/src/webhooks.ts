/**
 * Webhook signature verification for the `verify-webhook` action. The providers are a table (`webhook-providers.ts`):
 * most are a declaration — which header, which hash, which encoding, what is signed, where the timestamp is — and the
 * few that sign something unusual have their own function there. This file is the contract between the table and the
 * action. WebCrypto only, so it runs in the data plane and in the browser; reasons name what failed but never echo a
 * secret or an expected signature.
 */
import { providerTable, unsupportedProviders, type WebhookProviderSpec } from './webhook-providers.js';

import type { WebhookInput, WebhookVerification } from './webhook-types.js';

export type { WebhookChallengeResponse, WebhookInput, WebhookVerification } from './webhook-types.js';

const providersById: ReadonlyMap<string, WebhookProviderSpec> = new Map(providerTable.map((spec) => [spec.id, spec]));

/** The provider ids `verify-webhook` accepts; the policy schema builds its enum from this list. */
export const webhookProviders: readonly string[] = providerTable.map((spec) => spec.id);

/** ngrok provider ids Gatehouse does not verify, each with why (the schema's error message names it). */
export const unsupportedWebhookProviders: ReadonlyMap<string, string> = unsupportedProviders;

export function isWebhookProvider(name: string): boolean {
  return providersById.has(name);
}

export function webhookProviderSpec(name: string): WebhookProviderSpec | undefined {
  return providersById.get(name);
}

export async function verifyWebhook(provider: string, input: WebhookInput): Promise<WebhookVerification> {
  const spec = providersById.get(provider);
  if (!spec) return { verified: false, reason: 'unknown provider' };
  // WebCrypto refuses zero-length HMAC keys, and for token providers an empty secret would match a missing token.
  if (input.secret === '') return withStatus(spec, { verified: false, reason: 'webhook secret is empty' });
  if (spec.challenge) {
    const challenge = await spec.challenge(input);
    if (challenge) return { verified: false, reason: `answered the ${spec.name} endpoint verification`, challenge };
  }
  return withStatus(spec, await spec.verify(input));
}

function withStatus(spec: WebhookProviderSpec, result: WebhookVerification): WebhookVerification {
  return !result.verified && spec.failureStatus ? { ...result, status: spec.failureStatus } : result;
}
