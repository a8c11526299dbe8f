/**
 * @gatehouse/traffic-policy — the Traffic Policy engine: parse → validate → compile → evaluate.
 * Pure: no I/O and no framework; effects are ports the host implements.
 */
export { parse, formatPath, type ParsedPolicy, type SourcePosition, type DocumentPath } from './parse.js';
export { maxMcpBatchElements, maxPolicyTextLength, maxSideCallsPerRequest } from './limits.js';
export { validate, validatePolicy, type ValidationResult } from './validate.js';
export {
  analyzePolicy,
  compile,
  PolicyCompileError,
  type CompiledPolicy,
  type CompiledRule,
  type CompiledAction,
  type EndpointType,
  type PolicyOptions,
  type PolicyAnalysis,
} from './compile.js';
export type { SecretValues, PolicySecretReference } from './compiled-policy.js';
export { secretKey } from './cel-secrets.js';
export { distinctSecrets, checkSecretValues, type SecretValueProblem } from './compile.js';
export { redactSecrets } from './context.js';
export { settleExchange } from './exchange-end.js';
export {
  evaluate,
  applyResponseDirectives,
  createPolicyContext,
  type PhaseResult,
  type RequestFactsInput,
  evaluateStreamEvent,
  type StreamEventResult,
} from './evaluate.js';
export {
  PolicyContext,
  phases,
  continueOutcome,
  type Phase,
  type HeaderMap,
  type EndpointFacts,
  type ConnectionFacts,
  type ClientCertificateFacts,
  type DistinguishedNameFacts,
  type RequestFacts,
  type ResponseFacts,
  type SseEventFacts,
  type McpFacts,
  type McpKind,
  type McpListFilter,
  type McpListName,
  type SyntheticResponse,
  type Outcome,
  type Decision,
  type RuleTrace,
  type ActionTrace,
  type Directives,
  type BodyReplacement,
  type ReplacePattern,
} from './context.js';
export { PolicyRegex, type RegexSyntaxError } from './regex.js';
export { CelLimitError } from './cel-cost.js';
export {
  validationErrorCodes,
  runtimeErrorCodes,
  errorCodeHeader,
  type ValidationErrorCode,
  type RuntimeErrorCode,
  type PolicyIssue,
  type IssueSeverity,
} from './errors.js';
export {
  admitsRequest,
  retryAfterSeconds,
  type PolicyPorts,
  type Clock,
  type RateLimitStore,
  type RateLimitWindow,
  type SlidingWindowCounts,
  type JwksFetcher,
  type WebhookCertificateFetcher,
  type Jwk,
  type InternalEndpointDirectory,
  type CircuitBreakers,
  type CircuitBreakerSettings,
  type IdentityProviderClient,
  type OpenIdProviderMetadata,
  type SessionKeyring,
  type TokenRequest,
  sideCallErrorCodes,
  sideCallMethods,
  type HttpRequester,
  type SideCallErrorCode,
  type SideCallMethod,
  type SideCallRequest,
  type SideCallResponse,
  type SideCallResult,
  type AiProviders,
  type AiProviderAttempt,
  type AiProviderRequest,
  type AiProviderResponse,
  type AiWireFormat,
} from './ports.js';
export {
  recordUsage,
  UsageReader,
  type AiGatewayRecord,
  type AiGatewayAttemptRecord,
  type TokenUsage,
} from './ai-gateway/accounting.js';
export { modelCatalog, modelCatalogDate, type CatalogModel } from './ai-gateway/catalog.js';
export {
  systemClock,
  MemoryRateLimitStore,
  MemoryCircuitBreakers,
  SetInternalEndpointDirectory,
  StaticJwksFetcher,
  OfflineIdentityProviderClient,
  policyTestSessionKeys,
  ScriptedHttpRequester,
  StaticIpIntelligence,
  ipRecordOf,
  clientGeoOf,
} from './memory-ports.js';
export { signInPaths } from './sign-in.js';
export { oauthProviders, oauthProviderNames } from './oauth-providers.js';
export {
  policyDocumentSchema,
  policyDocumentJsonSchema,
  policyEditorJsonSchema,
  ruleSchema,
  actionSchema,
  type PolicyDocument,
  type PolicyRule,
} from './schema.js';
export { actionDefinitions, actionsByType } from './actions/registry.js';
export type { ActionDefinition, ActionTraits, AnyAction, ActionConfigParse, ParsedActionConfig } from './action.js';
export { internalTargetOf } from './actions/forward-internal.js';
export { createIpCategoryIndex, compileCidrSet, parseCidr, parseClientIpFilter, parseIp, isPrivateIp } from './ip.js';
export {
  type IpCategoryResolver,
  type IpIntelligence,
  type IpIntelligenceRecord,
  ClientIp,
  RequestUrl,
} from './cel-values.js';
export {
  checkMcpHeaders,
  detectMcp,
  readMcp,
  filterMcpLists,
  jsonRpcErrorBody,
  jsonRpcErrorCodes,
  mayBeJsonRpc,
  type JsonRpcId,
} from './mcp.js';
export { callerOf } from './caller.js';
export { sha256Hex } from './codecs.js';
export { parseDuration } from './duration.js';
export { celEnvironment, compileExpression } from './cel-environment.js';
export {
  celCatalog,
  celCompletions,
  functionDocs,
  type CelCatalog,
  type CelCatalogItem,
  type CelCatalogKind,
  type CelCompletion,
} from './cel-catalog.js';
export {
  runPolicyTests,
  defaultPolicyTestTime,
  defaultPolicyTestClientIp,
  type PolicyTestOptions,
} from './policy-tests.js';
export {
  replayRequests,
  recordedOutcome,
  diffReplayResults,
  type ReplayedRequest,
  type ReplayEndpoint,
  type ReplayResult,
  type ReplayOptions,
} from './replay.js';
