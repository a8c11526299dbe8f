import { describe, expect, it } from 'vitest';
import { ApiError } from '@gatehouse/api-client';
import { policyIssuesFromApiError, toPolicyMarkers } from './policy-issue-markers';

const lineLengths = [20, 5, 40];
const lineEndColumn = (line: number) => (lineLengths[line - 1] ?? 0) + 1;

describe('toPolicyMarkers', () => {
  it('underlines from the reported column to the end of the line', () => {
    const [marker] = toPolicyMarkers(
      [{ code: 'POLICY_EXPRESSION_INVALID', message: 'Invalid expression', line: 3, column: 11, severity: 'error' }],
      lineLengths.length,
      lineEndColumn,
    );
    expect(marker).toEqual({
      severity: 'error',
      code: 'POLICY_EXPRESSION_INVALID',
      message: 'Invalid expression',
      startLineNumber: 3,
      startColumn: 11,
      endLineNumber: 3,
      endColumn: 41,
    });
  });

  it('keeps warnings as warnings', () => {
    const [marker] = toPolicyMarkers(
      [{ message: 'Unknown target', line: 1, column: 1, severity: 'warning' }],
      3,
      lineEndColumn,
    );
    expect(marker?.severity).toBe('warning');
  });

  it('puts issues without a position, or past the end, where they can be seen', () => {
    const markers = toPolicyMarkers(
      [{ message: 'Policy is required' }, { message: 'Past the end', line: 99, column: 99 }],
      lineLengths.length,
      lineEndColumn,
    );
    expect(markers.map((marker) => [marker.startLineNumber, marker.startColumn])).toEqual([
      [1, 1],
      [3, 40],
    ]);
    expect(markers.every((marker) => marker.endColumn > marker.startColumn)).toBe(true);
  });

  it('still draws something on an empty line', () => {
    const [marker] = toPolicyMarkers([{ message: 'Empty', line: 1, column: 1 }], 1, () => 1);
    expect(marker).toMatchObject({ startColumn: 1, endColumn: 2 });
  });
});

describe('policyIssuesFromApiError', () => {
  it('keeps every positioned detail of a refused policy as an error on its line', () => {
    const error = new ApiError(400, 'POLICY_INVALID', 'The Traffic Policy is invalid', [
      { code: 'POLICY_NOT_TERMINATING', message: 'Does not terminate', path: '/on_http_request/0', line: 2, column: 5 },
      { message: 'No position', path: 'traffic_policy' },
    ]);
    expect(policyIssuesFromApiError(error)).toEqual([
      {
        code: 'POLICY_NOT_TERMINATING',
        message: 'Does not terminate',
        path: '/on_http_request/0',
        line: 2,
        column: 5,
        severity: 'error',
      },
    ]);
  });

  it('shows a refusal without positions on line 1', () => {
    const error = new ApiError(400, 'POLICY_REQUIRED', 'A cloud endpoint needs a policy');
    expect(policyIssuesFromApiError(error)).toEqual([
      { code: 'POLICY_REQUIRED', message: 'A cloud endpoint needs a policy', line: 1, column: 1, severity: 'error' },
    ]);
  });
});
