import { contractFor } from './messages';
import { isSourceAllowed, ServiceSources, UPSTREAM } from './sources';
import { Topics } from './topics';

describe('who may send what (ce_source)', () => {
  it('takes a service event only from that service', () => {
    const succeeded = contractFor(Topics.paymentEvents, 'pos.payment.succeeded');
    expect(succeeded?.producer).toBe(ServiceSources.payment);
    expect(isSourceAllowed(ServiceSources.payment, '/payment-service')).toBe(true);
    expect(isSourceAllowed(ServiceSources.payment, '/clearing-service')).toBe(false);
    expect(isSourceAllowed(ServiceSources.payment, '/acme-pos-gateway')).toBe(false);
    expect(contractFor(Topics.clearingEvents, 'pos.clearing.payment.cleared')?.producer).toBe(ServiceSources.clearing);
    expect(contractFor(Topics.voidEvents, 'pos.void.accepted')?.producer).toBe(ServiceSources.void);
  });

  it('takes commands from upstream systems, never from a platform service', () => {
    expect(contractFor(Topics.paymentCommands, 'pos.payment.requested')?.producer).toBe(UPSTREAM);
    expect(isSourceAllowed(UPSTREAM, '/acme-pos-gateway')).toBe(true);
    expect(isSourceAllowed(UPSTREAM, '/payment-service')).toBe(false);
  });

  it('takes commands only from the upstream systems a deployment names, when it names them', () => {
    const named = ['/acme-pos-gateway', '/terminal-host'];
    expect(isSourceAllowed(UPSTREAM, '/terminal-host', named)).toBe(true);
    expect(isSourceAllowed(UPSTREAM, '/someone-else', named)).toBe(false);
    expect(isSourceAllowed(UPSTREAM, '/payment-service', named)).toBe(false);
  });
});
