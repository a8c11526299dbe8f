import { Environment } from '@marcbachmann/cel-js';

type Program = ReturnType<Environment['parse']>;
import { registerListAndStringExtensions } from '../cel-list-string-extensions.js';
import { celExpressionLimits } from '../limits.js';

/**
 * The CEL environment of `model_selection.strategy`: one variable, `ai`, with `ai.models` (the candidate models as
 * maps: id, provider_id, author_id, aliases, context_window, input_price, output_price, metadata, provider_metadata)
 * and `ai.providers` (id, metadata), plus ngrok's list helpers. Separate from the request environments because a
 * strategy judges models, not the request, and is checked on its own at save time.
 */
let environment: Environment | undefined;

function selectionEnvironment(): Environment {
  if (environment !== undefined) return environment;
  const created = new Environment({ homogeneousAggregateLiterals: false, limits: celExpressionLimits })
    .registerVariable('ai', 'map<string, dyn>', {
      description: 'ai.models: the candidate models; ai.providers: the providers that serve the request path.',
    })
    .registerFunction('list.random(): list', (list: readonly unknown[]) => shuffle(list))
    .registerFunction('list.only(list): list', (list: readonly unknown[], ids: readonly unknown[]) =>
      list.filter((item) => namesOf(item).some((name) => ids.includes(name))),
    )
    .registerFunction('list.ignore(list): list', (list: readonly unknown[], ids: readonly unknown[]) =>
      list.filter((item) => !namesOf(item).some((name) => ids.includes(name))),
    )
    .registerFunction('list.onlyProviders(list): list', (list: readonly unknown[], ids: readonly unknown[]) =>
      list.filter((item) => ids.includes(mapField(item, 'provider_id'))),
    )
    .registerFunction('list.ignoreProviders(list): list', (list: readonly unknown[], ids: readonly unknown[]) =>
      list.filter((item) => !ids.includes(mapField(item, 'provider_id'))),
    )
    .registerFunction('list.onlyAuthors(list): list', (list: readonly unknown[], ids: readonly unknown[]) =>
      list.filter((item) => ids.includes(mapField(item, 'author_id'))),
    )
    .registerFunction('list.ignoreAuthors(list): list', (list: readonly unknown[], ids: readonly unknown[]) =>
      list.filter((item) => !ids.includes(mapField(item, 'author_id'))),
    );
  registerListAndStringExtensions(created);
  return (environment = created);
}

/** Fisher–Yates over a copy: `ai.models.random()` splits traffic evenly across equivalent models. */
function shuffle(list: readonly unknown[]): unknown[] {
  const copy = [...list];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [copy[index], copy[other]] = [copy[other], copy[index]];
  }
  return copy;
}

function mapField(item: unknown, name: string): unknown {
  return item instanceof Map ? item.get(name) : undefined;
}

/** An item's id and its aliases (`only`/`ignore` match either, as ngrok's do). */
function namesOf(item: unknown): unknown[] {
  const aliases = mapField(item, 'aliases');
  return [mapField(item, 'id'), ...(Array.isArray(aliases) ? (aliases as unknown[]) : [])];
}

export interface CompiledStrategy {
  readonly source: string;
  /** The list the strategy returns; throws on runtime errors (the caller records them and tries the next one). */
  evaluate(ai: Map<string, unknown>): unknown;
}

export function compileStrategy(
  source: string,
): { ok: true; strategy: CompiledStrategy } | { ok: false; message: string; offset: number } {
  let program: Program;
  try {
    program = selectionEnvironment().parse(source);
    const check = program.check();
    if (!check.valid) {
      const error = check.error as { message?: string; range?: { start: number } } | undefined;
      return { ok: false, message: error?.message ?? 'invalid expression', offset: error?.range?.start ?? 0 };
    }
    const type = check.type ?? 'dyn';
    if (!type.startsWith('list') && type !== 'dyn')
      return { ok: false, message: `a strategy must return a list of models, not ${type}`, offset: 0 };
  } catch (error) {
    const celError = error as { message?: string; range?: { start: number } } | undefined;
    return { ok: false, message: celError?.message ?? String(error), offset: celError?.range?.start ?? 0 };
  }
  const bound = program;
  return { ok: true, strategy: { source, evaluate: (ai) => bound({ ai }) as unknown } };
}
