import type { AnyEndpointType } from '@gatehouse/contracts';
import {
  ClientIp,
  RequestUrl,
  type IpCategoryResolver,
  type IpIntelligence,
  type IpIntelligenceRecord,
} from './cel-values.js';
import type { CelRequestScope } from './cel-functions.js';
import { parseRequestCookies, parseResponseCookies, type CelCookie } from './cel-cookies.js';
import { ContentType, UserAgent } from './cel-request-values.js';
import type { RuntimeErrorCode } from './errors.js';
import { describeError } from './error-text.js';
import { secretKey } from './cel-secrets.js';
import type { AiGatewayRecord } from './ai-gateway/accounting.js';
import type { AiProviderResponse } from './ports.js';

export type Phase = 'on_tcp_connect' | 'on_http_request' | 'on_http_response' | 'on_event_stream_message';
export const phases: readonly Phase[] = [
  'on_tcp_connect',
  'on_http_request',
  'on_http_response',
  'on_event_stream_message',
];

/**
 * One server-sent event of a `text/event-stream` response, as `on_event_stream_message` rules see it (`sse.*`): the
 * fields of the event as the WHATWG parser reads them (several `data:` lines joined with `\n`; '' when absent).
 */
export interface SseEventFacts {
  event: string;
  data: string;
  id: string;
  retry: string;
}

/** Header names are lower-case; values keep their order. Actions mutate this map in place. */
export type HeaderMap = Map<string, string[]>;

export interface EndpointFacts {
  id: string;
  url: string;
  host: string;
  /** `endpoint.type` in expressions; an agent endpoint's policy follows the internal rules (policyEndpointType). */
  type: AnyEndpointType;
}

export interface ConnectionFacts {
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  /** `1.3` as ngrok writes it; Node's `TLSv1.3` is accepted and read as `1.3`. */
  tls?: {
    version: string;
    cipherSuite: string;
    sni: string;
    /**
     * The verified client certificate (mutual TLS), read only when a policy reads `conn.tls.client.*`: parsing a
     * certificate is work most policies never need. Absent (or returning undefined) when the client sent none.
     */
    clientCertificate?: () => ClientCertificateFacts | undefined;
  };
  /** Epoch milliseconds when the connection was accepted (`conn.ts.start`); the request time when absent. */
  startedAtMs?: number;
  /** `conn.server_region`: the data plane's configured region; '' when absent. */
  serverRegion?: string;
}

/** A distinguished name's attributes; each list keeps the certificate's order (an attribute may repeat). */
export interface DistinguishedNameFacts {
  commonName: string;
  country: string[];
  locality: string[];
  organization: string[];
  organizationalUnit: string[];
  postalCode: string[];
  province: string[];
  streetAddress: string[];
}

/** `conn.tls.client.*`: what the data plane read from the client certificate the TLS handshake verified. */
export interface ClientCertificateFacts {
  subject: DistinguishedNameFacts;
  issuer: DistinguishedNameFacts;
  san: { dnsNames: string[]; emailAddresses: string[]; ipAddresses: string[]; uris: string[] };
  /** Lower-case hex without separators, as ngrok writes it. */
  serialNumber: string;
  /** ngrok's (Go's) name, e.g. `SHA256-RSA`, `ECDSA-SHA256`; '' when the algorithm has no such name. */
  signatureAlgorithm: string;
  pem: string;
  notBeforeMs: number;
  notAfterMs: number;
}

/** What one MCP message is: a call (`request`), a `notification`, a client's `response` to a server request, a `batch`. */
export type McpKind = 'request' | 'notification' | 'response' | 'batch';

/** An MCP (JSON-RPC) message as the data plane read it from the request body; see `detectMcp`. */
export interface McpFacts {
  kind: McpKind;
  method: string;
  /**
   * The tool (tools/call), prompt (prompts/get) or resource URI (resources/*) the message names — for
   * completion/complete the prompt or resource its `ref` names; '' otherwise.
   */
  tool: string;
  /** Which kind of capability `tool` names (absent when it names none): what mcp-tools judges it by. */
  names?: McpCapability;
  /** `params.arguments` when it is an object; an empty map otherwise. */
  arguments: Readonly<Record<string, unknown>>;
  protocolVersion: string;
  sessionId: string;
  /** The JSON-RPC id of a request or response (absent on notifications and batches). */
  id?: string | number | null;
  /** A batch's elements, in order; the request phase runs once per element (see `evaluate`). */
  messages?: readonly McpFacts[];
}

