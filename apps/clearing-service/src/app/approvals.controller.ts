import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { Response } from 'express';
import { APPROVAL_ACTIONS, APPROVAL_STATES, ApprovalState, FOUR_EYES_REPLAY_TYPES } from '@pos/contracts';
import { AUDIT_OUTCOMES, AuditOutcome, AuditTrail } from '@pos/audit';
import { ApiError, ApiErrorCodes, AuthenticatedCaller, Caller, CallersAllowed, OperatorIdentity } from '@pos/service-runtime';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Approvals } from './approvals';
import { unavailableIfNotReady } from './clearing.controller';
import { SettlementAnswers } from './settlement-answers';

const MAX_PAGE = 500;

function pageSize(text: string | undefined): number {
  const limit = text === undefined ? 100 : Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new ApiError('INVALID_LIMIT', `limit must be 1..${MAX_PAGE}`);
  return limit;
}

/** The guard admitted operators only on these routes. */
function operatorOf(caller: Caller): OperatorIdentity {
  if (caller.principal.kind !== 'operator') throw new ApiError('ROLE_FORBIDDEN', 'operators only');
  return caller.principal;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

function instantOf(name: string, text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const ms = RFC3339.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new ApiError('INVALID_TIME', `${name} must be an RFC 3339 instant with its offset, e.g. 2026-12-05T09:00:00+08:00`);
  return new Date(ms);
}

const terminalSettlementParams: SchemaObject = {
  type: 'object',
  required: ['merchantId', 'terminalId', 'batchNo'],
  properties: { merchantId: { type: 'string' }, terminalId: { type: 'string' }, batchNo: { type: 'string', pattern: '^[0-9]{6}$' } },
};
const deadLetterReplayParams: SchemaObject = {
  type: 'object',
  required: ['topic', 'partition', 'offset', 'type'],
  properties: { topic: { type: 'string', pattern: '\\.dlq$' }, partition: { type: 'integer' }, offset: { type: 'string' }, type: { type: 'string', enum: [...FOUR_EYES_REPLAY_TYPES] } },
};

/**
 * Four-eyes approvals of money-moving operator actions, and the audit trail. Operators only:
 * viewers read, operators request, approvers (never the requester) approve or reject.
 */
@ApiTags('operators')
@Controller('v1')
export class ApprovalsController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly approvals: Approvals,
    private readonly audit: AuditTrail,
    private readonly answers: SettlementAnswers,
  ) {}

  @Post('approvals')
  @CallersAllowed({ merchants: false, operatorsFrom: 'operator' })
  @ApiOperation({
    summary: 'Request a money-moving action (terminal settlement for a merchant, a replay of a money dead letter); another operator approves it',
    description: `The request expires after APPROVAL_TTL_MS. Actions: ${APPROVAL_ACTIONS.join(', ')}.`,
  })
  @ApiBody({ schema: { type: 'object', required: ['action', 'params', 'reason'], properties: { action: { type: 'string', enum: [...APPROVAL_ACTIONS] }, params: { oneOf: [terminalSettlementParams, deadLetterReplayParams] }, reason: { type: 'string', minLength: 3, maxLength: 500 } } } })
  @ApiCreatedResponse({ description: 'The approval request, PENDING' })
  @ApiErrorCodes('INVALID_REQUEST', 'ROLE_FORBIDDEN')
  async request(@AuthenticatedCaller() caller: Caller, @Body() body: unknown) {
    return this.approvals.request(operatorOf(caller), caller, body);
  }

  @Get('approvals')
  @CallersAllowed({ merchants: false, operatorsFrom: 'viewer' })
  @ApiOperation({ summary: 'Approval requests, newest first' })
  @ApiQuery({ name: 'state', required: false, enum: APPROVAL_STATES })
  @ApiQuery({ name: 'limit', required: false, description: `1..${MAX_PAGE}, default 100` })
  @ApiErrorCodes('INVALID_STATE', 'INVALID_LIMIT', 'ROLE_FORBIDDEN')
  async list(@Query('state') state?: string, @Query('limit') limit?: string) {
    if (state !== undefined && !APPROVAL_STATES.includes(state as ApprovalState)) throw new ApiError('INVALID_STATE', `state must be one of ${APPROVAL_STATES.join(', ')}`);
    return { approvals: await this.approvals.list({ ...(state !== undefined ? { state: state as ApprovalState } : {}), limit: pageSize(limit) }) };
  }

  @Get('approvals/:approvalId')
  @CallersAllowed({ merchants: false, operatorsFrom: 'viewer' })
  @ApiOperation({ summary: 'One approval request' })
  @ApiParam({ name: 'approvalId' })
  @ApiErrorCodes('APPROVAL_NOT_FOUND', 'ROLE_FORBIDDEN')
  async one(@Param('approvalId') approvalId: string) {
    return this.approvals.find(approvalId);
  }

  @Post('approvals/:approvalId/approve')
  @CallersAllowed({ merchants: false, operatorsFrom: 'approver' })
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Approve a request (role approver, not its requester)',
    description:
      'A terminal settlement is executed at once: the answer is that of POST /v1/terminal-settlements (200 closed, 202 still closing) with the approval. ' +
      'A dead-letter replay becomes APPROVED: its requester executes it with the operator CLI (`dlq replay … --approval <id>`).',
  })
  @ApiParam({ name: 'approvalId' })
  @ApiOkResponse({ description: '{ approval, batches }' })
  @ApiAcceptedResponse({ description: '{ approval, batches } — a settlement still CLOSING, or a replay approved' })
  @ApiErrorCodes('APPROVAL_NOT_FOUND', 'APPROVAL_NOT_PENDING', 'SELF_APPROVAL', 'ROLE_FORBIDDEN')
  async approve(@AuthenticatedCaller() caller: Caller, @Param('approvalId') approvalId: string, @Res({ passthrough: true }) response: Response) {
    const { approval, closing } = await this.approvals.decide(approvalId, operatorOf(caller), caller, true).catch(unavailableIfNotReady);
    if (approval.action !== 'terminal-settlement') return { approval, batches: [] };
    return { approval, ...(await this.answers.closed(closing, response)) };
  }

  @Post('approvals/:approvalId/reject')
  @CallersAllowed({ merchants: false, operatorsFrom: 'approver' })
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Reject a request (role approver, not its requester)' })
  @ApiParam({ name: 'approvalId' })
  @ApiErrorCodes('APPROVAL_NOT_FOUND', 'APPROVAL_NOT_PENDING', 'SELF_APPROVAL', 'ROLE_FORBIDDEN')
  async reject(@AuthenticatedCaller() caller: Caller, @Param('approvalId') approvalId: string) {
    return (await this.approvals.decide(approvalId, operatorOf(caller), caller, false)).approval;
  }

  @Post('approvals/:approvalId/claim')
  @CallersAllowed({ merchants: false, operatorsFrom: 'operator' })
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: "The operator CLI's step before a replay: an approved dlq-replay request, for exactly this dead letter, by its requester, becomes EXECUTED",
  })
  @ApiParam({ name: 'approvalId' })
  @ApiBody({ schema: { type: 'object', required: ['action', 'params'], properties: { action: { type: 'string', enum: ['dlq-replay'] }, params: deadLetterReplayParams } } })
  @ApiErrorCodes('INVALID_REQUEST', 'APPROVAL_NOT_FOUND', 'APPROVAL_NOT_APPROVED', 'APPROVAL_MISMATCH', 'ROLE_FORBIDDEN')
  async claim(@AuthenticatedCaller() caller: Caller, @Param('approvalId') approvalId: string, @Body() body: unknown) {
    return this.approvals.claim(approvalId, operatorOf(caller), caller, body);
  }

  @Get('audit')
  @CallersAllowed({ merchants: false, operatorsFrom: 'viewer' })
  @ApiOperation({ summary: 'The audit trail of operator and terminal actions, newest first (page with before = the last id)' })
  @ApiQuery({ name: 'actor', required: false })
  @ApiQuery({ name: 'action', required: false, description: 'e.g. approval.approved, terminal-settlement.executed' })
  @ApiQuery({ name: 'target', required: false })
  @ApiQuery({ name: 'outcome', required: false, enum: AUDIT_OUTCOMES })
  @ApiQuery({ name: 'from', required: false, description: 'RFC 3339 instant, inclusive' })
  @ApiQuery({ name: 'to', required: false, description: 'RFC 3339 instant, exclusive' })
  @ApiQuery({ name: 'before', required: false, description: 'the id of the last record of the previous page' })
  @ApiQuery({ name: 'limit', required: false, description: `1..${MAX_PAGE}, default 100` })
  @ApiErrorCodes('INVALID_TIME', 'INVALID_CURSOR', 'INVALID_STATE', 'INVALID_LIMIT', 'ROLE_FORBIDDEN')
  async auditTrail(
    @Query('actor') actor?: string,
    @Query('action') action?: string,
    @Query('target') target?: string,
    @Query('outcome') outcome?: string,
    @Query('from') fromText?: string,
    @Query('to') toText?: string,
    @Query('before') before?: string,
    @Query('limit') limitText?: string,
  ) {
    if (outcome !== undefined && !AUDIT_OUTCOMES.includes(outcome as AuditOutcome)) throw new ApiError('INVALID_STATE', `outcome must be one of ${AUDIT_OUTCOMES.join(', ')}`);
    if (before !== undefined && !/^[1-9][0-9]{0,17}$/.test(before)) throw new ApiError('INVALID_CURSOR', 'before must be the id of a record');
    const from = instantOf('from', fromText);
    const to = instantOf('to', toText);
    const records = await this.audit.find(this.dataSource.manager, {
      ...(actor !== undefined ? { actor } : {}),
      ...(action !== undefined ? { action } : {}),
      ...(target !== undefined ? { target } : {}),
      ...(outcome !== undefined ? { outcome: outcome as AuditOutcome } : {}),
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      ...(before !== undefined ? { before } : {}),
      limit: pageSize(limitText),
    });
    return { records };
  }
}
