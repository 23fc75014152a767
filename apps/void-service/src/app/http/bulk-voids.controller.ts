import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { HttpErrorCode } from '@pos/contracts';
import { MessageValidator } from '@pos/messaging';
import { ApiError, ApiErrorCodes, AuthenticatedMerchant, MerchantAuthenticated } from '@pos/service-runtime';
import { VoidCommand, VoidDecisions, VoidDecisionView } from '../decisions/void-decisions';
import { VoidMetrics } from '../observability/void-metrics';
import { runKeyedInOrder } from './keyed-pool';
import { decideOverHttp, voidCommandFrom } from './void-commands';
import { BulkVoidAnswerBody, BulkVoidRequestBody } from './void-eligibility-dtos';

/**
 * At most this many voids in one request: a shift's voids at a till (批量撤销) fit, and 100 items
 * with card references and supervisors stay well inside the 64 kB body limit.
 */
export const MAX_BULK_ITEMS = 100;
/**
 * Items of one request decided at the same time: a bulk request takes at most this many of the
 * database pool's connections (10 by default), so single voids and other bulks still get theirs.
 */
export const BULK_CONCURRENCY = 4;

export interface BulkVoidItemAnswer {
  readonly index: number;
  /** The status POST /v1/voids would have answered for this item alone. */
  readonly status: number;
  readonly replayed?: boolean;
  readonly decision?: VoidDecisionView;
  readonly error?: { readonly code: HttpErrorCode; readonly message: string };
}

@ApiTags('voids')
@MerchantAuthenticated()
@Controller('v1')
export class BulkVoidsController {
  constructor(
    private readonly decisions: VoidDecisions,
    private readonly validator: MessageValidator,
    private readonly metrics: VoidMetrics,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  @Post('voids/bulk')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Void (撤销) several payments in one request (批量撤销)',
    description:
      `Up to ${MAX_BULK_ITEMS} items, each exactly a POST /v1/voids body with its own idempotencyKey, each decided on its own exactly as ` +
      'POST /v1/voids decides it (validation, decision, idempotency and replay). The answer has one entry per item in request order: the ' +
      'decision (replayed: true for a stored final decision of its key), or the error code POST /v1/voids would have answered for it alone; ' +
      'an invalid item never fails the others. Items that share an idempotency key are decided one after the other in request order, as if ' +
      `sent one after the other: a later one gets the replay, or MODIFIED_REQUEST for another payload. At most ${BULK_CONCURRENCY} items are ` +
      'decided at a time. If the database fails mid-way the whole request answers its error: send it again as it was, decided items replay.',
  })
  @ApiBody({ type: BulkVoidRequestBody })
  @ApiOkResponse({ type: BulkVoidAnswerBody })
  @ApiErrorCodes('BULK_ITEMS_REQUIRED', 'BULK_TOO_MANY_ITEMS', 'VALIDATION_FAILED')
  async requestVoids(@AuthenticatedMerchant() merchantId: string, @Body() body: unknown): Promise<{ items: BulkVoidItemAnswer[] }> {
    const items = itemsOf(body);
    const answers: BulkVoidItemAnswer[] = [];
    const commands = items.map((item, index): VoidCommand | undefined => {
      try {
        return voidCommandFrom(this.validator, merchantId, undefined, item);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        answers[index] = errorAnswer(index, error);
        return undefined;
      }
    });
    await runKeyedInOrder(commands, (command) => command?.idempotencyKey, BULK_CONCURRENCY, async (command, index) => {
      if (command) answers[index] = await this.decideItem(index, command);
    });
    return { items: answers };
  }

  private async decideItem(index: number, command: VoidCommand): Promise<BulkVoidItemAnswer> {
    try {
      const outcome = await decideOverHttp(this.decisions, this.metrics, this.dataSource.manager, command, process.hrtime.bigint());
      return { index, status: HttpStatus.OK, ...(outcome.replayed ? { replayed: true } : {}), decision: outcome.view };
    } catch (error) {
      if (error instanceof ApiError) return errorAnswer(index, error);
      throw error;
    }
  }
}

function itemsOf(body: unknown): unknown[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError('VALIDATION_FAILED', 'the body must be a JSON object {items: [...]}');
  const { items, ...others } = body as Record<string, unknown>;
  const unknownFields = Object.keys(others);
  if (unknownFields.length > 0) throw new ApiError('VALIDATION_FAILED', `unknown fields: ${unknownFields.join(', ')}; the body is {items: [...]}`);
  if (!Array.isArray(items) || items.length === 0) throw new ApiError('BULK_ITEMS_REQUIRED', 'items must be a non-empty array of void requests');
  if (items.length > MAX_BULK_ITEMS) {
    throw new ApiError('BULK_TOO_MANY_ITEMS', `at most ${MAX_BULK_ITEMS} items in one request, got ${items.length}`, { maxItems: MAX_BULK_ITEMS });
  }
  return items;
}

function errorAnswer(index: number, error: ApiError): BulkVoidItemAnswer {
  return { index, status: error.getStatus(), error: { code: error.code, message: error.message } };
}
