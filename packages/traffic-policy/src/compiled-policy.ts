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
  /** Registered internal endpoint URLs (normalized); when given, unknown forward-internal targets become warnings. */
  internalEndpointUrls?: ReadonlySet<string>;
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
}

export interface PolicyAnalysis {
  policy: CompiledPolicy | undefined;
  issues: PolicyIssue[];
}
