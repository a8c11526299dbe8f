// Pure helpers of the request log's list and drawer: what decided a request and why, in words an operator reads at a
// glance, and the request again as a curl command.
import { parse, runtimeErrorCodes } from '@gatehouse/traffic-policy';
import type { RequestLog, RequestLogSummary } from '../api/request-logs.api';

type Decision = NonNullable<RequestLogSummary['decision']>;

/**
 * What decided, as a list row says it: "deny · require-token (rule 2)", or "rate-limit · rule 3 of on_http_request"
 * for a rule without a name.
 */
export function decisionRowLabel(decision: Decision): string {
  const position = decision.rule_index + 1;
  return decision.rule_name
    ? `${decision.action} · ${decision.rule_name} (rule ${position})`
    : `${decision.action} · rule ${position} of ${decision.phase}`;
}

/**
 * Error codes that mean the policy did its job (a caller was limited or refused), with a short title. Anything else
 * the gateway answered on its own is a gateway or upstream failure.
 */
const policyOutcomes: Readonly<Record<string, string>> = {
  RATE_LIMITED: 'Rate limited',
  IP_RESTRICTED: 'IP restricted',
  BASIC_AUTH_FAILED: 'Basic auth failed',
  JWT_VALIDATION_FAILED: 'JWT rejected',
  WEBHOOK_VERIFICATION_FAILED: 'Webhook signature rejected',
  MCP_NOT_ALLOWED: 'MCP call not allowed',
  CIRCUIT_BREAKER_OPEN: 'Circuit breaker open',
  REQUEST_BODY_TOO_LARGE: 'Request body too large',
  ENDPOINT_NOT_FOUND: 'No endpoint for this host',
};

export interface ErrorCodeDescription {
  /** A policy refusing or limiting a caller, or the gateway/upstream failing. */
  kind: 'policy' | 'gateway';
  title: string;
  /** What the code means (the engine's own catalog), when it is a known one. */
  reason: string | null;
}

export function describeErrorCode(code: string): ErrorCodeDescription {
  const known = (runtimeErrorCodes as Readonly<Record<string, { reason: string } | undefined>>)[code];
  const title = policyOutcomes[code];
  return title
    ? { kind: 'policy', title, reason: known?.reason ?? null }
    : { kind: 'gateway', title: 'Gateway error', reason: known?.reason ?? null };
}

/** The list's and drawer's short word for a status whose meaning is not obvious from the number. */
export function statusNote(status: number): string | null {
  if (status === 429) return 'rate limited';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  return null;
}

/** The expressions of the rule at `phase`/`ruleIndex` of a policy text; null when the text or rule is not there. */
export function ruleExpressions(policyText: string, phase: string, ruleIndex: number): string[] | null {
  const { document } = parse(policyText);
  if (document === null || typeof document !== 'object') return null;
  const rules = (document as Record<string, unknown>)[phase];
  if (!Array.isArray(rules)) return null;
  const rule = rules[ruleIndex] as { expressions?: unknown } | undefined;
  if (!rule || typeof rule !== 'object') return null;
  const expressions = rule.expressions;
  if (expressions === undefined) return [];
  return Array.isArray(expressions) ? expressions.filter((item): item is string => typeof item === 'string') : null;
}

export interface CategoryFinding {
  category: string;
  /** Whether the client's address is in the category (the data plane's finding, stored with the request). */
  inside: boolean;
}

/**
 * Every IP category a rule's expressions test (`'name' in conn.client_ip.categories`), and whether this client is in
 * it: the reason a category rule matched, or did not.
 */
export function categoryFindings(
  expressions: readonly string[],
  clientCategories: readonly string[],
): CategoryFinding[] {
  const named = new Set<string>();
  const pattern = /(["'])([^"'\\]+)\1\s+in\s+conn\.client_ip\.categories/g;
  for (const expression of expressions) {
    for (const match of expression.matchAll(pattern)) named.add(match[2]!);
  }
  return [...named].map((category) => ({ category, inside: clientCategories.includes(category) }));
}

/** A JSON body pretty-printed (two spaces); anything else as it came. */
export function formatBody(body: string): { text: string; json: boolean } {
  const trimmed = body.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return { text: JSON.stringify(JSON.parse(trimmed), null, 2), json: true };
    } catch {
      // A truncated capture or not JSON after all: shown as it is.
    }
  }
  return { text: body, json: false };
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Headers curl sets itself or that describe the hop, not the request. */
const headersCurlSets = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'accept-encoding']);

/**
 * The request as a curl command, to send it again by hand: method, URL (the endpoint's scheme), the stored headers
 * and body when the endpoint captures them. Secrets are never stored, so Authorization must be added by whoever runs
 * it; a comment says so when the request was authenticated.
 */
export function curlCommand(summary: RequestLogSummary, detail: RequestLog | undefined): string {
  const scheme = summary.endpoint_url ? new URL(summary.endpoint_url).protocol.replace(':', '') : 'https';
  const url = `${scheme}://${summary.host}${summary.path}${summary.query ? `?${summary.query}` : ''}`;
  const parts = ['curl'];
  if (summary.method !== 'GET' || detail?.request_body) parts.push(`-X ${summary.method}`);
  parts.push(shellQuote(url));
  for (const [name, value] of Object.entries(detail?.request_headers ?? {})) {
    if (headersCurlSets.has(name.toLowerCase())) continue;
    for (const item of Array.isArray(value) ? value : [value]) parts.push(`-H ${shellQuote(`${name}: ${item}`)}`);
  }
  if (detail?.request_body) parts.push(`--data-raw ${shellQuote(detail.request_body)}`);
  const command = parts.join(' \\\n  ');
  // A rate-limit fingerprint alone may come from any key (the client address); these three mean credentials were sent.
  const authenticated = Boolean(
    summary.caller?.subject ?? summary.caller?.basic_auth_user ?? summary.caller?.client_id,
  );
  return authenticated ? `# Authorization is never stored: add it (-H 'Authorization: …').\n${command}` : command;
}
