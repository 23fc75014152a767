import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { Value } from '@sinclair/typebox/value';
import { DataSource } from 'typeorm';
import { Identifier } from '@pos/contracts';
import { ApiError, ApiErrorCodes, AuthenticatedMerchant, MerchantAuthenticated, UuidParam } from '@pos/service-runtime';
import { VoidEligibilityCheck, VoidEligibilityView } from '../decisions/void-eligibility';
import { VoidEligibilityBody } from './void-eligibility-dtos';

@ApiTags('voids')
@MerchantAuthenticated()
@Controller('v1')
export class VoidEligibilityController {
  constructor(
    private readonly eligibility: VoidEligibilityCheck,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  @Get('payments/:paymentId/void-eligibility')
  @ApiOperation({
    summary: 'Would a void of this payment be accepted now (ask before acting)',
    description:
      'Judged by the same policy on the same facts as POST /v1/voids, for the void a terminal would send now: the full amount, the card ' +
      "reference, the payment's terminal (or terminalId), and a valid supervisor where the channel needs one. Yes: the deadline, the seconds " +
      'left, the batch and whether a supervisor is needed. No: the reason, remedy and message the decision would give. Nothing is stored, ' +
      "no event is sent, no idempotency key is used. Another merchant's payment is answered like an unknown one (PAYMENT_NOT_FOUND).",
  })
  @ApiQuery({ name: 'terminalId', required: false, description: "The terminal that would send the void; by default the payment's own" })
  @ApiOkResponse({ type: VoidEligibilityBody })
  @ApiErrorCodes('INVALID_PAYMENT_ID', 'INVALID_TERMINAL_ID')
  async eligibilityOf(
    @AuthenticatedMerchant() merchantId: string,
    @Param('paymentId', new UuidParam('INVALID_PAYMENT_ID')) paymentId: string,
    @Query('terminalId') terminalId: unknown,
  ): Promise<VoidEligibilityView> {
    return this.eligibility.of(this.dataSource.manager, merchantId, paymentId, terminalId === undefined ? undefined : terminalIdOf(terminalId));
  }
}

/** A terminal id as a void names it (the contracts' Identifier); a repeated parameter arrives as an array and is refused too. */
function terminalIdOf(value: unknown): string {
  if (!Value.Check(Identifier, value)) {
    throw new ApiError('INVALID_TERMINAL_ID', 'terminalId must be 1-64 of [A-Za-z0-9._:-], starting with a letter or digit, given once');
  }
  return value;
}
