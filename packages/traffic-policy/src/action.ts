import type { z } from 'zod';
import type { CompiledExpression } from './cel-environment.js';
import type { Outcome, Phase, PolicyContext } from './context.js';
import type { IssueSeverity, ValidationErrorCode } from './errors.js';
import type { CompiledTemplate } from './interpolation.js';
import type { DocumentPath } from './parse.js';
import type { PolicyPorts } from './ports.js';

/**
 * The contract every action file fulfils: its config schema, where it may run, whether it ends the phase, and how it
 * compiles. One action, one file; `actions/registry.ts` lists them all.
 */
export interface ActionDefinition<Config = unknown> {
  readonly type: string;
  /** One sentence for the language reference and the JSON Schema. */
  readonly description: string;
  readonly phases: readonly Phase[];
  /** The key under `actions.ngrok.*` where the action's results appear, when it has results. */
  readonly resultName?: string;
  readonly isAuthentication?: boolean;
  /** False for actions Gatehouse recognizes but cannot run; using one is a validation error. */
  readonly supported?: boolean;
  readonly configSchema: z.ZodType<Config>;
  readonly configRequired: boolean;
  /** True when the data plane must buffer the request body for this action (signatures, body tokens, rewrites). */
  needsRequestBody?(config: Config): boolean;
  /** True when the action always ends the phase with this config (drives the termination and reachability checks). */
  alwaysTerminates(config: Config): boolean;
  compile(config: Config, context: ActionCompileContext): ActionRunner;
}

/** Runs one compiled action for one request. Returns synchronously when it needs no I/O. */
export type ActionRunner = (context: PolicyContext, ports: PolicyPorts) => ActionResult | Promise<ActionResult>;

export interface ActionResult {
  outcome: Outcome;
  /** A short, secret-free description for the decision trace. */
  detail?: string;
}

/** What an action's compile step may use; problems are collected as issues instead of thrown. */
export interface ActionCompileContext {
  readonly phase: Phase;
  readonly endpointType: 'cloud' | 'internal';
  /** Stable id of this action in the policy (phase, rule, index), for state such as circuit breakers. */
  readonly actionId: string;
  readonly internalEndpointUrls: ReadonlySet<string> | undefined;
  /** Compiles a `${}`-interpolated config string found at `field` (relative to the action's config). */
  template(text: string, field: DocumentPath): CompiledTemplate;
  /** Compiles a raw CEL expression found at `field`. */
  expression(source: string, field: DocumentPath): CompiledExpression | undefined;
  issue(code: ValidationErrorCode, message: string, field: DocumentPath, severity?: IssueSeverity): void;
}

export function defineAction<Config>(definition: ActionDefinition<Config>): ActionDefinition<Config> {
  return definition;
}
