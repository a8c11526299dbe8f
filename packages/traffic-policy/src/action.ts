import type { EndpointType } from '@gatehouse/contracts';
import type { z } from 'zod';
import type { CompiledExpression, CompiledItemExpression, McpItemVariable } from './cel-environment.js';
import type { Outcome, Phase, PolicyContext } from './context.js';
import type { IssueSeverity, ValidationErrorCode } from './errors.js';
import type { CompiledTemplate } from './interpolation.js';
import type { DocumentPath } from './parse.js';
import type { PolicyPorts } from './ports.js';

/** What every action says about itself, whatever its config: the registry, the schema and the README read these. */
export interface ActionTraits {
  readonly type: string;
  /** One sentence for the language reference and the JSON Schema. */
  readonly description: string;
  readonly phases: readonly Phase[];
  /** The key under `actions.ngrok.*` where the action's results appear, when it has results. */
  readonly resultName?: string;
  readonly isAuthentication?: boolean;
  /** False for actions Gatehouse recognizes but cannot run; using one is a validation error. */
  readonly supported?: boolean;
  readonly configRequired: boolean;
}

/**
 * The contract every action file fulfils: its config schema, where it may run, whether it ends the phase, and how it
 * compiles. One action, one file; `defineAction` turns it into an `AnyAction` for `actions/registry.ts`.
 */
export interface ActionDefinition<Config = unknown> extends ActionTraits {
  readonly configSchema: z.ZodType<Config>;
  /** True when the data plane must buffer the request body for this action (signatures, body tokens, rewrites). */
  readonly needsRequestBody?: (config: Config) => boolean;
  /** True when the action always ends the phase with this config (drives the termination and reachability checks). */
  readonly alwaysTerminates: (config: Config) => boolean;
  readonly compile: (config: Config, context: ActionCompileContext) => ActionRunner;
}

/**
 * An action with its config type sealed inside: the only way to its typed steps is through `parseConfig`, which
 * validates a raw config with the action's own schema first. That is what lets the registry be a plain list.
 */
export interface AnyAction extends ActionTraits {
  /** For the JSON Schema and the README checks; validation goes through `parseConfig`. */
  readonly configSchema: z.ZodType;
  parseConfig(raw: unknown): ActionConfigParse;
}

export type ActionConfigParse = { success: true; config: ParsedActionConfig } | { success: false; error: z.ZodError };

/** A config that passed its action's schema, with the action's steps bound to it. Lives only while compiling. */
export interface ParsedActionConfig {
  readonly needsRequestBody: boolean;
  readonly alwaysTerminates: boolean;
  compile(context: ActionCompileContext): ActionRunner;
}

/** Runs one compiled action for one request. Returns synchronously when it needs no I/O. */
export type ActionRunner = (context: PolicyContext, ports: PolicyPorts) => ActionResult | Promise<ActionResult>;

export interface ActionResult {
  outcome: Outcome;
  /** A short, secret-free description for the decision trace. */
  detail?: string;
}

export type ConstantField =
  | { readonly known: true; readonly text: string; readonly fromSecrets: boolean }
  | { readonly known: false; readonly reason: string };

/** What an action's compile step may use; problems are collected as issues instead of thrown. */
export interface ActionCompileContext {
  readonly phase: Phase;
  readonly endpointType: EndpointType;
  /** Stable id of this action in the policy (phase, rule, index), for state such as circuit breakers. */
  readonly actionId: string;
  readonly internalEndpointUrls: ReadonlySet<string> | undefined;
  /** Compiles a `${}`-interpolated config string found at `field` (relative to the action's config). */
  template(text: string, field: DocumentPath): CompiledTemplate;
  /**
   * A `${}` string computed once, when the configuration is applied (basic-auth credentials, jwt-validation issuers
   * and keys), so requests do not interpolate it: literals, `secrets.get(…)` and functions of them, never the request.
   * `unresolved` when it cannot be computed here: validation without secret values, a secret this data plane lacks,
   * or a template with errors (reported as issues).
   */
  constant(text: string, field: DocumentPath): ConstantField;
  /** Compiles a raw CEL expression found at `field`. */
  expression(source: string, field: DocumentPath): CompiledExpression | undefined;
  /** Compiles an mcp-tools predicate over one list item (`tool`, `prompt` or `resource`). */
  itemExpression(source: string, field: DocumentPath, variable: McpItemVariable): CompiledItemExpression | undefined;
  issue(code: ValidationErrorCode, message: string, field: DocumentPath, severity?: IssueSeverity): void;
  /**
   * A field computed from secret values that the values do not fit. The action still compiles (and fails closed at
   * runtime); this records why, without the value, for `checkSecretValues`.
   */
  secretFieldUnusable(message: string, field: DocumentPath): void;
}

/**
 * Seals an action's config type: `Config` stays inside the closures built here, which receive only what the action's
 * own schema produced, so callers need neither the type nor a cast.
 */
export function defineAction<Config>(definition: ActionDefinition<Config>): AnyAction {
  const { configSchema, needsRequestBody, alwaysTerminates, compile, ...traits } = definition;
  return Object.freeze({
    ...traits,
    configSchema,
    parseConfig(raw: unknown): ActionConfigParse {
      const result = configSchema.safeParse(raw);
      if (!result.success) return { success: false, error: result.error };
      const config = result.data;
      return {
        success: true,
        config: {
          needsRequestBody: needsRequestBody?.(config) ?? false,
          alwaysTerminates: alwaysTerminates(config),
          compile: (context) => compile(config, context),
        },
      };
    },
  });
}
