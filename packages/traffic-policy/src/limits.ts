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
