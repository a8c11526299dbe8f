import type { ServerResponse } from 'node:http';
import type { SyntheticResponse } from '@gatehouse/traffic-policy';
import type { RuntimeConfig } from '../config/runtime-config.js';
import { syntheticHeaderList } from './headers.js';
import { runResponsePhase, type Hop } from './policy-chain.js';
import type { RequestRecord } from './request-record.js';

/** Writes a response the gateway or a policy produced; returns the body size. */
export function sendSynthetic(res: ServerResponse, response: SyntheticResponse, isHead: boolean): number {
  const body = Buffer.from(response.body, 'utf8');
  const headers = syntheticHeaderList(response.headers);
  headers.push('content-length', String(body.length));
  res.writeHead(response.status, headers);
  if (isHead) res.end();
  else res.end(body);
  return isHead ? 0 : body.length;
}

/**
 * Answers with a response the gateway or a policy produced, after on_http_response ran on it (it runs even when the
 * request phase answered itself, TRAFFIC-POLICY.md "Evaluation" 4) and may have replaced it.
 */
export async function respondAfterResponsePhase(
  config: RuntimeConfig,
  hops: readonly Hop[],
  response: SyntheticResponse,
  res: ServerResponse,
  method: string,
  record: RequestRecord,
): Promise<void> {
  const facts = { status: response.status, headers: response.headers };
  const phase = await runResponsePhase(config, hops, facts);
  if (phase.replaced !== undefined) {
    record.errorCode = phase.errorCode;
    record.decision = phase.decision ?? record.decision;
  }
  const final = phase.replaced ?? { status: facts.status, headers: facts.headers, body: response.body };
  record.capture?.syntheticResponse(final.headers, method === 'HEAD' ? '' : final.body);
  record.bytesOut = sendSynthetic(res, final, method === 'HEAD');
}
