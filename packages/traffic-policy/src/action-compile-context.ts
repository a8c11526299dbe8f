import type { ActionCompileContext, ConstantField } from './action.js';
import type { CelRequestScope } from './cel-functions.js';
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
      walk.noteSecretReferences(result.template.secretReferences, path);
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
      walk.noteSecretReferences(check.expression.secretReferences, path);
      return check.expression;
    }
    walk.reportInvalidExpression(path, check);
    return undefined;
  }

  constant(text: string, field: DocumentPath): ConstantField {
    const before = this.#use().walk.issues.length;
    const template = this.template(text, field);
    const { walk, configPath } = this.#use();
    if (walk.issues.slice(before).some((issue) => issue.severity === 'error'))
      return { known: false, reason: 'the field has errors' };
    if (template.isStatic) return { known: true, text: template.text, fromSecrets: false };
    const path = [...configPath, ...field];
    const requestVariables = [...template.variables];
    if (requestVariables.length > 0) {
      walk.report(
        'POLICY_INTERPOLATION_INVALID',
        `Invalid interpolation: this field is computed once, when the configuration is applied, so its \`\${}\` may use secrets.get('vault', 'name') and functions of literals but not ${requestVariables.join(', ')}.`,
        path,
      );
      return { known: false, reason: 'the field reads the request' };
    }
    const scope = new OutsideRequestScope(walk.secrets);
    let rendered: string;
    try {
      rendered = template.renderOutsideRequest(scope);
    } catch {
      if (scope.readRequest) {
        walk.report(
          'POLICY_INTERPOLATION_INVALID',
          'Invalid interpolation: this field is computed once, when the configuration is applied, so its `${}` cannot read request headers, query parameters or cookies.',
          path,
        );
        return { known: false, reason: 'the field reads the request' };
      }
      if (walk.secrets === undefined || scope.missing !== undefined)
        return {
          known: false,
          reason: scope.missing ?? 'secret values are given only when the configuration is applied',
        };
      // Never the message itself: a CEL error can quote the value it failed on, and that is a secret.
      walk.report(
        'POLICY_INTERPOLATION_INVALID',
        'Invalid interpolation: this field could not be computed from its secrets (for example json.decode of a value that is not JSON).',
        path,
      );
      return { known: false, reason: 'the field could not be computed' };
    }
    if (walk.secrets === undefined)
      return { known: false, reason: 'secret values are given only when the configuration is applied' };
    return { known: true, text: rendered, fromSecrets: template.secretReferences.length > 0 };
  }

  secretFieldUnusable(message: string, field: DocumentPath): void {
    const { walk, configPath } = this.#use();
    walk.noteUnusableSecretField([...configPath, ...field], message);
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

/**
 * The scope of a field computed when the configuration is applied: secrets come from the given values (a placeholder
 * while only validating, so the rest of the template is still exercised) and any request lookup fails.
 */
class OutsideRequestScope implements CelRequestScope {
  readRequest = false;
  missing: string | undefined;

  constructor(private readonly secrets: { get(vault: string, name: string): string | undefined } | undefined) {}

  secret(vault: string, name: string): string | undefined {
    if (this.secrets === undefined) return 'secret-placeholder';
    const value = this.secrets.get(vault, name);
    if (value === undefined) this.missing = `secret ${vault}/${name} is not available`;
    return value;
  }

  requestHeader(): never {
    return this.#request();
  }
  responseHeader(): never {
    return this.#request();
  }
  queryParam(): never {
    return this.#request();
  }
  requestCookies(): never {
    return this.#request();
  }
  responseCookies(): never {
    return this.#request();
  }

  #request(): never {
    this.readRequest = true;
    throw new Error('this field cannot read the request');
  }
}