/** Decides whether one item of a tools/prompts/resources list stays visible; set by mcp-tools for the data plane. */
export interface McpListFilter {
  /** `list` is the result field (`tools`, `prompts`, `resources`, `resourceTemplates`). */
  visible(list: McpListName, item: Record<string, unknown>): boolean;
}

export type McpListName = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

/** The kinds of capability an MCP server lists, and a message can name one of. */
export type McpCapability = 'tools' | 'prompts' | 'resources';

export interface RequestFacts {
  method: string;
  scheme: 'http' | 'https';
  /** Host header without port, lower-case. */
  host: string;
  port: string;
  path: string;
  /** The path as the client sent it, before normalization (`req.url.raw_path`); `path` when absent. */
  rawPath?: string;
  /** Raw query string without `?`. */
  query: string;
  headers: HeaderMap;
  /** Epoch milliseconds when the request's header was read (`req.ts.header_received`); the context's time when absent. */
  receivedAtMs?: number;
  /** Epoch milliseconds when the body was read (`req.ts.body_received`), when the data plane buffered it. */
  bodyReceivedAtMs?: number;
  httpVersion?: string;
  /** Present only when the compiled policy asked for it (`needsRequestBody`). */
  body?: Uint8Array;
  mcp?: McpFacts;
  /**
   * http-request attempts made for this request so far. An object so that every context over this request — each
   * endpoint it passes, each batch element's copy — counts against one budget (`maxSideCallsPerRequest`).
   */
  sideCalls?: { made: number };
}

export interface ResponseFacts {
  status: number;
  headers: HeaderMap;
}

/** A response the policy produced itself (deny, custom-response, redirect, a failed check). */
export interface SyntheticResponse {
  status: number;
  headers: HeaderMap;
  body: string;
}

export type Outcome =
  | { kind: 'continue' }
  | {
      kind: 'respond';
      response: SyntheticResponse;
      errorCode?: RuntimeErrorCode;
      /** The body is one JSON-RPC response to the current MCP message (a batch wraps it with its other elements'). */
      jsonRpc?: true;
    }
  | { kind: 'forward'; url: string }
  /** ai-gateway chose this provider response (held by the data plane, unsent): stream it to the client. */
  | { kind: 'provider-response'; response: AiProviderResponse }
  | { kind: 'close' };

export const continueOutcome: Outcome = Object.freeze({ kind: 'continue' });

/** The rule and action that ended a phase, as the request log shows it. */
export interface Decision {
  phase: Phase;
  rule_index: number;
  rule_name: string | null;
  action: string;
}

export interface ActionTrace {
  type: string;
  result: 'continued' | 'responded' | 'forwarded' | 'closed';
  /** Why a check passed or failed, or what an action did (never a secret). */
  detail?: string;
}

export interface RuleTrace {
  phase: Phase;
  rule_index: number;
  rule_name: string | null;
  matched: boolean;
  /** Runtime expression error (`expression: message`): the request failed closed with POLICY_RUNTIME_ERROR. */
  error?: string;
  actions: ActionTrace[];
  /**
   * Milliseconds this rule took (its expressions and actions, awaited side calls included): what the data plane's
   * per-rule counters report as the latency a rule adds. Set when the rule's evaluation ends, however it ends.
   */
  elapsed_ms?: number;
}

/**
 * A compiled find pattern: `text.replace(from, to)` replaces every match. The engine hands out RE2 patterns
 * (regex.ts); the structural type keeps the data plane free of the regex library.
 */
export interface ReplacePattern {
  [Symbol.replace](text: string, replacement: string): string;
}

export interface BodyReplacement {
  from: ReplacePattern;
  to: string;
}

