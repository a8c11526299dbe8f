import { Injectable } from '@nestjs/common';
import { formatPolicyTestReport, type PolicyTestCase, type PolicyTestReport } from '@gatehouse/contracts';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { PrismaService } from '../database/prisma.service';
import { compilePolicy, runPolicyTests } from './policy-engine';
import type { EndpointType } from './policy-validation.service';

/** What a new policy version stores about its tests. */
export interface PolicyVersionTests {
  tests: PolicyTestCase[];
  /** null when there are no cases. */
  testResult: PolicyTestReport | null;
}

/**
 * Runs a policy's test cases at save (issue 17) with the engine's runner, the same code the CLI and the dashboard run,
 * against the install's IP categories. A failing case refuses the save with POLICY_TESTS_FAILED unless the caller said
 * `allow_failing_tests`; either way the report is what the version records.
 */
@Injectable()
export class PolicyTestsService {
  constructor(private readonly prisma: PrismaService) {}

  /** The text must already be valid (validation runs first); cases are already schema-checked by the DTO. */
  async runForSave(
    text: string,
    endpoint: { url: string; type: EndpointType; id?: string },
    tests: PolicyTestCase[],
    allowFailing: boolean,
  ): Promise<PolicyVersionTests> {
    if (tests.length === 0) return { tests, testResult: null };
    const categories = await this.prisma.ipCategory.findMany({ select: { name: true, cidrs: true } });
    const policy = compilePolicy(text, { endpointType: endpoint.type });
    const report = await runPolicyTests(policy, tests, { endpoint, ipCategories: categories });
    if (report.failed > 0 && !allowFailing) {
      throw new AppError(
        ErrorCode.POLICY_TESTS_FAILED,
        `${report.failed} of ${report.results.length} policy test${report.results.length === 1 ? '' : 's'} failed; nothing was saved (send allow_failing_tests: true to save anyway)\n${formatPolicyTestReport(report).join('\n')}`,
        report.results.flatMap((result, index) =>
          result.passed
            ? []
            : [
                {
                  code: 'POLICY_TEST_FAILED',
                  path: `tests/${index}`,
                  message: `${result.name}: ${result.mismatches
                    .map((mismatch) => `${mismatch.field}: expected ${mismatch.expected}, got ${mismatch.actual}`)
                    .join('; ')}`,
                },
              ],
        ),
      );
    }
    return { tests, testResult: report };
  }
}
