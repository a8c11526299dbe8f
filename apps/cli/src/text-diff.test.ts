import { describe, expect, it } from 'vitest';
import { diffLines, splitLines, unifiedDiff } from './text-diff.js';

const labels = { old: 'a', new: 'b' };

describe('diffLines', () => {
  it('finds the shortest edit script, keeping common lines', () => {
    const operations = diffLines(['a', 'b', 'c', 'd'], ['a', 'x', 'c', 'd', 'e']);
    expect(operations).toEqual([
      { kind: 'equal', line: 'a' },
      { kind: 'delete', line: 'b' },
      { kind: 'insert', line: 'x' },
      { kind: 'equal', line: 'c' },
      { kind: 'equal', line: 'd' },
      { kind: 'insert', line: 'e' },
    ]);
  });

  it('handles empty sides', () => {
    expect(diffLines([], ['a'])).toEqual([{ kind: 'insert', line: 'a' }]);
    expect(diffLines(['a'], [])).toEqual([{ kind: 'delete', line: 'a' }]);
    expect(diffLines([], [])).toEqual([]);
  });

  it('replays to the new text for arbitrary edits', () => {
    const a = 'the quick brown fox jumps over the lazy dog and runs away'.split(' ');
    const b = 'a quick red fox jumps over the dog and then runs far away'.split(' ');
    const operations = diffLines(a, b);
    expect(operations.filter((operation) => operation.kind !== 'insert').map((operation) => operation.line)).toEqual(a);
    expect(operations.filter((operation) => operation.kind !== 'delete').map((operation) => operation.line)).toEqual(b);
    // The longest common subsequence: quick fox jumps over the dog and runs away.
    expect(operations.filter((operation) => operation.kind === 'equal')).toHaveLength(9);
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
    expect(splitLines('a\nb')).toEqual(['a', 'b\n\\ No newline at end of file']);
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
