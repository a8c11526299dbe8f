import type { ServerResponse } from 'node:http';
import type { SyntheticResponse } from '@gatehouse/traffic-policy';
import type { AdmittedRequest } from './admit-request.js';
import { syntheticHeaderList } from './headers.js';
import { runResponsePhase } from './policy-chain.js';

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
  admitted: AdmittedRequest,
  response: SyntheticResponse,
  res: ServerResponse,
): Promise<void> {
  const { record } = admitted;
  const isHead = admitted.request.method === 'HEAD';
  const facts = { status: response.status, headers: response.headers };
  const phase = await runResponsePhase(admitted.config, admitted.hops, facts);
  if (phase.replaced !== undefined) {
    record.errorCode = phase.errorCode;
    record.decision = phase.decision ?? record.decision;
  }
  const final = phase.replaced ?? { status: facts.status, headers: facts.headers, body: response.body };
  record.capture?.syntheticResponse(final.headers, isHead ? '' : final.body);
  record.bytesOut = sendSynthetic(res, final, isHead);
}
