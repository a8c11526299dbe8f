import { z } from 'zod';
import { defineAction } from '../action.js';
import { continueOutcome } from '../context.js';
import { verifyWebhook, webhookProviders } from '../webhooks.js';
import { enforceField, respondWithError } from './shared.js';

const emptyBody = new Uint8Array(0);

const configSchema = z.strictObject({
  provider: z.enum(webhookProviders).describe(`The sender: ${webhookProviders.join(', ')}.`),
  secret: z.string().min(1).max(4096).describe('The signing secret shared with the provider; `${}` allowed.'),
  enforce: enforceField,
});

export const verifyWebhookAction = defineAction({
  type: 'verify-webhook',
  description:
    "Verifies a webhook's signature (and timestamp, where the provider sends one); answers 403 when it fails.",
  phases: ['on_http_request'],
  resultName: 'verify_webhook',
  configSchema,
  configRequired: true,
  needsRequestBody: () => true,
  alwaysTerminates: () => false,
  compile(config, context) {
    const secret = context.template(config.secret, ['secret']);
    return async (request, ports) => {
      const verification = await verifyWebhook(config.provider, {
        secret: secret.render(request),
        header: (name) => request.requestHeader(name)?.[0],
        body: request.request.body ?? emptyBody,
        method: request.request.method,
        url: request.url.toString(),
        nowSeconds: Math.floor(ports.clock.now() / 1000),
      });
      request.actionResults.verify_webhook = { verified: verification.verified };
      if (verification.verified) return { outcome: continueOutcome, detail: `${config.provider} signature verified` };
      if (!config.enforce) return { outcome: continueOutcome, detail: `${verification.reason} (not enforced)` };
      return {
        outcome: respondWithError('WEBHOOK_VERIFICATION_FAILED', 'Gatehouse: webhook signature verification failed.'),
        detail: verification.reason,
      };
    };
  },
});