/** Effects the data plane carries out after the decision (the engine decides, the adapter does the I/O). */
export interface Directives {
  compressResponse?: 'gzip' | 'deflate' | 'br' | 'compress';
  requestBodyReplacements?: readonly BodyReplacement[];
  responseBodyReplacements?: readonly BodyReplacement[];
  sseReplacements?: readonly (BodyReplacement & { field: 'data' | 'retry' })[];
  /** Circuit breakers whose counters the data plane must feed with the upstream's result. */
  circuitBreakerKeys?: string[];
  /**
   * `Set-Cookie` values for whatever response the client gets (upstream or synthetic), added before on_http_response
   * runs: a sign-in action renewing its session cookie on a request it let through.
   */
  setCookies?: string[];
  /** mcp-tools: list results (JSON or SSE) are filtered through every one of these before they reach the client. */
  mcpListFilters?: McpListFilter[];
}

const emptyList: readonly string[] = Object.freeze([]);
const noSecrets: ReadonlyMap<string, string> = new Map();

/** Replaces each of `values` found in `text` with `[secret]`, longest first so a value inside another is not half-shown. */
export function redactSecrets(text: string, values: ReadonlyMap<string, string>): string {
  if (values.size === 0) return text;
  let result = text;
  const ordered = [...new Set(values.values())].filter((value) => value !== '').sort((a, b) => b.length - a.length);
  for (const value of ordered) if (result.includes(value)) result = result.split(value).join('[secret]');
  return result;
}
/** Shared by every phase that sets no variables; frozen so nothing writes into it by mistake. */
export const emptyVars: Record<string, unknown> = Object.freeze(Object.create(null) as Record<string, unknown>);

/**
 * The state of one request as it moves through the phases: the facts the data plane supplied, what actions changed,
 * their results (`actions.ngrok.*`), `log` metadata and the decision trace. It is also the scope the custom CEL
 * functions read, because the CEL library does not pass the activation to function handlers.
 */
/** A task `settleExchange` runs: its synchronous part sees the finished exchange, the promise is its port effect. */
export type ExchangeEndTask = (context: PolicyContext) => Promise<void>;

export class PolicyContext implements CelRequestScope {
  response: ResponseFacts | undefined;
  /** Results of actions by their ngrok name (`rate_limit`, `jwt_validation`, …); the most recent run of each type. */
  readonly actionResults: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  readonly logs: Record<string, unknown>[] = [];
  readonly trace: RuleTrace[] = [];
  readonly directives: Directives = {};
  decision: Decision | undefined;
  /** Expressions that failed at runtime (each failed the request with POLICY_RUNTIME_ERROR); kept for the request log. */
  readonly runtimeErrors: { expression: string; message: string }[] = [];
  /**
   * The values of the secrets the policy names (`secretKey(vault, name)` → value), set by the evaluator from the
   * compiled policy; they are redacted from everything the request log keeps (`redact`).
   */
  secretValues: ReadonlyMap<string, string> = noSecrets;
  /** The event `on_event_stream_message` runs for (the data plane sets it before each run). */
  sseEvent: SseEventFacts | undefined;
  /** What ai-gateway did for this request (attempts, tokens, cost), for the request log; the data plane adds usage. */
  aiGateway: AiGatewayRecord | undefined;
  /**
   * Work left for the end of the exchange (a `rate-limit` with `cost` charges what the request used once it is known,
   * e.g. the tokens a provider reported at the end of a stream). Shared with forks (batch elements). The host calls
   * `settleExchange` once the response has ended or the client has left.
   */
  atExchangeEnd: ExchangeEndTask[] = [];
  /** `vars.*` is scoped to one phase: the evaluator resets it to the shared empty map, set-vars copies on write. */
  vars: Record<string, unknown> = emptyVars;

  readonly clientIp: ClientIp;
  /**
   * The MCP message the rules see: the request's facts, or one element of a batch while the request phase runs for
   * that element (see `evaluate`).
   */
  mcp: McpFacts | undefined;
  #cookies: Map<string, CelCookie[]> | undefined;
  #url: RequestUrl | undefined;
  #activation: Activation | undefined;

