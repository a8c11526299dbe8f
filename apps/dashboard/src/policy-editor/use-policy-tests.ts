import {
  type AnyEndpointType,
  policyOptionsFor,
  type PolicyTestCase,
  PolicyTestCasesSchema,
  type PolicyTestReport,
} from '@gatehouse/contracts';
import { compile, runPolicyTests } from '@gatehouse/traffic-policy';
import { useDebouncedValue } from '@mantine/hooks';
import { useEffect, useMemo, useState } from 'react';
import { parse as parseYaml, stringify } from 'yaml';
import { validationDebounceMs } from './use-policy-validation';

/** The tests YAML read into cases, or why it cannot be. */
export type ParsedTests = { cases: PolicyTestCase[]; problems: [] } | { cases: null; problems: string[] };

export function parseTestsYaml(text: string): ParsedTests {
  if (text.trim() === '') return { cases: [], problems: [] };
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    return { cases: null, problems: [`YAML: ${error instanceof Error ? error.message : String(error)}`] };
  }
  const parsed = PolicyTestCasesSchema.safeParse(raw ?? []);
  if (parsed.success) return { cases: parsed.data, problems: [] };
  return {
    cases: null,
    problems: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(list)'}: ${issue.message}`),
  };
}

/** Cases as the panel shows them for editing (an empty list is an empty editor). */
export function testsToYaml(cases: readonly PolicyTestCase[]): string {
  return cases.length === 0 ? '' : stringify(cases, { lineWidth: 0 });
}

export interface PolicyTestsState {
  parsed: ParsedTests;
  /** null while nothing ran: no cases, tests that do not parse, or a policy that does not compile. */
  report: PolicyTestReport | null;
  /** Why the cases could not run against the policy (it does not compile). */
  policyProblem: string | null;
  /** The text changed less than the debounce delay ago, or the run has not finished. */
  pending: boolean;
}

/**
 * Runs the cases against the policy in the browser with the engine's runner — the code the API runs at save — after
 * each pause in typing, so a change that breaks a case shows before it is saved.
 */
export function usePolicyTests(
  policyText: string,
  testsText: string,
  endpoint: { url: string; type: AnyEndpointType; id: string },
): PolicyTestsState {
  const [debouncedPolicy] = useDebouncedValue(policyText, validationDebounceMs);
  const [debouncedTests] = useDebouncedValue(testsText, validationDebounceMs);
  const parsed = useMemo(() => parseTestsYaml(debouncedTests), [debouncedTests]);
  const compiled = useMemo(() => {
    if (parsed.cases === null || parsed.cases.length === 0) return null;
    try {
      return { policy: compile(debouncedPolicy, policyOptionsFor(endpoint.type, endpoint.url)), problem: null };
    } catch {
      return { policy: null, problem: 'The policy has errors; fix them to run the tests.' };
    }
  }, [debouncedPolicy, endpoint.type, endpoint.url, parsed]);
  const runnable = compiled !== null && compiled.policy !== null ? compiled.policy : null;
  const [result, setResult] = useState<{ report: PolicyTestReport; for: unknown } | null>(null);
  useEffect(() => {
    if (runnable === null || parsed.cases === null) return;
    let current = true;
    void runPolicyTests(runnable, parsed.cases, { endpoint }).then((report) => {
      if (current) setResult({ report, for: runnable });
    });
    return () => {
      current = false;
    };
    // endpoint is an object literal at call sites; its fields are what matter.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [runnable, parsed, endpoint.url, endpoint.type, endpoint.id]);
  const ran = runnable !== null && result !== null && result.for === runnable;
  return {
    parsed,
    report: ran ? result.report : null,
    policyProblem: compiled?.problem ?? null,
    pending: debouncedPolicy !== policyText || debouncedTests !== testsText || (runnable !== null && !ran),
  };
}
