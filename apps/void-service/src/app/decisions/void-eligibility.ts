import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ChannelName, Remedy, VoidRejectionReason } from '@pos/contracts';
import { Clock } from '@pos/business-calendar';
import { CLOCK } from '@pos/messaging';
import { assessVoid } from '@pos/void-domain';
import { VoidServiceSettings } from '../void-service.config';
import { VOID_SETTINGS } from '../void-settings.token';
import { VoidDecisions } from './void-decisions';

/** The answer of GET /v1/payments/{paymentId}/void-eligibility. */
export interface VoidEligibilityView {
  readonly paymentId: string;
  readonly eligible: boolean;
  /** The instant the answer holds for: the decision of a void sent then would be this one. */
  readonly checkedAt: string;
  /** Yes: the exclusive deadline. No: the deadline that applied, when the policy got as far as one (as in the decision). */
  readonly deadline?: string;
  readonly secondsLeft?: number;
  readonly batchId?: string;
  readonly channel?: ChannelName;
  readonly supervisorRequired?: boolean;
  readonly reason?: VoidRejectionReason;
  readonly remedy: Remedy;
  readonly message: string;
}

/**
 * Would a void of this payment be accepted now? The facts are read exactly as a decision reads
 * them (`VoidDecisions.readFacts`) and judged by the same policy (`assessVoid`); nothing is
 * stored and no event is sent.
 */
@Injectable()
export class VoidEligibilityCheck {
  constructor(
    private readonly decisions: VoidDecisions,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(VOID_SETTINGS) private readonly settings: VoidServiceSettings,
  ) {}

  async of(db: EntityManager, merchantId: string, paymentId: string, terminalId: string | undefined): Promise<VoidEligibilityView> {
    const { payment, gate } = await this.decisions.readFacts(db, { merchantId, paymentId });
    const now = this.clock.now();
    const answer = assessVoid({ merchantId, ...(terminalId !== undefined ? { terminalId } : {}) }, payment, gate, this.settings.voidRules, now);
    const checkedAt = now.toISOString();
    if (!answer.eligible) {
      const { reason, remedy, message, deadline } = answer;
      return { paymentId, eligible: false, checkedAt, reason, remedy, message, ...(deadline ? { deadline: deadline.toISOString() } : {}) };
    }
    const { deadline, secondsLeft, batchId, channel, supervisorRequired, message } = answer;
    return { paymentId, eligible: true, checkedAt, deadline: deadline.toISOString(), secondsLeft, batchId, channel, supervisorRequired, remedy: 'NONE', message };
  }
}
