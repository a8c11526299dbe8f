// What compiling a policy produces, and what it needs to know. Types only, so the steps of the walk
// (analyze-*.ts) and the evaluator can name them without importing the compiler that runs them.
import type { EndpointType } from '@gatehouse/contracts';
import type { ActionRunner } from './action.js';
import type { CompiledExpression } from './cel-environment.js';
import type { Phase } from './context.js';
import type { PolicyIssue } from './errors.js';

export type { EndpointType } from '@gatehouse/contracts';

export interface PolicyOptions {
  endpointType: EndpointType;
  /**
   * Clients connect to the endpoint itself, so on_tcp_connect runs: cloud endpoints, and agent endpoints on a public
   * URL (their policies otherwise follow the internal rules: they may fall through to the agent's upstream). Default:
   * true for cloud, false for internal. Contracts `policyOptionsFor` derives it from an endpoint's type and URL.
   */
  acceptsConnections?: boolean;
  /** Registered internal endpoint URLs (normalized); when given, unknown forward-internal targets become warnings. */
  internalEndpointUrls?: ReadonlySet<string>;
  /**
   * The secrets that exist (vault → secret names). When given, a `secrets.get` naming another is an error: the API
   * passes the names at save time, the editor the names it listed.
   */
  knownSecrets?: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * Secret values, given when the configuration is applied (the data plane, the embedded gateway). The policy keeps
   * the values it names; fields computed once (basic-auth credentials, jwt-validation issuers and keys) use them.
   */
  secrets?: SecretValues;
}

/** Looks up a secret's value; undefined when there is none. */
export interface SecretValues {
  get(vault: string, name: string): string | undefined;
}

/** A `secrets.get('vault', 'name')` in a policy, where it is. */
export interface PolicySecretReference {
  vault: string;
  name: string;
  path: string;
  line: number;
  column: number;
}

export interface CompiledAction {
  readonly type: string;
  readonly run: ActionRunner;
}

export interface CompiledRule {
  readonly index: number;
  readonly name: string | null;
  readonly expressions: readonly CompiledExpression[];
  readonly actions: readonly CompiledAction[];
}

/** A policy ready for requests: every expression checked and compiled, every config parsed. Immutable. */
export interface CompiledPolicy {
  readonly endpointType: EndpointType;
  readonly phases: Readonly<Record<Phase, readonly CompiledRule[]>>;
  /** The data plane buffers the request body only when an action needs it. */
  readonly needsRequestBody: boolean;
  /** Some expression or template reads `mcp.*`, so the data plane should detect MCP calls in bodies too. */
  readonly readsMcp: boolean;
  /** The distinct secrets the policy names. */
  readonly secretReferences: readonly { readonly vault: string; readonly name: string }[];
  /** Values of the named secrets that were given (`secretKey(vault, name)` → value); the evaluator scopes them. */
  readonly secretValues: ReadonlyMap<string, string>;
}

export interface PolicyAnalysis {
  policy: CompiledPolicy | undefined;
  issues: PolicyIssue[];
  /** Every `secrets.get` in the policy, in document order. */
  secretReferences: PolicySecretReference[];
  /** Fields computed from the given secret values that the values do not fit (empty without values). */
  unusableSecretFields?: { path: string; line: number; column: number; message: string }[];
}
