import { ApiError, clientErrorCodes } from '@gatehouse/api-client';
import { describe, expect, it } from 'vitest';
import { CliError, exitCodeOf, formatApiErrorDetail, formatError, UsageError } from './cli-errors.js';
import { formatIssue, maskApiKey, renderTable } from './output.js';

describe('renderTable', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(
      renderTable(
        ['ID', 'URL', 'DESCRIPTION'],
        [
          ['ep_1', 'https://a.example.com', ''],
          ['ep_22', 'https://b.example.internal', 'upstream'],
        ],
      ),
    ).toEqual([
      'ID     URL                         DESCRIPTION',
      'ep_1   https://a.example.com',
      'ep_22  https://b.example.internal  upstream',
    ]);
  });

  it('cuts long cells and flattens newlines so rows stay on one line', () => {
    const [, row] = renderTable(['A', 'B'], [['x'.repeat(80), 'two\nlines']]);
    expect(row).toBe(`${'x'.repeat(59)}…  two lines`);
  });
});

describe('maskApiKey', () => {
  it('keeps only the public prefix of a Gatehouse key', () => {
    const secret = 'gh_3kq8v2mx_V2hhdCBhIHNlY3JldCBpdCBpcyB0byBiZSBhIGtleQ';
    expect(maskApiKey(secret)).toBe('gh_3kq8v2mx_…');
    expect(maskApiKey(secret)).not.toContain('V2hh');
  });

  it('shows at most four characters of other tokens', () => {
    expect(maskApiKey('abcdefghijklmnop')).toBe('abcd…');
    expect(maskApiKey('short')).toBe('…');
  });
});

describe('issue and error formatting', () => {
  it('prints policy issues as file:line:col CODE message', () => {
    const issue = { code: 'POLICY_NOT_TERMINATING', message: 'no terminating rule', line: 3, column: 5 };
    expect(formatIssue('policy.yaml', { ...issue, severity: 'error' })).toBe(
      'policy.yaml:3:5 POLICY_NOT_TERMINATING no terminating rule',
    );
    expect(formatIssue('policy.yaml', { ...issue, severity: 'warning' })).toBe(
      'policy.yaml:3:5 POLICY_NOT_TERMINATING no terminating rule (warning)',
    );
  });

  it('prints API errors as `error CODE: message` with every detail and the request id', () => {
    const error = new ApiError(
      400,
      'POLICY_INVALID',
      'The policy has 2 errors',
      [
        { code: 'POLICY_CONFIG_INVALID', message: 'bad status', path: '/on_http_request/0', line: 7, column: 24 },
        { message: 'required for cloud endpoints', path: 'traffic_policy' },
      ],
      'req-1',
    );
    expect(formatError(error)).toEqual([
      'error POLICY_INVALID: The policy has 2 errors',
      '  7:24 POLICY_CONFIG_INVALID bad status',
      '  traffic_policy: required for cloud endpoints',
      '  (request id req-1)',
    ]);
    expect(exitCodeOf(error)).toBe(1);
  });

  it('hints at login for UNAUTHENTICATED and at --help for usage errors', () => {
    expect(formatError(new ApiError(401, 'UNAUTHENTICATED', 'Log in or send an API key'))).toContain(
      '  hint: run `gatehouse login`, or set GATEHOUSE_API_KEY',
    );
    const usage = new UsageError('missing <endpoint>', 'policy get');
    expect(exitCodeOf(usage)).toBe(2);
    expect(formatError(usage)).toEqual(['error: missing <endpoint>', '  see: gatehouse policy get --help']);
  });

  it('names the URL that could not be reached, without a code (there was no answer to carry one)', () => {
    const error = new ApiError(
      0,
      clientErrorCodes.network,
      'The Gatehouse API cannot be reached (GET http://127.0.0.1:1/api/auth/me: ECONNREFUSED).',
    );
    expect(formatError(error)).toEqual([
      'error: The Gatehouse API cannot be reached (GET http://127.0.0.1:1/api/auth/me: ECONNREFUSED).',
    ]);
    expect(exitCodeOf(error)).toBe(1);
    expect(exitCodeOf(new CliError('x'))).toBe(1);
  });

  it('formats a detail without position by its path', () => {
    expect(formatApiErrorDetail({ message: 'must be a URL', path: 'upstream_url' })).toBe(
      'upstream_url: must be a URL',
    );
  });
});
