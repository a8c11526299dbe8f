// Policy test cases (issue 17) in the CLI: read from a tests file or gatehouse.yaml, run with the engine's runner —
// the code the API runs at save and the dashboard runs as you type — so CI learns of a failing case before any request.
import {
  type EndpointType,
  formatPolicyTestReport,
  type PolicyTestCase,
  type PolicyTestReport,
} from '@gatehouse/contracts';
import { compile, runPolicyTests } from '@gatehouse/traffic-policy';

export interface PolicyUnderTest {
  /** How the report names it: the policy file, or the endpoint URL. */
  name: string;
  text: string;
  endpoint: { url: string; type: EndpointType };
  cases: PolicyTestCase[];
}

/** The text must be a valid policy (validated first); the report is the engine's. */
export async function runTests(
  subject: PolicyUnderTest,
  ipCategories: readonly { name: string; cidrs: readonly string[] }[] = [],
): Promise<PolicyTestReport> {
  const policy = compile(subject.text, { endpointType: subject.endpoint.type });
  return runPolicyTests(policy, subject.cases, { endpoint: subject.endpoint, ipCategories });
}

/** The subject's name, then the engine's report lines under it. */
export function formatReport(name: string, report: PolicyTestReport): string[] {
  return [`${name}:`, ...formatPolicyTestReport(report).map((line) => `  ${line}`)];
}
