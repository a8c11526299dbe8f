import type { Phase } from '@gatehouse/traffic-policy';

/** Where the cursor is inside a CEL expression of a policy: the phase it runs in and the expression up to the cursor. */
export interface CelCursor {
  phase: Phase;
  textBeforeCursor: string;
}

const phaseOfKey: Record<string, Phase> = {
  on_tcp_connect: 'on_tcp_connect',
  on_http_request: 'on_http_request',
  on_http_response: 'on_http_response',
  on_event_stream_message: 'on_event_stream_message',
  inbound: 'on_http_request',
  outbound: 'on_http_response',
};

const indentOf = (line: string) => /^ */.exec(line)?.[0].length ?? 0;

/**
 * Finds the CEL expression the cursor is in: an item of a rule's `expressions:` list (block or inline), or a `${…}`
 * interpolation in any string. Line-based on purpose: it runs on every keystroke and must work on the half-typed,
 * often unparsable YAML the user is in the middle of writing. `column` is 1-based, like Monaco's.
 */
export function celCursorAt(lines: readonly string[], lineNumber: number, column: number): CelCursor | null {
  const line = lines[lineNumber - 1] ?? '';
  const before = line.slice(0, column - 1);
  const phase = phaseAbove(lines, lineNumber);
  const interpolation = before.lastIndexOf('${');
  if (interpolation !== -1 && !before.slice(interpolation).includes('}')) {
    return { phase, textBeforeCursor: before.slice(interpolation + 2) };
  }
  const inline = /expressions:\s*\[(.*)$/.exec(before);
  if (inline) return { phase, textBeforeCursor: unquoted(lastListItem(inline[1] ?? '')) };
  const item = /^(\s*)-\s+(.*)$/.exec(before);
  if (!item) return null;
  const itemIndent = item[1]?.length ?? 0;
  for (let index = lineNumber - 2; index >= 0; index--) {
    const above = lines[index] ?? '';
    if (above.trim() === '' || above.trim().startsWith('#')) continue;
    const indent = indentOf(above);
    if (indent < itemIndent || (indent === itemIndent && !above.trim().startsWith('-'))) {
      return /^\s*(-\s+)?expressions:\s*$/.test(above) ? { phase, textBeforeCursor: unquoted(item[2] ?? '') } : null;
    }
    if (indent === itemIndent) continue;
  }
  return null;
}

/** The phase key above the cursor (a top-level key); requests when none is found yet. */
function phaseAbove(lines: readonly string[], lineNumber: number): Phase {
  for (let index = lineNumber - 1; index >= 0; index--) {
    const key = /^([a-z_]+):/.exec(lines[index] ?? '')?.[1];
    if (key !== undefined && Object.hasOwn(phaseOfKey, key)) return phaseOfKey[key] ?? 'on_http_request';
  }
  return 'on_http_request';
}

/** Drops the YAML quote that opens a scalar, so `- "req.` completes `req.`. */
function unquoted(text: string): string {
  return /^["']/.test(text) ? text.slice(1) : text;
}

function lastListItem(text: string): string {
  return (text.split(/,\s*(?=["'])/).at(-1) ?? '').trimStart();
}

/**
 * Inside `secrets.get('…` the vault names, and inside `secrets.get('vault', '…` that vault's secret names (from the
 * Vaults API, names only). `prefix` is what is already typed of the name; null anywhere else.
 */
export function secretNameCompletions(
  textBeforeCursor: string,
  known: ReadonlyMap<string, readonly string[]>,
): { prefix: string; names: string[] } | null {
  const secret = /secrets\.get\(\s*(['"])([\w-]+)\1\s*,\s*['"]([\w-]*)$/.exec(textBeforeCursor);
  if (secret !== null) {
    const prefix = secret[3]!;
    return { prefix, names: (known.get(secret[2]!) ?? []).filter((name) => name.startsWith(prefix)) };
  }
  const vault = /secrets\.get\(\s*['"]([\w-]*)$/.exec(textBeforeCursor);
  if (vault !== null) {
    const prefix = vault[1]!;
    return { prefix, names: [...known.keys()].filter((name) => name.startsWith(prefix)).sort() };
  }
  return null;
}
