import { CutoffWindow, nextCutoffAfterIn, VersionedCutoffSchedule } from '@pos/business-calendar';

/**
 * A settlement batch's life: it takes payments while OPEN, keeps taking them while CLOSING (the
 * void service is closing its gate, ADR 0002), has exact, frozen totals once CLOSED, and is SETTLED
 * when funds move on its settlement date. There is no way back: a closed batch is never reopened.
 */
export const BATCH_STATES = ['OPEN', 'CLOSING', 'CLOSED', 'SETTLED'] as const;
export type BatchState = (typeof BATCH_STATES)[number];

export type BatchTransition = 'CLOSE_REQUESTED' | 'GATE_CLOSED' | 'SETTLEMENT_DATE_REACHED';

const TRANSITIONS: Readonly<Record<BatchTransition, { readonly from: BatchState; readonly to: BatchState }>> = {
  CLOSE_REQUESTED: { from: 'OPEN', to: 'CLOSING' },
  GATE_CLOSED: { from: 'CLOSING', to: 'CLOSED' },
  SETTLEMENT_DATE_REACHED: { from: 'CLOSED', to: 'SETTLED' },
};

/**
 * The state after a transition, or `undefined` when the transition does not apply (a repeated
 * cutoff, a redelivered gate-closed): callers treat that as "already done", never as an error.
 */
export function nextState(state: BatchState, transition: BatchTransition): BatchState | undefined {
  const rule = TRANSITIONS[transition];
  return rule.from === state ? rule.to : undefined;
}

/** Payments may still join a CLOSING batch: voids for them are guarded by the void gate. */
export function takesPayments(state: BatchState): boolean {
  return state === 'OPEN' || state === 'CLOSING';
}

/** Batches sharing a batch key form a chain: the key's own batch, then successors `:2`, `:3`, ... */
export function batchIdInChain(baseBatchId: string, sequence: number): string {
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new Error(`batch sequence must be a positive integer, got ${sequence}`);
  return sequence === 1 ? baseBatchId : `${baseBatchId}:${sequence}`;
}

export interface ChainTail {
  readonly sequence: number;
  readonly state: BatchState;
}

export type BatchChoice =
  | { readonly kind: 'open-first'; readonly sequence: 1 }
  | { readonly kind: 'join'; readonly sequence: number }
  | { readonly kind: 'open-successor'; readonly sequence: number };

/**
 * Where a payment of a batch key goes, given the newest batch of the key's chain: into it while
 * it takes payments, else into a new successor, so a late payment never alters a closed batch.
 */
export function chooseBatch(tail: ChainTail | undefined): BatchChoice {
  if (tail === undefined) return { kind: 'open-first', sequence: 1 };
  if (takesPayments(tail.state)) return { kind: 'join', sequence: tail.sequence };
  return { kind: 'open-successor', sequence: tail.sequence + 1 };
}

/**
 * The window of a successor batch opened at `now`: it closes with its key's window when that is
 * still ahead (a terminal settled early), else at the channel's next cutoff, so a late payment is
 * cleared with the next regular close rather than kept open for ever.
 */
export function successorWindow(keyWindow: CutoffWindow, schedule: VersionedCutoffSchedule, now: Date): CutoffWindow {
  const closesAt = keyWindow.closesAt.getTime() > now.getTime() ? keyWindow.closesAt : nextCutoffAfterIn(schedule, now);
  const opensAt = now.getTime() > keyWindow.opensAt.getTime() ? now : keyWindow.opensAt;
  return { opensAt, closesAt };
}
