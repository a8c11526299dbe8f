import { describe, expect, it } from 'vitest';
import { unifiedDiff } from './text-diff.js';

const labels = { old: 'a', new: 'b' };

/** The texts' lines, one per array entry, each ending in a newline. */
const text = (lines: readonly string[]): string => lines.map((line) => `${line}\n`).join('');

describe('unifiedDiff: the edit script', () => {
  it('finds the shortest edit script, keeping common lines', () => {
    expect(unifiedDiff(text(['a', 'b', 'c', 'd']), text(['a', 'x', 'c', 'd', 'e']), labels)).toEqual([
      '--- a',
      '+++ b',
      '@@ -1,4 +1,5 @@',
      ' a',
      '-b',
      '+x',
      ' c',
      ' d',
      '+e',
    ]);
  });

  it('handles empty sides', () => {
    expect(unifiedDiff('', text(['a']), labels)).toEqual(['--- a', '+++ b', '@@ -0,0 +1 @@', '+a']);
    expect(unifiedDiff(text(['a']), '', labels)).toEqual(['--- a', '+++ b', '@@ -1 +0,0 @@', '-a']);
    expect(unifiedDiff('', '', labels)).toEqual([]);
  });

  it('replays to the new text for arbitrary edits', () => {
    const a = 'the quick brown fox jumps over the lazy dog and runs away'.split(' ');
    const b = 'a quick red fox jumps over the dog and then runs far away'.split(' ');
    // All context, so the one hunk holds every line of both texts.
    const body = unifiedDiff(text(a), text(b), labels, a.length + b.length).slice(3);
    expect(body.filter((line) => !line.startsWith('+')).map((line) => line.slice(1))).toEqual(a);
    expect(body.filter((line) => !line.startsWith('-')).map((line) => line.slice(1))).toEqual(b);
    // The longest common subsequence: quick fox jumps over the dog and runs away.
    expect(body.filter((line) => line.startsWith(' '))).toHaveLength(9);
  });
});

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('x\n', 'x\n', labels)).toEqual([]);
  });

  it('prints one hunk with three lines of context and correct ranges', () => {
    const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].join('\n') + '\n';
    const after = before.replace('5\n', 'five\n');
    expect(unifiedDiff(before, after, labels)).toEqual([
      '--- a',
      '+++ b',
      '@@ -2,7 +2,7 @@',
      ' 2',
      ' 3',
      ' 4',
      '-5',
      '+five',
      ' 6',
      ' 7',
      ' 8',
    ]);
  });

  it('splits distant changes into separate hunks and merges near ones', () => {
    const lines = Array.from({ length: 30 }, (_, index) => `line ${index + 1}`);
    const changed = [...lines];
    changed[1] = 'changed 2';
    changed[4] = 'changed 5';
    changed[25] = 'changed 26';
    const diff = unifiedDiff(`${lines.join('\n')}\n`, `${changed.join('\n')}\n`, labels);
    expect(diff.filter((line) => line.startsWith('@@'))).toEqual(['@@ -1,8 +1,8 @@', '@@ -23,7 +23,7 @@']);
  });

  it('names the line before an empty range (pure insertion at the top)', () => {
    expect(unifiedDiff('', 'new\n', labels)).toEqual(['--- a', '+++ b', '@@ -0,0 +1 @@', '+new']);
  });

  it('shows a missing final newline as a difference', () => {
    expect(unifiedDiff('a\nb', 'a\nb\n', labels)).toEqual([
      '--- a',
      '+++ b',
      '@@ -1,2 +1,2 @@',
      ' a',
      '-b\n\\ No newline at end of file',
      '+b',
    ]);
  });

  it('falls back to a full replacement when the texts share nothing and are large', () => {
    const before = Array.from({ length: 1_500 }, (_, index) => `old ${index}`).join('\n');
    const after = Array.from({ length: 1_500 }, (_, index) => `new ${index}`).join('\n');
    const diff = unifiedDiff(before, after, labels);
    expect(diff.filter((line) => line.startsWith('-'))).toHaveLength(1_501);
    expect(diff.filter((line) => line.startsWith('+'))).toHaveLength(1_501);
  });
});