  constructor(
    readonly endpoint: EndpointFacts,
    readonly connection: ConnectionFacts,
    readonly request: RequestFacts,
    ipCategories: IpCategoryResolver,
    /** Epoch milliseconds when the request arrived (from the clock port); `time.now` reports it. */
    readonly nowMs: number,
    ipIntelligence?: IpIntelligence,
  ) {
    this.clientIp = new ClientIp(connection.clientIp, ipCategories, ipIntelligence);
    this.mcp = request.mcp;
    // `req.url.raw_path` is the path as it arrived: a url-rewrite later changes `path`, not this.
    request.rawPath ??= request.path;
    request.sideCalls ??= { made: 0 };
    this.#ipCategories = ipCategories;
    this.#ipIntelligence = ipIntelligence;
  }

  readonly #ipCategories: IpCategoryResolver;
  readonly #ipIntelligence: IpIntelligence | undefined;

  /** A context for the same request at the same instant, over a copy of `request` (one batch element's run). */
  fork(request: RequestFacts): PolicyContext {
    const forked = new PolicyContext(
      this.endpoint,
      this.connection,
      request,
      this.#ipCategories,
      this.nowMs,
      this.#ipIntelligence,
    );
    forked.secretValues = this.secretValues;
    forked.atExchangeEnd = this.atExchangeEnd;
    return forked;
  }

  /** The request's side-call budget, shared by every context over it (set in the constructor). */
  get sideCalls(): { made: number } {
    return (this.request.sideCalls ??= { made: 0 });
  }

  secret(vault: string, name: string): string | undefined {
    return this.secretValues.get(secretKey(vault, name));
  }

  /** `text` with every secret value of the policy replaced by `[secret]`: for traces, log metadata and errors. */
  redact(text: string): string {
    return redactSecrets(text, this.secretValues);
  }

  recordRuntimeError(expression: string, error: unknown): void {
    // Bounded: a hostile request must not grow the log record without limit.
    if (this.runtimeErrors.length < 20) {
      this.runtimeErrors.push({ expression, message: this.redact(describeError(error)) });
    }
  }

  requestHeader(lowerName: string): readonly string[] | undefined {
    return this.request.headers.get(lowerName);
  }

  responseHeader(lowerName: string): readonly string[] | undefined {
    return this.response?.headers.get(lowerName);
  }

  queryParam(name: string): readonly string[] | undefined {
    return this.url.query_params.get(name);
  }

  requestCookies(): Map<string, CelCookie[]> {
    return this.cookies;
  }

  /** Parsed on every read: response actions edit Set-Cookie in place, and few rules ask. */
  responseCookies(): Map<string, CelCookie[]> {
    return parseResponseCookies(this.response?.headers.get('set-cookie') ?? emptyList);
  }

