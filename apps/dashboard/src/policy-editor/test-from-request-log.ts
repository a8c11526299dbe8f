import type { PolicyTestCase } from '@gatehouse/contracts';
import type { RequestLog, RequestLogSummary } from '../api/request-logs.api';

/** Headers the test's URL and body already stand for. */
const impliedHeaders = new Set(['host', 'content-length']);

/**
 * A test case from a logged request ("Add as test"): the request as far as the log knows it (headers only when the
 * endpoint captures them; the credential headers never are), the client's address and the categories it was in then,
 * the time it arrived (so time-based rules decide the same way), and what the policy did with it. A forwarded request
 * expects only the decision: the status came from the real upstream, and tests use a stand-in answering 200.
 */
export function testCaseFromRequestLog(summary: RequestLogSummary, detail: RequestLog | undefined): PolicyTestCase {
  const headers = Object.fromEntries(
    Object.entries(detail?.request_headers ?? {}).filter(([name]) => !impliedHeaders.has(name.toLowerCase())),
  );
  const decision = summary.decision;
  return {
    name: `${summary.method} ${summary.path} → ${summary.status} (${summary.timestamp})`.slice(0, 200),
    request: {
      method: summary.method,
      path: `${summary.path}${summary.query ? `?${summary.query}` : ''}`,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      client_ip: summary.client_ip,
      client_ip_categories: summary.client_ip_categories,
      time: summary.timestamp,
    },
    expect: {
      ...(summary.forwarded_to === null ? { status: summary.status } : {}),
      decision:
        decision === null
          ? null
          : {
              rule: decision.rule_name ?? decision.rule_index,
              action: decision.action,
              phase: decision.phase,
            },
    },
  };
}
