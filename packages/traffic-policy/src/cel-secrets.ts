/**
 * `secrets.get('vault', 'name')`, ngrok's macro for a value kept in a vault (issue 15). Like the other namespaces it is
 * a method of a constant (`secrets` of type `SecretsNamespace`), so the checker types it as `string` and the editor
 * completes it without a server. The value comes from the policy's secret values, bound when the configuration is
 * applied (`PolicyOptions.secrets`); the scope of the evaluation looks it up.
 *
 * Both arguments must be string literals: the control plane has to know every reference to propagate only the secrets
 * in use, to refuse deleting a secret a live policy names, and to report a missing one at save time.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { walkCelAst } from './cel-cost.js';

export class SecretsNamespace {}

/** What the evaluation scope answers for `secrets.get`; undefined when the secret is not available. */
export interface CelSecretScope {
  secret(vault: string, name: string): string | undefined;
}

export interface SecretReference {
  vault: string;
  name: string;
  /** Offset in the expression source of the `secrets.get(…)` call. */
  offset: number;
}

/** The key of a secret in maps of values: vault and name cannot contain NUL, so the pair is unambiguous. */
export function secretKey(vault: string, name: string): string {
  return `${vault}\u0000${name}`;
}

export function registerSecretsNamespace(env: Environment, holder: { current: CelSecretScope | undefined }): void {
  env
    .registerType('SecretsNamespace', { ctor: SecretsNamespace })
    .registerConstant('secrets', 'SecretsNamespace', new SecretsNamespace())
    .registerFunction(
      'SecretsNamespace.get(string, string): string',
      (_: SecretsNamespace, vault: string, name: string) => {
        const value = holder.current?.secret(vault, name);
        // Fails the evaluation (POLICY_RUNTIME_ERROR, fail closed): an empty string would be a password that matches ''.
        if (value === undefined) throw new Error(`secret ${vault}/${name} is not available to this policy`);
        return value;
      },
    );
}

interface Node {
  op: string;
  args: unknown;
  start: number;
}

/**
 * The `secrets.get` calls of a checked tree, or the reason one cannot be resolved before the request: arguments that
 * are not string literals, or `secrets` used other than as the receiver of `get`.
 */
export function findSecretReferences(
  ast: unknown,
): { ok: true; references: SecretReference[] } | { ok: false; message: string; offset: number } {
  const references: SecretReference[] = [];
  const receivers = new Set<unknown>();
  const found: { problem?: { message: string; offset: number } } = {};
  walkCelAst(ast, (node) => {
    if (found.problem !== undefined || node.op !== 'rcall' || !Array.isArray(node.args)) return;
    const [method, receiver, argumentList] = node.args as [unknown, Node | undefined, unknown];
    if (receiver?.op !== 'id' || receiver.args !== 'secrets') return;
    receivers.add(receiver);
    if (method !== 'get') return;
    const literals = Array.isArray(argumentList) ? (argumentList as Node[]) : [];
    const texts = literals.map((argument) =>
      argument.op === 'value' && typeof argument.args === 'string' ? argument.args : undefined,
    );
    if (texts.length !== 2 || texts.some((text) => text === undefined)) {
      const offending = literals.find((_, index) => texts[index] === undefined);
      found.problem = {
        message:
          "secrets.get takes two string literals, secrets.get('vault', 'name'): the control plane must know every " +
          'secret a policy names to deliver it, rotate it and refuse deleting it while in use',
        offset: offending?.start ?? node.start,
      };
      return;
    }
    references.push({ vault: texts[0]!, name: texts[1]!, offset: node.start });
  });
  if (found.problem !== undefined) return { ok: false, ...found.problem };
  walkCelAst(ast, (node) => {
    if (found.problem === undefined && node.op === 'id' && node.args === 'secrets' && !receivers.has(node))
      found.problem = { message: "secrets is only used as secrets.get('vault', 'name')", offset: node.start };
  });
  const late = found.problem as { message: string; offset: number } | undefined;
  if (late !== undefined) return { ok: false, ...late };
  return { ok: true, references: references.sort((a, b) => a.offset - b.offset) };
}
