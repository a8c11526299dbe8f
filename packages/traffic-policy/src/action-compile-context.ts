import type { ActionCompileContext } from './action.js';
import {
  compileExpression,
  compileItemExpression,
  type CompiledExpression,
  type CompiledItemExpression,
  type McpItemVariable,
} from './cel-environment.js';
import type { EndpointType } from './compiled-policy.js';
import type { Phase } from './context.js';
import type { IssueSeverity, ValidationErrorCode } from './errors.js';
import { compileTemplate, staticTemplate, type CompiledTemplate } from './interpolation.js';
import type { DocumentPath } from './parse.js';
import type { PolicyWalk } from './policy-walk.js';

/**
 * The context an action compiles with. Runners are closures created inside `compile`, and V8 keeps a closure's whole
 * scope alive, so a runner that mentions `context` pins it for as long as the policy runs. It is therefore a class
 * (methods on the prototype, not five closures per action), and everything heavy — the walk with the parsed document
 * and the issue list, the config path — sits in a holder that `release()` empties once the action has compiled.
 */
export class ActionCompilation implements ActionCompileContext {
  #held: { walk: PolicyWalk; configPath: DocumentPath } | undefined;

  constructor(
    walk: PolicyWalk,
    readonly phase: Phase,
    readonly endpointType: EndpointType,
    readonly internalEndpointUrls: ReadonlySet<string> | undefined,
    configPath: DocumentPath,
    readonly actionId: string,
  ) {
    this.#held = { walk, configPath };
  }

  release(): void {
    this.#held = undefined;
  }

  template(text: string, field: DocumentPath): CompiledTemplate {
    const { walk, configPath } = this.#use();
    const path = [...configPath, ...field];
    walk.noteSource(text);
    const result = compileTemplate(text, this.phase);
    if (result.ok) {
      if (!result.template.isStatic) walk.warnAbsentKeys(text, path, `${walk.ruleGuards}\n${text}`);
      return result.template;
    }
    for (const problem of result.problems) {
      walk.reportInString(
        'POLICY_INTERPOLATION_INVALID',
        `Invalid interpolation: ${problem.message}`,
        path,
        problem.offset,
      );
    }
    return staticTemplate(text);
  }

  expression(source: string, field: DocumentPath): CompiledExpression | undefined {
    const { walk, configPath } = this.#use();
    const path = [...configPath, ...field];
    walk.noteSource(source);
    const check = compileExpression(source, this.phase);
    if (check.ok) {
      walk.warnAbsentKeys(source, path, `${walk.ruleGuards}\n${source}`);
      return check.expression;
    }
    walk.reportInvalidExpression(path, check);
    return undefined;
  }

  itemExpression(source: string, field: DocumentPath, variable: McpItemVariable): CompiledItemExpression | undefined {
    const { walk, configPath } = this.#use();
    const check = compileItemExpression(source, variable);
    if (check.ok) return check.expression;
    walk.reportInvalidExpression([...configPath, ...field], check);
    return undefined;
  }

  issue(code: ValidationErrorCode, message: string, field: DocumentPath, severity: IssueSeverity = 'error'): void {
    const { walk, configPath } = this.#use();
    walk.report(code, message, [...configPath, ...field], severity);
  }

  #use() {
    if (this.#held === undefined) throw new Error(`the compile context of ${this.actionId} was used after compilation`);
    return this.#held;
  }
}
