import { policyOptionsFor } from '@gatehouse/contracts';
import { validatePolicy, type PolicyIssue } from '@gatehouse/traffic-policy';
import { useDebouncedValue } from '@mantine/hooks';
import { useMemo } from 'react';
import type { EndpointType } from '../api/endpoints.api';

export interface BrowserValidation {
  errors: PolicyIssue[];
  warnings: PolicyIssue[];
  /** True while the text changed less than the debounce delay ago, so the result describes older text. */
  pending: boolean;
}

/** Delay after the last keystroke before the engine re-validates: fast enough to feel live, slow enough not to stutter. */
export const validationDebounceMs = 250;

/**
 * Runs the engine's own validation (the one the API runs on save) in the browser, debounced. With the registered
 * internal endpoint URLs it also warns about forward-internal targets that do not exist, as the API does.
 */
export function usePolicyValidation(
  text: string,
  endpointType: EndpointType,
  internalEndpointUrls?: ReadonlySet<string>,
  /** The endpoint URL: an agent endpoint on a public URL accepts on_tcp_connect, one on `.internal` does not. */
  url = '',
): BrowserValidation {
  const [debouncedText] = useDebouncedValue(text, validationDebounceMs);
  const result = useMemo(() => {
    // An agent endpoint's policy follows an internal endpoint's rules (it may fall through to the agent's upstream).
    const rules = policyOptionsFor(endpointType, url);
    // An internal endpoint may have no policy at all; an empty editor means "none" there.
    if (rules.endpointType === 'internal' && !debouncedText.trim()) return { errors: [], warnings: [] };
    return validatePolicy(debouncedText, {
      ...rules,
      ...(internalEndpointUrls ? { internalEndpointUrls } : {}),
    });
  }, [debouncedText, endpointType, internalEndpointUrls, url]);
  return { errors: result.errors, warnings: result.warnings, pending: debouncedText !== text };
}
