import { randomUUID } from 'node:crypto';
import { BootedService, bootService } from '@pos/service-testing';
import { testStack, uniqueName } from '@pos/testing';
import { clearingServiceDefinition } from './app/clearing-service.definition';
import { asMerchant, asOperator, clearingAuthEnv, ClearingDatabase, eventually, keyedMerchantId, payment, TestOperator, Upstream } from './testing/clearing-harness';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Who may do what on the clearing API, on real Kafka and PostgreSQL: nobody without credentials; a
 * merchant key (which terminals carry) only its own merchant's data and terminals; operators by
 * role; an operator's terminal settlement only with a second operator's approval; every action
 * and refusal in the audit trail.
 */
describe('clearing API authentication, four eyes and the audit trail', () => {
  const stack = testStack();
  const prefix = `${uniqueName('clrauth')}.`;
  const schema = uniqueName('clearing_auth');
  const [mine, theirs] = [keyedMerchantId('A'), keyedMerchantId('B')];
  let service: BootedService;
  let upstream: Upstream;
  let db: ClearingDatabase;

  const call = async (method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> => {
    const response = await fetch(`${service.url}${path}`, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: response.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(text) as Record<string, unknown>) : { text } };
  };
  const stateOf = async (batchId: string) => (await db.query<{ state: string }>(`SELECT state FROM batches WHERE batch_id = $1`, [batchId]))[0]?.state;
  const cardPayment = (merchantId: string) =>
    payment({ merchantId, terminalId: 'T1', channel: 'UNIONPAY_CARD', succeededAt: new Date().toISOString(), amountFen: 1_000, card: { batchNo: '000001', voucherNo: '000001' } });
  const settlementOf = (merchantId: string) => ({ merchantId, terminalId: 'T1', batchNo: '000001', requestedBy: 'cashier-1' });
  const requestSettlement = (by: TestOperator, merchantId: string) =>
    call('POST', '/v1/approvals', asOperator(by), { action: 'terminal-settlement', params: { merchantId, terminalId: 'T1', batchNo: '000001' }, reason: 'the terminal is broken; the merchant called' });

  beforeAll(async () => {
    upstream = new Upstream(stack, prefix);
    await upstream.observeClearing(uniqueName('observer'));
    service = await bootService(clearingServiceDefinition, stack, {
      DATABASE_SCHEMA: schema,
      KAFKA_TOPIC_PREFIX: prefix,
      CLEARING_TICK_MS: '200',
      ...clearingAuthEnv([mine, theirs]),
    });
    db = await ClearingDatabase.connect(stack, schema);
  });

  afterAll(async () => {
    await upstream?.close();
    await db?.close();
    await service?.close();
  });

  it('answers 401 UNAUTHENTICATED on every clearing route without credentials, with an unknown token or key, or with both kinds', async () => {
    const document = (await (await fetch(`${service.url}/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(document.paths).flatMap(([route, item]) => Object.keys(item).map((method) => ({ route, method: method.toUpperCase() as 'GET' | 'POST' })));
    expect(routes.length).toBeGreaterThanOrEqual(12);
    for (const { route, method } of routes.filter((r) => r.route.startsWith('/v1/') && !r.route.startsWith('/v1/docs'))) {
      const path = route.replace(/\{[^}]+\}/g, randomUUID());
      const credentials: Record<string, string>[] = [{}, { authorization: 'Bearer not-a-token' }, { 'x-api-key': 'not-a-key' }, { ...asOperator('abel'), ...asMerchant(mine) }];
      for (const headers of credentials) {
        const answer = await call(method, path, headers, method === 'POST' ? {} : undefined);
        expect({ route, method, headers: Object.keys(headers), status: answer.status, code: answer.body['code'] }).toEqual({
          route,
          method,
          headers: Object.keys(headers),
          status: 401,
          code: 'UNAUTHENTICATED',
        });
      }
    }
  });

  it("never shows or acts on another merchant's batches, files or payments: they answer as unknown ones", async () => {
    const [own, other] = [cardPayment(mine), cardPayment(theirs)];
    await upstream.paid([own, other]);
    const [ownBatch, otherBatch] = await Promise.all([own, other].map((p) => eventually(() => db.batchOf(p.paymentId), 'the payment in a batch')));
    // Their terminal settles with their own key: their batch closes and has files.
    await upstream.answerGates(theirs);
    expect((await call('POST', '/v1/terminal-settlements', asMerchant(theirs), settlementOf(theirs))).status).toBe(200);
    const closed = await call('GET', `/v1/batches/${encodeURIComponent(otherBatch)}`, asMerchant(theirs));
    expect(closed.body).toMatchObject({ merchantId: theirs, state: expect.stringMatching(/^(CLOSED|SETTLED)$/) });
    const day = String(closed.body['clearingDate']);
    const unknownBatch = `${theirs}:UNIONPAY_CARD:NOPE`;

    // What their key sees; ours gets the answer of an unknown batch, file or payment for each.
    const theirReads = [
      `/v1/batches/${encodeURIComponent(otherBatch)}`,
      `/v1/batches/${encodeURIComponent(otherBatch)}/reconciliation`,
      `/v1/reconciliation/merchants/${theirs}/dates/${day}`,
      `/v1/payments/${other.paymentId}/clearing`,
    ];
    for (const path of theirReads) expect({ path, status: (await call('GET', path, asMerchant(theirs))).status }).toEqual({ path, status: 200 });
    const asUnknown = [
      [`/v1/batches/${encodeURIComponent(otherBatch)}`, `/v1/batches/${encodeURIComponent(unknownBatch)}`],
      [`/v1/batches/${encodeURIComponent(otherBatch)}/reconciliation`, `/v1/batches/${encodeURIComponent(unknownBatch)}/reconciliation`],
      [`/v1/reconciliation/merchants/${theirs}/dates/${day}`, `/v1/reconciliation/merchants/${keyedMerchantId('Z')}/dates/${day}`],
      [`/v1/payments/${other.paymentId}/clearing`, `/v1/payments/${randomUUID()}/clearing`],
    ];
    for (const [theirPath, unknownPath] of asUnknown) {
      const [theirAnswer, unknownAnswer] = [await call('GET', theirPath, asMerchant(mine)), await call('GET', unknownPath, asMerchant(mine))];
      expect({ path: theirPath, status: theirAnswer.status, code: theirAnswer.body['code'] }).toEqual({ path: theirPath, status: unknownAnswer.status, code: unknownAnswer.body['code'] });
      expect(theirAnswer.status).toBe(404);
    }
    // Lists hold only our own batches, whatever the query names.
    const listed = async (query: string) => ((await call('GET', `/v1/batches${query}`, asMerchant(mine))).body['batches'] as { batchId: string; merchantId: string }[]).map((b) => b.batchId);
    expect(await listed('')).toEqual([ownBatch]);
    expect(await listed(`?merchantId=${theirs}`)).toEqual([]);
    // Our own data stays readable by our key.
    expect((await call('GET', `/v1/batches/${encodeURIComponent(ownBatch)}`, asMerchant(mine))).status).toBe(200);

    // Acting for them: refused, and their open successor batch is untouched.
    const successor = cardPayment(theirs);
    await upstream.paid([successor]);
    const successorBatch = await eventually(() => db.batchOf(successor.paymentId), 'the later payment in a batch');
    const forged = await call('POST', '/v1/terminal-settlements', asMerchant(mine), settlementOf(theirs));
    expect([forged.status, forged.body['code']]).toEqual([403, 'MERCHANT_MISMATCH']);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await stateOf(successorBatch)).toBe('OPEN');
    // The operators' routes are not for merchants.
    for (const [method, path] of [['GET', '/v1/audit'], ['GET', '/v1/approvals'], ['POST', '/v1/approvals']] as const) {
      const answer = await call(method, path, asMerchant(mine), method === 'POST' ? { action: 'terminal-settlement', params: settlementOf(theirs), reason: 'forged' } : undefined);
      expect({ path, status: answer.status, code: answer.body['code'] }).toEqual({ path, status: 403, code: 'ROLE_FORBIDDEN' });
    }
  });

  it("does not let a viewer request a terminal settlement (结算), and an operator's waits for a second operator, never its requester", async () => {
    const paid = cardPayment(mine);
    await upstream.paid([paid]);
    const batchId = await eventually(async () => {
      const id = await db.batchOf(paid.paymentId);
      return id && (await stateOf(id)) === 'OPEN' ? id : undefined;
    }, 'an open card batch');
    await upstream.answerGates(mine);

    for (const answer of [await call('POST', '/v1/terminal-settlements', asOperator('vera'), settlementOf(mine)), await requestSettlement('vera', mine)]) {
      expect([answer.status, answer.body['code']]).toEqual([403, 'ROLE_FORBIDDEN']);
    }
    const direct = await call('POST', '/v1/terminal-settlements', asOperator('otto'), settlementOf(mine));
    expect([direct.status, direct.body['code']]).toEqual([403, 'FOUR_EYES_REQUIRED']);

    const requested = await requestSettlement('otto', mine);
    expect(requested).toMatchObject({ status: 201, body: { action: 'terminal-settlement', state: 'PENDING', requestedBy: 'otto', target: `${mine}/T1` } });
    const approvalId = String(requested.body['approvalId']);
    // Requested is not done: the batch stays open until a second operator approves.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await stateOf(batchId)).toBe('OPEN');
    // Another operator without the approver role cannot approve it; an approver cannot approve their own request.
    expect((await call('POST', `/v1/approvals/${approvalId}/approve`, asOperator('olga'))).body['code']).toBe('ROLE_FORBIDDEN');
    const own = await requestSettlement('anna', mine);
    const selfApproval = await call('POST', `/v1/approvals/${String(own.body['approvalId'])}/approve`, asOperator('anna'));
    expect([selfApproval.status, selfApproval.body['code']]).toEqual([403, 'SELF_APPROVAL']);
    expect(await stateOf(batchId)).toBe('OPEN');
    expect((await call('GET', `/v1/approvals/${String(own.body['approvalId'])}`, asOperator('vera'))).body['state']).toBe('PENDING');

    const approved = await call('POST', `/v1/approvals/${approvalId}/approve`, asOperator('abel'));
    expect(approved.status).toBe(200);
    expect(approved.body['approval']).toMatchObject({ approvalId, state: 'EXECUTED', requestedBy: 'otto', decidedBy: 'abel' });
    expect(approved.body['batches']).toEqual([expect.objectContaining({ batchId, closeReason: 'TERMINAL_SETTLEMENT' })]);
    expect(['CLOSED', 'SETTLED']).toContain(await stateOf(batchId));
    // Once decided, nobody decides it again.
    expect((await call('POST', `/v1/approvals/${approvalId}/approve`, asOperator('anna'))).body['code']).toBe('APPROVAL_NOT_PENDING');

    // Both operators, the refusals and the execution are in the audit trail, readable by a viewer.
    const trail = await call('GET', `/v1/audit?limit=500`, asOperator('vera'));
    const records = trail.body['records'] as { actor: string; role: string; action: string; target: string | null; outcome: string; remoteAddress: string; at: string; atShanghai: string; details: Record<string, unknown> }[];
    const about = (target: string) => records.filter((r) => r.target === target).map((r) => [r.actor, r.role, r.action, r.outcome]);
    expect(about(approvalId)).toEqual([
      ['anna', 'approver', 'approval.approve', 'REFUSED'],
      ['abel', 'approver', 'approval.approved', 'SUCCEEDED'],
      ['otto', 'operator', 'approval.requested', 'SUCCEEDED'],
    ]);
    expect(about(String(own.body['approvalId']))).toEqual([
      ['anna', 'approver', 'approval.approve', 'REFUSED'],
      ['anna', 'approver', 'approval.requested', 'SUCCEEDED'],
    ]);
    const executed = records.find((r) => r.action === 'terminal-settlement.executed' && r.details['approvalId'] === approvalId);
    expect(executed).toMatchObject({ actor: 'abel', target: `${mine}/T1`, outcome: 'SUCCEEDED', details: { requestedBy: 'otto', approvedBy: 'abel', batchIds: [batchId] } });
    expect(records.find((r) => r.actor === 'otto' && r.action === 'terminal-settlement.requested')).toMatchObject({ outcome: 'REFUSED', details: { code: 'FOUR_EYES_REQUIRED' } });
    expect(executed?.remoteAddress).toMatch(/127\.0\.0\.1$/);
    expect(Date.parse(String(executed?.atShanghai))).toBe(Date.parse(String(executed?.at)));
    expect(executed?.atShanghai).toMatch(/\+08:00$/);
    // The merchant's own settlement earlier is there too, by its key.
    const byTerminal = await call('GET', `/v1/audit?actor=${theirs}&action=terminal-settlement.executed`, asOperator('vera'));
    expect(byTerminal.body['records']).toEqual([expect.objectContaining({ role: 'merchant', target: `${theirs}/T1`, outcome: 'SUCCEEDED' })]);
  });

  it('serves /metrics and the OpenAPI document and UI on the admin port only, when ADMIN_PORT is set', async () => {
    const withAdmin = await bootService(clearingServiceDefinition, stack, {
      DATABASE_SCHEMA: uniqueName('clearing_admin'),
      KAFKA_TOPIC_PREFIX: `${uniqueName('clradmin')}.`,
      ADMIN_PORT: '0',
      ...clearingAuthEnv([mine]),
    });
    try {
      const adminUrl = withAdmin.adminUrl as string;
      expect(adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(adminUrl).not.toBe(withAdmin.url);
      const status = async (url: string, headers: Record<string, string> = {}) => (await fetch(url, { headers })).status;
      for (const path of ['/metrics', '/v1/openapi.json', '/v1/docs']) {
        expect({ path, public: await status(`${withAdmin.url}${path}`), admin: await status(`${adminUrl}${path}`) }).toEqual({ path, public: 404, admin: 200 });
      }
      expect(await (await fetch(`${withAdmin.url}/metrics`)).json()).toEqual({ code: 'NOT_FOUND', message: 'no such route' });
      expect(await (await fetch(`${adminUrl}/metrics`)).text()).toMatch(/^pos_clearing_/m);
      // The API stays on the public port; the admin port is not a way around it.
      expect(await status(`${withAdmin.url}/v1/batches`, asMerchant(mine))).toBe(200);
      expect(await status(`${adminUrl}/v1/batches`, asMerchant(mine))).toBe(404);
      expect([await status(`${withAdmin.url}/health/live`), await status(`${adminUrl}/health/live`)]).toEqual([200, 200]);
    } finally {
      await withAdmin.close();
    }
    // Without ADMIN_PORT (the service above), the public port serves them as before.
    expect((await fetch(`${service.url}/metrics`)).status).toBe(200);
  });
});
