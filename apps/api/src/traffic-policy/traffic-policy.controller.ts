import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiTags, ApiOperation } from '@nestjs/swagger';
import { RequireRole } from '../auth/auth.decorators';
import { PolicyValidationService } from './policy-validation.service';
import {
  ValidatePolicyBodySchema,
  type ValidatePolicyInput,
  ValidatePolicyResponseSchema,
  type ValidatePolicyResponse,
} from './traffic-policy.dto';

@ApiTags('traffic policy')
@Controller('traffic-policy')
export class TrafficPolicyController {
  constructor(private readonly policies: PolicyValidationService) {}

  @ApiOperation({ summary: 'Validate a Traffic Policy without saving it' })
  @Post('validate')
  @HttpCode(200)
  @RequireRole('viewer')
  @ApiOkResponse({
    description:
      'Every issue with its line and column; `valid` is false when any error exists. Bad text is never a 500.',
    standardSchema: ValidatePolicyResponseSchema,
  })
  validatePolicy(
    @Body({ schema: ValidatePolicyBodySchema }) body: ValidatePolicyInput,
  ): Promise<ValidatePolicyResponse> {
    return this.policies.validatePolicy(body.traffic_policy, body.endpoint_type);
  }
}
