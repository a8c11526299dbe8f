import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { usePolicyValidation, validationDebounceMs } from './use-policy-validation';

const forwardPolicy = `on_http_request:
  - actions:
      - type: forward-internal
        config:
          url: https://missing.example.internal
`;

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('usePolicyValidation', () => {
  it('re-validates only after typing pauses', () => {
    const { result, rerender } = renderHook(({ text }) => usePolicyValidation(text, 'cloud'), {
      initialProps: { text: forwardPolicy },
    });
    expect(result.current.errors).toEqual([]);
    rerender({ text: 'on_http_request: {}\n' });
    expect(result.current.pending).toBe(true);
    expect(result.current.errors).toEqual([]);
    act(() => {
      vi.advanceTimersByTime(validationDebounceMs + 10);
    });
    expect(result.current.pending).toBe(false);
    expect(result.current.errors.length).toBeGreaterThan(0);
  });

  it('warns about a forward-internal target that is not registered, once it knows the registered ones', () => {
    const { result, rerender } = renderHook(({ urls }) => usePolicyValidation(forwardPolicy, 'cloud', urls), {
      initialProps: { urls: undefined as ReadonlySet<string> | undefined },
    });
    expect(result.current.warnings).toEqual([]);
    rerender({ urls: new Set(['https://mcp.example.internal']) });
    expect(result.current.warnings.map((warning) => [warning.code, warning.line])).toEqual([
      ['POLICY_FORWARD_TARGET_UNKNOWN', 5],
    ]);
  });

  it('judges regular expressions as RE2, as the data plane does (issue 12): ngrok syntax passes, lookbehind does not', () => {
    const policy = (pattern: string) =>
      `on_http_request:\n  - expressions: ['req.url.path.matches("${pattern}")']\n    actions: [{ type: deny }]\n`;
    const errorsOf = (pattern: string) =>
      renderHook(() => usePolicyValidation(policy(pattern), 'internal')).result.current.errors;
    // RE2-only syntax (JavaScript's RegExp rejects (?P<name>…), \A, \z and [[:alpha:]]).
    expect(errorsOf('(?i)\\\\A/(?P<w>[[:alpha:]]+)\\\\z')).toEqual([]);
    // JavaScript-only syntax (lookbehind, backreferences) is refused on its line, not left to never match.
    for (const pattern of ['(?<=a)b', '(a)\\\\1']) {
      const errors = errorsOf(pattern);
      expect(
        errors.map((error) => [error.code, error.line]),
        pattern,
      ).toEqual([['POLICY_EXPRESSION_INVALID', 2]]);
      expect(errors[0]?.message, pattern).toContain('RE2');
    }
  });

  it('accepts an empty policy on an internal endpoint', () => {
    const { result } = renderHook(() => usePolicyValidation('', 'internal'));
    expect(result.current.errors).toEqual([]);
  });
});
