// Human output: aligned tables, masked secrets, policy issues in compiler format. Pure functions returning text.

/** What a command writes to. main.ts binds it to the process; tests bind it to buffers. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export function printLines(write: (text: string) => void, lines: readonly string[]): void {
  if (lines.length > 0) write(`${lines.join('\n')}\n`);
}

export function printJson(io: Io, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

const MAX_CELL_WIDTH = 60;

function fitCell(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > MAX_CELL_WIDTH ? `${oneLine.slice(0, MAX_CELL_WIDTH - 1)}…` : oneLine;
}

/** Columns padded to their widest cell, two spaces apart, no trailing spaces; long cells are cut with an ellipsis. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const cells = [headers, ...rows].map((row) => row.map(fitCell));
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** `gh_3kq8v2mx_<secret>` → `gh_3kq8v2mx_…` (the prefix the dashboard shows); anything else keeps 4 characters. */
export function maskApiKey(key: string): string {
  const match = /^(gh_[0-9a-z]+)_/i.exec(key);
  if (match?.[1] !== undefined) return `${match[1]}_…`;
  return key.length <= 8 ? '…' : `${key.slice(0, 4)}…`;
}

export interface PositionedIssue {
  code: string;
  message: string;
  line: number;
  column: number;
  severity: 'error' | 'warning';
}

/** `policy.yaml:3:5 POLICY_NOT_TERMINATING message` (warnings end with `(warning)`), as editors and CI annotators parse. */
export function formatIssue(file: string, issue: PositionedIssue): string {
  const suffix = issue.severity === 'warning' ? ' (warning)' : '';
  return `${file}:${issue.line}:${issue.column} ${issue.code} ${issue.message}${suffix}`;
}

export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

export function quote(value: string | null | undefined): string {
  return value === null || value === undefined ? '(none)' : JSON.stringify(value);
}
