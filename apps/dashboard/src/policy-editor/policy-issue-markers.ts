import type { ApiError } from '@gatehouse/api-client';

/** The shape of a policy problem, whether the browser's engine or the API found it. */
export interface PolicyIssueLike {
  code?: string;
  message: string;
  line?: number;
  column?: number;
  severity?: 'error' | 'warning';
}

/** Monaco's marker fields, without importing Monaco (so this stays testable in plain Node). */
export interface PolicyMarker {
  severity: 'error' | 'warning';
  message: string;
  code?: string;
  startLineNumber: number;
  startColumn: number;
  endLineNumber: number;
  endColumn: number;
}

/**
 * Places each issue on its line: from the reported column to the end of that line, so the squiggle is visible even
 * when the column points at the start of a long expression. Issues without a position go on line 1.
 */
export function toPolicyMarkers(
  issues: readonly PolicyIssueLike[],
  lineCount: number,
  lineEndColumn: (line: number) => number,
): PolicyMarker[] {
  return issues.map((issue) => {
    const line = Math.min(Math.max(issue.line ?? 1, 1), Math.max(lineCount, 1));
    const endColumn = lineEndColumn(line);
    const startColumn = Math.min(Math.max(issue.column ?? 1, 1), Math.max(endColumn - 1, 1));
    return {
      severity: issue.severity ?? 'error',
      // Monaco prints the marker's `code` after its message itself; putting it in the message too showed it twice.
      message: issue.message,
      ...(issue.code ? { code: issue.code } : {}),
      startLineNumber: line,
      startColumn,
      endLineNumber: line,
      endColumn: Math.max(endColumn, startColumn + 1),
    };
  });
}

/**
 * The problems in an API refusal of a policy (400 POLICY_INVALID and friends): each positioned detail becomes an
 * issue on its line; a refusal without positions becomes one issue on line 1 so it is still seen in the editor.
 */
export function policyIssuesFromApiError(error: ApiError): PolicyIssueLike[] {
  const positioned = error.details.filter((detail) => detail.line !== undefined);
  if (positioned.length > 0) return positioned.map((detail) => ({ ...detail, severity: 'error' as const }));
  return [{ message: error.message, code: error.code, line: 1, column: 1, severity: 'error' }];
}
