import { readFileSync } from 'node:fs';
import { BrokerConnection } from '@pos/messaging';
import { usageError } from './exit-codes';

export interface ConnectionOptions {
  readonly brokers: string;
  readonly ssl?: boolean;
  readonly sslCa?: string;
  readonly sslInsecure?: boolean;
  readonly saslMechanism?: string;
  readonly saslUsername?: string;
  readonly saslPassword?: string;
}

const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
type Mechanism = (typeof MECHANISMS)[number];

/** Command-line and environment settings to the broker port's connection. */
export function brokerConnection(options: ConnectionOptions): BrokerConnection {
  const brokers = options.brokers
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (brokers.length === 0 || brokers.some((b) => !/^[^\s:/]+:[0-9]{1,5}$/.test(b))) {
    throw usageError(`--brokers "${options.brokers}" is not a comma-separated list of host:port`);
  }
  let tls: BrokerConnection['tls'];
  if (options.sslCa !== undefined || options.sslInsecure) {
    let ca: string | undefined;
    if (options.sslCa !== undefined) {
      try {
        ca = readFileSync(options.sslCa, 'utf8');
      } catch (error) {
        throw usageError(`--ssl-ca ${options.sslCa} cannot be read: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    tls = { ...(ca !== undefined ? { ca } : {}), ...(options.sslInsecure ? { rejectUnauthorized: false } : {}) };
  }
  let sasl: BrokerConnection['sasl'];
  if (options.saslMechanism !== undefined || options.saslUsername !== undefined) {
    const mechanism = (options.saslMechanism ?? 'plain').toLowerCase();
    if (!MECHANISMS.includes(mechanism as Mechanism)) {
      throw usageError(`--sasl-mechanism ${options.saslMechanism} is not one of ${MECHANISMS.join(', ')}`);
    }
    if (!options.saslUsername || options.saslPassword === undefined) {
      throw usageError('SASL needs --sasl-username and a password (KAFKA_SASL_PASSWORD, or --sasl-password)');
    }
    sasl = { mechanism: mechanism as Mechanism, username: options.saslUsername, password: options.saslPassword };
  }
  return {
    clientId: 'pos-ops-cli',
    brokers,
    ...(options.ssl || tls ? { ssl: true } : {}),
    ...(tls ? { tls } : {}),
    ...(sasl ? { sasl } : {}),
  };
}
