import { CutoffWindow } from '@pos/business-calendar';

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

/**
 * Batches sharing a batch key form a chain: the key's own batch, then successors `:2`, `:3`, ...
 * The suffix is unambiguous because a key's fields never contain `:` (batchIdField encodes it).
 */
export function batchIdInChain(baseBatchId: string, sequence: number): string {
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new Error(`batch sequence must be a positive integer, got ${sequence}`);
  return sequence === 1 ? baseBatchId : `${baseBatchId}:${sequence}`;
}

/** What placing a payment needs to know of each batch of its key's chain. */
export interface ChainBatch {
  readonly sequence: number;
  readonly state: BatchState;
  readonly opensAt: Date;
  readonly closesAt: Date;
}

export type Placement =
  /** The chain is empty: open the key's own batch with the key's window. */
  | { readonly kind: 'open-first'; readonly sequence: 1 }
  | { readonly kind: 'join'; readonly sequence: number }
  /**
   * The batch whose window holds the success time has closed: the payment came late. It keeps its
   * clearing date in a late batch of the same window, opened once and closed at the next tick.
   */
  | { readonly kind: 'open-late'; readonly sequence: number; readonly window: CutoffWindow }
  /** No batch of the chain holds the success time, though the chain exists: its windows disagree with the key's. */
  | { readonly kind: 'outside' };

const holds = (batch: ChainBatch, instant: Date) => batch.opensAt.getTime() <= instant.getTime() && instant.getTime() < batch.closesAt.getTime();

/**
 * Where a succeeded payment goes (ADR 0005): into the batch whose window holds its success time,
 * never by when its event arrived. A terminal settlement (结算) splits a window in two (the settled
 * batch up to its instant, the successor after it), so at most one regular batch holds an instant;
 * late batches repeat a closed batch's window and take what arrived after it closed.
 */
export function placePayment(chain: readonly ChainBatch[], succeededAt: Date): Placement {
  if (chain.length === 0) return { kind: 'open-first', sequence: 1 };
  const holding = chain.filter((batch) => holds(batch, succeededAt)).sort((a, b) => a.sequence - b.sequence);
  if (holding.length === 0) return { kind: 'outside' };
  const taking = holding.find((batch) => takesPayments(batch.state));
  if (taking) return { kind: 'join', sequence: taking.sequence };
  const regular = holding[0];
  const last = Math.max(...chain.map((batch) => batch.sequence));
  return { kind: 'open-late', sequence: last + 1, window: { opensAt: regular.opensAt, closesAt: regular.closesAt } };
}
