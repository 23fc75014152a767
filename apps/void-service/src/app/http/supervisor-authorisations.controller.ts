import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiError, ApiErrorCodes, AuthenticatedMerchant, MerchantAuthenticated } from '@pos/service-runtime';
import { SupervisorAuthorisation, SupervisorAuthority } from '../decisions/supervisor-authority';
import { SupervisorAuthorisationBody, SupervisorAuthorisationRequestBody } from './void-dtos';
import { supervisorAuthorisationRequestOf } from './request-schemas';

/**
 * Supervisor authorisations (主管授权) for card voids sent over Kafka: the terminal presents the
 * supervisor's credential here, over HTTPS with its merchant's key, and puts the authorisation's id
 * into the void command, so that the credential never travels on a topic.
 */
@ApiTags('voids')
@MerchantAuthenticated()
@Controller('v1')
export class SupervisorAuthorisationsController {
  constructor(private readonly supervisors: SupervisorAuthority) {}

  @Post('supervisor-authorisations')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({
    summary: 'Authorise one card void with a supervisor credential (主管密码), for a void command sent over Kafka',
    description:
      'Checks the credential (wrong ones count towards the supervisor lockout) and issues an authorisation of one void of this payment ' +
      'on this terminal, valid for SUPERVISOR_AUTHORISATION_TTL (default 5 minutes). The void command names it: ' +
      'supervisor: {authorisationId}. It authorises one accepted void; a rejected void leaves it usable until it expires.',
  })
  @ApiCreatedResponse({ type: SupervisorAuthorisationBody })
  @ApiErrorCodes('VALIDATION_FAILED', 'PAYMENT_REFERENCE_REQUIRED', 'SUPERVISOR_AUTH_FAILED', 'SUPERVISOR_LOCKED')
  async authorise(@AuthenticatedMerchant() merchantId: string, @Body() body: SupervisorAuthorisationRequestBody): Promise<SupervisorAuthorisation> {
    const { terminalId, paymentId, outTradeNo, supervisor } = supervisorAuthorisationRequestOf(body);
    if (paymentId === undefined && outTradeNo === undefined) throw new ApiError('PAYMENT_REFERENCE_REQUIRED', 'an authorisation names its payment: paymentId or outTradeNo');
    const issued = await this.supervisors.issue(
      {
        merchantId,
        terminalId,
        ...(paymentId !== undefined ? { paymentId: paymentId.toLowerCase() } : {}),
        ...(outTradeNo !== undefined ? { outTradeNo } : {}),
      },
      supervisor,
    );
    if (issued === 'LOCKED') throw new ApiError('SUPERVISOR_LOCKED', 'the supervisor is locked after repeated wrong credentials');
    if (issued === 'INVALID') throw new ApiError('SUPERVISOR_AUTH_FAILED', 'not a supervisor of this merchant, or a wrong credential');
    return issued;
  }
}
