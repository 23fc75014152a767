import { connect } from 'node:net';
import { StartedTestContainer } from 'testcontainers';

/**
 * The container's own address on its Docker network, when this host can reach it (Docker Engine on
 * Linux can; Docker Desktop cannot). Going there directly skips the published port's proxy, which
 * otherwise relays every packet through one more process and doubles each round trip's cost.
 */
export function containerAddress(container: StartedTestContainer): string | undefined {
  const [network] = container.getNetworkNames();
  const address = network ? container.getIpAddress(network) : '';
  return address || undefined;
}

/** True when a TCP connection to host:port opens within the timeout. */
export function answers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
