import { z } from 'zod';
import { defineAction } from '../action.js';
import { continueOutcome, type HeaderMap } from '../context.js';
import { unsupportedWebhookProviders, verifyWebhook, webhookProviders } from '../webhooks.js';
import { enforceField, respondWithError } from './shared.js';

const emptyBody = new Uint8Array(0);

const configSchema = z.strictObject({
  provider: z
    .enum(webhookProviders, {
      // ngrok ids Gatehouse refuses say why; anything else gets the usual list of allowed values.
      error: (issue) => {
        const why = typeof issue.input === 'string' ? unsupportedWebhookProviders.get(issue.input) : undefined;
        return why === undefined ? undefined : `provider "${String(issue.input)}" is not supported: ${why}`;
      },
    })
    .describe('The sender, by the id ngrok documents (`github`, `stripe`, `slack`, …).'),
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
        ...(ports.webhookCertificates === undefined
          ? {}
          : { signingCertificate: (url: string) => ports.webhookCertificates!.publicKey(url) }),
      });
      request.actionResults.verify_webhook = { verified: verification.verified };
      const { challenge } = verification;
      if (challenge) {
        // The provider's endpoint-verification handshake is answered here, as ngrok does, whatever `enforce` says:
        // the sender waits for exactly this answer and the upstream could not give it without the secret.
        const headers: HeaderMap = new Map([['content-type', [challenge.contentType]]]);
        return {
          outcome: { kind: 'respond', response: { status: challenge.status, headers, body: challenge.body } },
          detail: `answered the ${config.provider} endpoint verification`,
        };
      }
      if (verification.verified) return { outcome: continueOutcome, detail: `${config.provider} signature verified` };
      if (!config.enforce) return { outcome: continueOutcome, detail: `${verification.reason} (not enforced)` };
      const outcome = respondWithError(
        'WEBHOOK_VERIFICATION_FAILED',
        'Gatehouse: webhook signature verification failed.',
      );
      if (verification.status !== undefined && outcome.kind === 'respond')
        outcome.response.status = verification.status;
      return { outcome, detail: verification.reason };
    };
  },
});
