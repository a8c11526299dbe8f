// Unified diffs of policy texts for `diff` / `apply` plans: jsdiff finds the changes and groups them into hunks; this
// file only prints them the way the plan shows them.
import { structuredPatch, type StructuredPatch } from 'diff';

type Hunk = StructuredPatch['hunks'][number];

/** Beyond this many edits the shortest script is not worth its cost: show a full replacement instead. */
const MAX_EDIT_LENGTH = 2_000;

function hunkRange(start: number, count: number): string {
  // jsdiff numbers an empty range from the line after it; the unified-diff convention names the line before it.
  if (count === 0) return `${start - 1},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}

function renderHunk(hunk: Hunk): string[] {
  const lines = [`@@ -${hunkRange(hunk.oldStart, hunk.oldLines)} +${hunkRange(hunk.newStart, hunk.newLines)} @@`];
  for (const line of hunk.lines) {
    // `\ No newline at end of file` stays on the line it qualifies, so `-b` and `+b` that differ only by their final
    // newline read as one changed line.
    if (line.startsWith('\\')) lines.push(`${lines.pop() ?? ''}\n${line}`);
    else lines.push(line);
  }
  return lines;
}

/** Every old line removed, then every new line added: what a diff of two unrelated texts shows anyway. */
function replacementHunk(oldText: string, newText: string): Hunk {
  // Diffing against an empty text costs one edit per line, so neither side can exceed the edit limit here.
  const [removal] = structuredPatch('', '', oldText, '', undefined, undefined, { context: 0 }).hunks;
  const [addition] = structuredPatch('', '', '', newText, undefined, undefined, { context: 0 }).hunks;
  return {
    oldStart: removal?.oldStart ?? 1,
    oldLines: removal?.oldLines ?? 0,
    newStart: addition?.newStart ?? 1,
    newLines: addition?.newLines ?? 0,
    lines: [...(removal?.lines ?? []), ...(addition?.lines ?? [])],
  };
}

/** `--- old` / `+++ new` / `@@ … @@` hunks with `context` lines around changes; [] when the texts are equal. */
export function unifiedDiff(
  oldText: string,
  newText: string,
  labels: { old: string; new: string },
  context = 3,
): string[] {
  if (oldText === newText) return [];
  const patch = structuredPatch(labels.old, labels.new, oldText, newText, undefined, undefined, {
    context,
    maxEditLength: MAX_EDIT_LENGTH,
  });
  const hunks = patch?.hunks ?? [replacementHunk(oldText, newText)];
  return [`--- ${labels.old}`, `+++ ${labels.new}`, ...hunks.flatMap(renderHunk)];
}
