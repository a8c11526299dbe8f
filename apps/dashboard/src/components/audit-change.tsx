import { Box, Code, Stack, Table, Text } from '@mantine/core';

/**
 * An audit event's before/after as a diff a person can read: one row per field that changed (nested objects by
 * dotted path), multi-line text such as a policy shown line by line with additions and removals marked, instead of
 * two JSON documents with escaped newlines.
 */

type Leaf = string | number | boolean | null;

/** Object → dotted path → leaf value; arrays of leaves stay one value (shown as a list), others are walked. */
export function flattenSnapshot(value: unknown, prefix = '', into = new Map<string, Leaf | Leaf[]>()) {
  if (value === null || value === undefined) {
    if (prefix !== '') into.set(prefix, null);
    return into;
  }
  if (Array.isArray(value)) {
    if (value.every((item) => item === null || typeof item !== 'object')) into.set(prefix, value as Leaf[]);
    else value.forEach((item, index) => flattenSnapshot(item, `${prefix}[${index}]`, into));
    return into;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix !== '') into.set(prefix, '{}');
    for (const [key, child] of entries) flattenSnapshot(child, prefix === '' ? key : `${prefix}.${key}`, into);
    return into;
  }
  into.set(prefix, value as Leaf);
  return into;
}

export interface FieldChange {
  path: string;
  before: Leaf | Leaf[] | undefined;
  after: Leaf | Leaf[] | undefined;
}

/** The fields whose value differs (added, removed or changed), in the order they first appear. */
export function changedFields(before: unknown, after: unknown): FieldChange[] {
  const old = flattenSnapshot(before);
  const next = flattenSnapshot(after);
  const paths = [...new Set([...old.keys(), ...next.keys()])];
  return paths
    .map((path) => ({ path, before: old.get(path), after: next.get(path) }))
    .filter((change) => JSON.stringify(change.before) !== JSON.stringify(change.after));
}

export interface DiffLine {
  kind: 'same' | 'added' | 'removed';
  text: string;
}

/** A line diff by longest common subsequence; audit texts (policies) are small enough for the quadratic table. */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length * b.length > 4_000_000) {
    return [
      ...a.map((text) => ({ kind: 'removed' as const, text })),
      ...b.map((text) => ({ kind: 'added' as const, text })),
    ];
  }
  const lengths = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i]![j] = a[i] === b[j] ? lengths[i + 1]![j + 1]! + 1 : Math.max(lengths[i + 1]![j]!, lengths[i]![j + 1]!);
    }
  }
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      lines.push({ kind: 'same', text: a[i]! });
      i++;
      j++;
    } else if (lengths[i + 1]![j]! >= lengths[i]![j + 1]!) lines.push({ kind: 'removed', text: a[i++]! });
    else lines.push({ kind: 'added', text: b[j++]! });
  }
  while (i < a.length) lines.push({ kind: 'removed', text: a[i++]! });
  while (j < b.length) lines.push({ kind: 'added', text: b[j++]! });
  return lines;
}

function formatValue(value: Leaf | Leaf[] | undefined): string {
  if (value === undefined) return '—';
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.map((item) => String(item)).join(', ');
  if (value === null) return '—';
  if (value === '') return '(empty)';
  return String(value);
}

const isMultiline = (value: unknown): value is string => typeof value === 'string' && value.includes('\n');

const lineStyle: Record<DiffLine['kind'], { background?: string; marker: string }> = {
  same: { marker: ' ' },
  added: { background: 'var(--mantine-color-green-light)', marker: '+' },
  removed: { background: 'var(--mantine-color-red-light)', marker: '−' },
};

function TextDiff({ before, after }: { before: string; after: string }) {
  return (
    <Box
      component="pre"
      ff="monospace"
      fz="xs"
      m={0}
      p="xs"
      style={{ overflowX: 'auto', border: '1px solid var(--mantine-color-default-border)', borderRadius: 4 }}
      data-testid="audit-text-diff"
      // It scrolls sideways on narrow screens, so keyboard users must be able to focus it.
      tabIndex={0}
      aria-label="Line changes"
    >
      {diffLines(before, after).map((line, index) => (
        <div key={index} style={{ background: lineStyle[line.kind].background }} data-diff={line.kind}>
          <span>{lineStyle[line.kind].marker} </span>
          {line.text}
        </div>
      ))}
    </Box>
  );
}

export function AuditChange({ before, after }: { before: unknown; after: unknown }) {
  const changes = changedFields(before, after);
  if (changes.length === 0) return <Text size="sm">No field changed.</Text>;
  const created = before === null || before === undefined;
  const deleted = after === null || after === undefined;
  return (
    <Stack gap="xs" data-testid="audit-change">
      <Table.ScrollContainer minWidth={320}>
        <Table withTableBorder verticalSpacing={4} fz="sm">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Field</Table.Th>
              {created ? null : <Table.Th>Before</Table.Th>}
              {deleted ? null : <Table.Th>After</Table.Th>}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {changes.map((change) =>
              isMultiline(change.before) || isMultiline(change.after) ? (
                <Table.Tr key={change.path}>
                  <Table.Td>
                    <Code>{change.path}</Code>
                  </Table.Td>
                  <Table.Td colSpan={created || deleted ? 1 : 2}>
                    <TextDiff
                      before={typeof change.before === 'string' ? change.before : ''}
                      after={typeof change.after === 'string' ? change.after : ''}
                    />
                  </Table.Td>
                </Table.Tr>
              ) : (
                <Table.Tr key={change.path}>
                  <Table.Td>
                    <Code>{change.path}</Code>
                  </Table.Td>
                  {created ? null : (
                    <Table.Td style={{ wordBreak: 'break-word' }}>{formatValue(change.before)}</Table.Td>
                  )}
                  {deleted ? null : (
                    <Table.Td style={{ wordBreak: 'break-word' }}>{formatValue(change.after)}</Table.Td>
                  )}
                </Table.Tr>
              ),
            )}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Stack>
  );
}
