/** The parts of a void request that make it "the same request" for idempotency. */
export interface VoidRequestIdentity {
  readonly merchantId: string;
  readonly terminalId: string;
  readonly paymentId?: string;
  readonly outTradeNo?: string;
  readonly amountFen: number;
  readonly operatorId: string;
  readonly card?: { readonly batchNo: string; readonly voucherNo: string };
  readonly supervisorOperatorId?: string;
}

/**
 * A canonical text of the request, fixed field order and explicit nulls, to be hashed. The
 * supervisor's credential is left out on purpose: a hash of a short PIN is as good as the PIN.
 */
export function canonicalVoidRequest(request: VoidRequestIdentity): string {
  return JSON.stringify([
    request.merchantId,
    request.terminalId,
    request.paymentId ?? null,
    request.outTradeNo ?? null,
    request.amountFen,
    request.operatorId,
    request.card?.batchNo ?? null,
    request.card?.voucherNo ?? null,
    request.supervisorOperatorId ?? null,
  ]);
}
