import { z } from 'zod';
import { defineAction } from '../action.js';
import { continueOutcome } from '../context.js';

const algorithms = ['gzip', 'deflate', 'br'] as const;
type Algorithm = (typeof algorithms)[number];

/**
 * ngrok also lists `compress` (Unix LZW). Policies written for ngrok name it, so it is accepted, but Gatehouse never
 * chooses it: no current client asks for it alone, and the algorithms it does produce are all better.
 */
const acceptedAlgorithms = [...algorithms, 'compress'] as const;

const configSchema = z.strictObject({
  algorithms: z
    .array(z.enum(acceptedAlgorithms))
    .min(1)
    .default([...algorithms])
    .describe(
      'Algorithms offered, in order of preference (default gzip, deflate, br; `compress` is accepted and never chosen).',
    ),
});

export const compressResponseAction = defineAction({
  type: 'compress-response',
  description: 'Compresses the response with the best algorithm the client accepts, unless it is already encoded.',
  phases: ['on_http_response'],
  resultName: 'compress',
  configSchema,
  configRequired: false,
  alwaysTerminates: () => false,
  compile(config) {
    const offered = config.algorithms.filter((algorithm): algorithm is Algorithm => algorithm !== 'compress');
    return (request) => {
      const alreadyCompressed = (request.response?.headers.get('content-encoding')?.[0] ?? 'identity') !== 'identity';
      const negotiated = alreadyCompressed
        ? undefined
        : negotiate(request.requestHeader('accept-encoding') ?? [], offered);
      if (negotiated !== undefined) request.directives.compressResponse = negotiated;
      request.actionResults.compress = {
        already_compressed: alreadyCompressed,
        negotiated_algorithm: negotiated ?? '',
      };
      return {
        outcome: continueOutcome,
        detail: negotiated === undefined ? 'not compressed' : `compressing with ${negotiated}`,
      };
    };
  },
});

/** Picks the offered algorithm with the highest q-value the client accepts; ties go to the policy's order. */
export function negotiate(acceptEncoding: readonly string[], offered: readonly Algorithm[]): Algorithm | undefined {
  const weights = new Map<string, number>();
  for (const header of acceptEncoding) {
    for (const part of header.split(',')) {
      const [name, ...parameters] = part.trim().toLowerCase().split(';');
      if (name === undefined || name === '') continue;
      const q = parameters
        .map((parameter) => /^\s*q=([0-9.]+)\s*$/.exec(parameter)?.[1])
        .find((value) => value !== undefined);
      weights.set(name, q === undefined ? 1 : Number(q));
    }
  }
  let best: Algorithm | undefined;
  let bestWeight = 0;
  for (const algorithm of offered) {
    const weight = weights.get(algorithm) ?? weights.get('*') ?? 0;
    if (weight > bestWeight) {
      best = algorithm;
      bestWeight = weight;
    }
  }
  return best;
}
