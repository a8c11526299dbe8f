/**
 * The shapes between the verify-webhook action (`webhooks.ts`) and the provider table (`webhook-providers.ts`), in a
 * module of their own so that neither file imports the other for types.
 */
export interface WebhookInput {
  secret: string;
  /** A request header by lower-case name. */
  header(lowerName: string): string | undefined;
  /** The raw body exactly as received: providers sign bytes, so a re-serialized body would never verify. */
  body: Uint8Array;
  method: string;
  /** The full URL as the sender addressed it (scheme://host/path?query); Twilio, Square, HubSpot and others sign it. */
  url: string;
  nowSeconds: number;
  /** The public key (DER SPKI) of a signing certificate the message names by URL; absent where nothing can fetch. */
  signingCertificate?: (url: string) => Promise<Uint8Array>;
}

/** A response the action sends instead of forwarding: a provider's endpoint-verification handshake. */
export interface WebhookChallengeResponse {
  status: number;
  contentType: string;
  body: string;
}

export type WebhookVerification =
  | { verified: true; challenge?: WebhookChallengeResponse }
  | {
      verified: false;
      reason: string;
      /** A provider whose sender expects another failure status (Xero's intent-to-receive wants 401). */
      status?: number;
      /** An unsigned handshake request answered for the provider (Twitter CRC, Worldline): nothing was verified. */
      challenge?: WebhookChallengeResponse;
    };