  get url(): RequestUrl {
    const { scheme, host, port, path, query, rawPath } = this.request;
    return (this.#url ??= new RequestUrl(scheme, host, port, path, query, rawPath));
  }

  get cookies(): Map<string, CelCookie[]> {
    return (this.#cookies ??= parseRequestCookies(this.request.headers.get('cookie') ?? emptyList));
  }

  /** Called by actions that change the request so later expressions see the new values. */
  requestChanged(): void {
    this.#url = undefined;
    this.#cookies = undefined;
  }

  /** The variables CEL sees; built once per request, its views created on first use and reading the live request. */
  get activation(): Activation {
    return (this.#activation ??= new Activation(this));
  }
}

/** CEL reads variables as properties, so lazy getters keep unused views from being allocated at all. */
export class Activation {
  #req: RequestView | undefined;
  #res: ResponseView | undefined;
  #conn: ConnectionView | undefined;
  #endpoint: EndpointView | undefined;
  #mcp: McpView | undefined;
  #actions: { ngrok: Record<string, unknown>; gatehouse: Record<string, unknown> } | undefined;

  constructor(private readonly context: PolicyContext) {}

  get req(): RequestView {
    return (this.#req ??= new RequestView(this.context));
  }
  get res(): ResponseView {
    return (this.#res ??= new ResponseView(this.context));
  }
  get conn(): ConnectionView {
    return (this.#conn ??= new ConnectionView(this.context));
  }
  get endpoint(): EndpointView {
    return (this.#endpoint ??= new EndpointView(this.context.endpoint));
  }
  get time(): TimeView {
    return new TimeView(this.context.nowMs);
  }
  get mcp(): McpView {
    return (this.#mcp ??= new McpView(this.context));
  }
  get actions(): { ngrok: Record<string, unknown>; gatehouse: Record<string, unknown> } {
    const results = this.context.actionResults;
    return (this.#actions ??= { ngrok: results, gatehouse: results });
  }
  /** The current server-sent event (on_event_stream_message only; the environment of other phases has no `sse`). */
  get sse(): SseEventFacts {
    return this.context.sseEvent ?? { event: '', data: '', id: '', retry: '' };
  }
  /** Replaced at each phase start, so it is read through the context every time. */
  get vars(): Record<string, unknown> {
    return this.context.vars;
  }
}

export class RequestView {
  /** Kept while the header is unchanged, so rules reading several members parse the header once per request. */
  #userAgent: UserAgent | undefined;

  constructor(private readonly context: PolicyContext) {}
  get method(): string {
    return this.context.request.method;
  }
  get url(): RequestUrl {
    return this.context.url;
  }
  get host(): string {
    return this.context.request.host;
  }
  get headers(): HeaderMap {
    return this.context.request.headers;
  }
  get cookies(): Map<string, CelCookie[]> {
    return this.context.cookies;
  }
  get version(): string {
    return this.context.request.httpVersion ?? '1.1';
  }
  get content_length(): bigint {
    const value = Number(this.context.request.headers.get('content-length')?.[0] ?? '');
    return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : 0n;
  }
  get content_type(): ContentType {
    return new ContentType(this.context.request.headers.get('content-type')?.[0] ?? '');
  }
  get user_agent(): UserAgent {
    // Actions may rewrite request headers between rules, so the cached value is checked against the current text.
    const raw = this.context.request.headers.get('user-agent')?.[0] ?? '';
    if (this.#userAgent?.raw !== raw) this.#userAgent = new UserAgent(raw);
    return this.#userAgent;
  }
  get location(): string {
    return this.context.request.headers.get('location')?.[0] ?? '';
  }
  get content_encoding(): string[] {
    return contentEncodings(this.context.request.headers);
  }
  get ts(): RequestTimesView {
    return new RequestTimesView(this.context);
  }
}

/** Every Content-Encoding header's codings, in order, lower-case (`gzip, br` → ['gzip', 'br']). */
function contentEncodings(headers: HeaderMap | undefined): string[] {
  const codings: string[] = [];
  for (const value of headers?.get('content-encoding') ?? emptyList)
    for (const coding of value.split(',')) if (coding.trim() !== '') codings.push(coding.trim().toLowerCase());
  return codings;
}

/** `req.ts.*`: when the data plane received the request's header and body. */
export class RequestTimesView {
  constructor(private readonly context: PolicyContext) {}
  get header_received(): Date {
    return new Date(this.context.request.receivedAtMs ?? this.context.nowMs);
  }
  /** The header time when the data plane did not buffer the body (it had no reason to, or there was none). */
  get body_received(): Date {
    const request = this.context.request;
    return new Date(request.bodyReceivedAtMs ?? request.receivedAtMs ?? this.context.nowMs);
  }
}

export class ResponseView {
  constructor(private readonly context: PolicyContext) {}
  get status_code(): bigint {
    return BigInt(this.context.response?.status ?? 0);
  }
  get headers(): HeaderMap {
    return this.context.response?.headers ?? new Map();
  }
  get content_type(): ContentType {
    return new ContentType(this.context.response?.headers.get('content-type')?.[0] ?? '');
  }
  get location(): string {
    return this.context.response?.headers.get('location')?.[0] ?? '';
  }
  get content_encoding(): string[] {
    return contentEncodings(this.context.response?.headers);
  }
  get cookies(): Map<string, CelCookie[]> {
    return this.context.responseCookies();
  }
  get content_length(): bigint {
    const value = Number(this.context.response?.headers.get('content-length')?.[0] ?? '');
    return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : 0n;
  }
}

export class TlsView {
  constructor(private readonly tls: ConnectionFacts['tls']) {}
  /** ngrok's form (`1.2`, `1.3`), whatever form the host reports (`TLSv1.3` from Node). */
  get version(): string {
    return tlsVersion(this.tls?.version ?? '');
  }
  get cipher_suite(): string {
    return this.tls?.cipherSuite ?? '';
  }
  get sni(): string {
    return this.tls?.sni ?? '';
  }
  /** Empty strings, lists and the epoch when the client sent no certificate (or on plain HTTP). */
  get client(): ClientCertificateView {
    return new ClientCertificateView(this.tls?.clientCertificate?.());
  }
}

const noDistinguishedName: DistinguishedNameFacts = {
  commonName: '',
  country: [],
  locality: [],
  organization: [],
  organizationalUnit: [],
  postalCode: [],
  province: [],
  streetAddress: [],
};

export class ClientCertificateView {
  constructor(private readonly certificate: ClientCertificateFacts | undefined) {}
  get subject(): DistinguishedNameView {
    return new DistinguishedNameView(this.certificate?.subject ?? noDistinguishedName);
  }
  get issuer(): DistinguishedNameView {
    return new DistinguishedNameView(this.certificate?.issuer ?? noDistinguishedName);
  }
  get san(): SubjectAltNamesView {
    return new SubjectAltNamesView(this.certificate?.san);
  }
  get serial_number(): string {
    return this.certificate?.serialNumber ?? '';
  }
  get signature_algorithm(): string {
    return this.certificate?.signatureAlgorithm ?? '';
  }
  get pem(): string {
    return this.certificate?.pem ?? '';
  }
  get validity(): CertificateValidityView {
    return new CertificateValidityView(this.certificate?.notBeforeMs ?? 0, this.certificate?.notAfterMs ?? 0);
  }
}

export class DistinguishedNameView {
  constructor(private readonly name: DistinguishedNameFacts) {}
  get common_name(): string {
    return this.name.commonName;
  }
  get country(): string[] {
    return [...this.name.country];
  }
  get locality(): string[] {
    return [...this.name.locality];
  }
  get organization(): string[] {
    return [...this.name.organization];
  }
  get organizational_unit(): string[] {
    return [...this.name.organizationalUnit];
  }
  get postal_code(): string[] {
    return [...this.name.postalCode];
  }
  get province(): string[] {
    return [...this.name.province];
  }
  get street_address(): string[] {
    return [...this.name.streetAddress];
  }
}

export class SubjectAltNamesView {
  constructor(private readonly san: ClientCertificateFacts['san'] | undefined) {}
  get dns_names(): string[] {
    return [...(this.san?.dnsNames ?? [])];
  }
  get email_addresses(): string[] {
    return [...(this.san?.emailAddresses ?? [])];
  }
  get ip_addresses(): string[] {
    return [...(this.san?.ipAddresses ?? [])];
  }
  get uris(): string[] {
    return [...(this.san?.uris ?? [])];
  }
}

export class CertificateValidityView {
  constructor(
    private readonly notBeforeMs: number,
    private readonly notAfterMs: number,
  ) {}
  get not_before(): Date {
    return new Date(this.notBeforeMs);
  }
  get not_after(): Date {
    return new Date(this.notAfterMs);
  }
}

export class ConnectionView {
  constructor(private readonly context: PolicyContext) {}
  get client_ip(): ClientIp {
    return this.context.clientIp;
  }
  get client_port(): bigint {
    return BigInt(this.context.connection.clientPort);
  }
  get server_ip(): string {
    return this.context.connection.serverIp;
  }
  get server_port(): bigint {
    return BigInt(this.context.connection.serverPort);
  }
  get tls(): TlsView {
    return new TlsView(this.context.connection.tls);
  }
  get ts(): ConnectionTimesView {
    return new ConnectionTimesView(this.context.connection.startedAtMs ?? this.context.nowMs);
  }
  get geo(): GeoView {
    return new GeoView(this.context.clientIp.record);
  }
  get server_region(): string {
    return this.context.connection.serverRegion ?? '';
  }
}

/**
 * `conn.geo.*`, every member a string as ngrok types them (`double(conn.geo.latitude)`, `conn.geo.radius <= '5'`);
 * '' when the database does not know.
 */
export class GeoView {
  constructor(private readonly record: IpIntelligenceRecord) {}
  get city(): string {
    return this.record.city ?? '';
  }
  get country(): string {
    return this.record.country ?? '';
  }
  get country_code(): string {
    return this.record.countryCode ?? '';
  }
  get latitude(): string {
    return numberText(this.record.latitude);
  }
  get longitude(): string {
    return numberText(this.record.longitude);
  }
  get radius(): string {
    return numberText(this.record.radiusKm);
  }
  get subdivision(): string {
    return this.record.subdivision ?? '';
  }
}

function numberText(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '' : String(value);
}

export class ConnectionTimesView {
  constructor(private readonly startedAtMs: number) {}
  get start(): Date {
    return new Date(this.startedAtMs);
  }
}

/** `TLSv1.3` → `1.3`; `TLSv1` (Node's name for 1.0) → `1.0`; anything else unchanged. */
export function tlsVersion(version: string): string {
  const match = /^TLSv(\d)(?:\.(\d))?$/i.exec(version);
  return match === null ? version : `${match[1]}.${match[2] ?? '0'}`;
}

export class EndpointView {
  #url: URL | undefined;
  constructor(private readonly endpoint: EndpointFacts) {}
  private get parsedUrl(): URL | undefined {
    if (this.#url !== undefined) return this.#url;
    try {
      return (this.#url = new URL(this.endpoint.url));
    } catch {
      return undefined;
    }
  }
  /** `http`, `https`, `tcp` or `tls`: the endpoint URL's scheme. */
  get protocol(): string {
    return this.parsedUrl?.protocol.replace(/:$/, '') ?? '';
  }
  /** The endpoint URL's port, or its scheme's default (443 for https, 80 for http). */
  get port(): bigint {
    const url = this.parsedUrl;
    if (url === undefined) return 0n;
    if (url.port !== '') return BigInt(url.port);
    return url.protocol === 'https:' ? 443n : url.protocol === 'http:' ? 80n : 0n;
  }
  /** `host:port`, as ngrok writes it (`my-subdomain.ngrok.app:443`). */
  get addr(): string {
    return `${this.endpoint.host}:${this.port}`;
  }
  get id(): string {
    return this.endpoint.id;
  }
  get url(): string {
    return this.endpoint.url;
  }
  get host(): string {
    return this.endpoint.host;
  }
  get type(): string {
    return this.endpoint.type;
  }
}

export class TimeView {
  constructor(private readonly nowMs: number) {}
  get now(): string {
    return new Date(this.nowMs).toISOString();
  }
}

/** Reads the context's current MCP message on every access: a batch's elements take turns in one request. */
export class McpView {
  constructor(private readonly context: PolicyContext) {}
  get method(): string {
    return this.context.mcp?.method ?? '';
  }
  get tool(): string {
    return this.context.mcp?.tool ?? '';
  }
  get arguments(): Map<string, unknown> {
    return new Map(Object.entries(this.context.mcp?.arguments ?? {}).map(([key, value]) => [key, celValueOf(value)]));
  }
  get session_id(): string {
    return this.context.mcp?.sessionId ?? '';
  }
  get protocol_version(): string {
    return this.context.mcp?.protocolVersion ?? '';
  }
  get kind(): string {
    return this.context.mcp?.kind ?? '';
  }
}

/**
 * A JSON value as CEL sees it: objects become maps, integral numbers become ints (so `mcp.arguments.limit > 10`
 * type-checks against an int literal), other numbers stay doubles.
 */
export function celValueOf(value: unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(celValueOf);
  if (value !== null && typeof value === 'object')
    return new Map(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, celValueOf(item)]));
  return value;
}
