// A line diff (Myers' O(ND) algorithm) and its unified rendering, for policy changes in `diff` / `apply` plans.

export interface DiffOperation {
  kind: 'equal' | 'delete' | 'insert';
  line: string;
}

const NO_NEWLINE = '\n\\ No newline at end of file';
/** Beyond this many edits the shortest script is not worth its memory: show a full replacement instead. */
const MAX_EDIT_DISTANCE = 2_000;

/** Lines of a text; a last line without a newline carries the `\ No newline at end of file` marker, so it differs. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  else lines[lines.length - 1] = `${lines.at(-1) ?? ''}${NO_NEWLINE}`;
  return lines;
}

function shortestEditScript(a: readonly string[], b: readonly string[]): DiffOperation[] | null {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= Math.min(max, MAX_EDIT_DISTANCE); d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && (v[k - 1 + offset] ?? 0) < (v[k + 1 + offset] ?? 0));
      let x = down ? (v[k + 1 + offset] ?? 0) : (v[k - 1 + offset] ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[k + offset] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace, offset);
    }
  }
  return null;
}

function backtrack(a: readonly string[], b: readonly string[], trace: Int32Array[], offset: number): DiffOperation[] {
  const operations: DiffOperation[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const v = trace[d] ?? new Int32Array();
    const k = x - y;
    const down = k === -d || (k !== d && (v[k - 1 + offset] ?? 0) < (v[k + 1 + offset] ?? 0));
    const previousK = down ? k + 1 : k - 1;
    const previousX = v[previousK + offset] ?? 0;
    const previousY = previousX - previousK;
    while (x > previousX && y > previousY) {
      operations.push({ kind: 'equal', line: a[x - 1] ?? '' });
      x--;
      y--;
    }
    if (d > 0) {
      if (x === previousX) operations.push({ kind: 'insert', line: b[y - 1] ?? '' });
      else operations.push({ kind: 'delete', line: a[x - 1] ?? '' });
    }
    x = previousX;
    y = previousY;
  }
  return operations.reverse();
}

/** The operations turning `a` into `b`: equal lines kept, as few deletions and insertions as possible. */
export function diffLines(a: readonly string[], b: readonly string[]): DiffOperation[] {
  // Policies change in a few places; trimming the common ends keeps the quadratic part tiny.
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < a.length - prefix &&
    suffix < b.length - prefix &&
    a[a.length - 1 - suffix] === b[b.length - 1 - suffix]
  ) {
    suffix++;
  }
  const middleA = a.slice(prefix, a.length - suffix);
  const middleB = b.slice(prefix, b.length - suffix);
  const middle = shortestEditScript(middleA, middleB) ?? [
    ...middleA.map((line): DiffOperation => ({ kind: 'delete', line })),
    ...middleB.map((line): DiffOperation => ({ kind: 'insert', line })),
  ];
  return [
    ...a.slice(0, prefix).map((line): DiffOperation => ({ kind: 'equal', line })),
    ...middle,
    ...a.slice(a.length - suffix).map((line): DiffOperation => ({ kind: 'equal', line })),
  ];
}

function hunkRange(start: number, count: number): string {
  // Unified-diff convention: an empty range names the line before it.
  const first = count === 0 ? start : start + 1;
  return count === 1 ? `${first}` : `${first},${count}`;
}

/** `--- old` / `+++ new` / `@@ … @@` hunks with `context` lines around changes; [] when the texts are equal. */
export function unifiedDiff(
  oldText: string,
  newText: string,
  labels: { old: string; new: string },
  context = 3,
): string[] {
  if (oldText === newText) return [];
  const operations = diffLines(splitLines(oldText), splitLines(newText));
  const changed = operations.flatMap((operation, index) => (operation.kind === 'equal' ? [] : [index]));
  const lines = [`--- ${labels.old}`, `+++ ${labels.new}`];
  let groupStart = 0;
  while (groupStart < changed.length) {
    let groupEnd = groupStart;
    while (
      groupEnd + 1 < changed.length &&
      (changed[groupEnd + 1] ?? 0) - (changed[groupEnd] ?? 0) <= 2 * context + 1
    ) {
      groupEnd++;
    }
    const from = Math.max(0, (changed[groupStart] ?? 0) - context);
    const to = Math.min(operations.length, (changed[groupEnd] ?? 0) + context + 1);
    const before = operations.slice(0, from);
    const inside = operations.slice(from, to);
    const oldBefore = before.filter((operation) => operation.kind !== 'insert').length;
    const newBefore = before.filter((operation) => operation.kind !== 'delete').length;
    const oldCount = inside.filter((operation) => operation.kind !== 'insert').length;
    const newCount = inside.filter((operation) => operation.kind !== 'delete').length;
    lines.push(`@@ -${hunkRange(oldBefore, oldCount)} +${hunkRange(newBefore, newCount)} @@`);
    for (const operation of inside) {
      const sign = operation.kind === 'equal' ? ' ' : operation.kind === 'delete' ? '-' : '+';
      lines.push(`${sign}${operation.line}`);
    }
    groupStart = groupEnd + 1;
  }
  return lines;
}
