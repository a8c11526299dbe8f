/**
 * Every size limit of a policy document, in one place. The validator enforces them with positioned issues, the zod
 * schema repeats them for the JSON Schema and OpenAPI, and the README quotes them ("Limits"); a limit changed here
 * changes all of them. Limits of one action's config live in that action's schema.
 */

/** Policies are small; anything bigger is a mistake or an attack on the parser. */
export const maxPolicyTextLength = 256 * 1024;
/** Deeper nesting than any real policy; bounds the recursion of every later stage. */
export const maxDocumentDepth = 64;
/** YAML aliases expand; the cap keeps a "billion laughs" document from exploding in memory. */
export const maxAliasCount = 100;

export const maxRulesPerPhase = 256;
export const maxActionsPerRule = 32;
export const maxExpressionsPerRule = 32;
export const maxRuleNameLength = 256;

/** Characters of one CEL expression (a rule expression or a raw CEL config value). */
export const maxExpressionLength = 4096;
/** What the CEL library checks while parsing an expression: size and depth of its tree, literal sizes, arguments. */
export const celExpressionLimits = Object.freeze({
  maxAstNodes: 2000,
  maxDepth: 64,
  maxListElements: 200,
  maxMapEntries: 200,
  maxCallArguments: 16,
});

/*
 * CEL and regular-expression cost limits (issue 12). One "step" is one evaluated node of an expression's tree, plus
 * one per 100 characters or elements of each string or list a call or `+` produces, plus one per 100 characters a
 * regular expression scans. A step costs well under a microsecond, so the request budget bounds CEL work per request
 * to tens of milliseconds. An overrun fails the request with POLICY_COST_EXCEEDED; the process never stalls.
 */

/** Steps one evaluation of one expression (a rule expression or one `${}` interpolation) may take. */
export const maxEvaluationCost = 100_000;
/** Steps all CEL evaluations of one request may take together, across every phase. */
export const maxRequestEvaluationCost = 1_000_000;
/** Save-time estimate above which an expression is refused (nested comprehensions multiply; see cel-cost.ts). */
export const maxExpressionCost = 1_000_000;
/** What the save-time estimate assumes a list or map of unknown size (headers, split results) holds. */
export const assumedIterableSize = 100;
/** Longest string a CEL function, `+` or a regex replacement may produce (UTF-16 units). */
export const maxCelStringLength = 1024 * 1024;
/** Longest list a CEL expression may build. */
export const maxCelListLength = 100_000;
/** Longest text a url-rewrite/redirect/find-replace replacement may produce. */
export const maxRewrittenTextLength = 16 * 1024 * 1024;
/** Characters of one regular expression (RE2 compiles in time and memory linear in the pattern). */
export const maxRegexLength = 4096;
/** Distinct compiled patterns kept (patterns can be built from request data, so the cache is bounded). */
export const maxRegexCacheEntries = 512;

/**
 * Elements of one JSON-RPC batch the gateway judges (the request phase runs once per element). The MCP SDK's servers
 * refuse more than 100 themselves; without a cap a 4 MiB batch of ~90,000 notifications ran the policy that many
 * times in one request and stalled the process for seconds.
 */
export const maxMcpBatchElements = 100;

/**
 * http-request attempts (retries included) one client request may cause, across every endpoint it passes: each one
 * holds the client's request open and costs the target a request, so a policy cannot turn one request into many.
 */
export const maxSideCallsPerRequest = 10;
