import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel, SASLOptions } from 'kafkajs';
import { allTopics, kafkaGrants, KafkaPrincipals } from '@pos/contracts';
import { grantAcls, KafkaCredentialFiles, KafkaCredentials } from '@pos/kafka-security';
import { BrokerConnection } from '@pos/messaging';
import { usageError } from '../exit-codes';

/** The broker's key store (key, certificate, CA) in a credentials directory. */
export const BROKER_KEY_STORE = 'broker.pem';

export interface KafkaCredentialsOptions {
  /** The names and addresses clients reach the broker by: its certificate is valid for these only. */
  readonly hosts: string;
  readonly days: string;
}

export interface KafkaCredentialsReport {
  readonly dir: string;
  /** False: the directory had credentials already, which are kept as they are. */
  readonly created: boolean;
  readonly files: readonly string[];
}

const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$|^[0-9a-fA-F:.]+$/;

/**
 * A broker's credentials for a stack of one's own (the compose stack's first start): a CA, the
 * broker's key store for `hosts`, a SCRAM-SHA-512 password per principal, and a client certificate
 * of the upstream principal (for librdkafka clients whose SCRAM the broker refuses). Made once:
 * a directory that has them keeps them (delete it for new ones). The directory is its owner's
 * alone; the key store in it is readable by others (the broker's container runs as its own user).
 */
export async function kafkaCredentialsCommand(dir: string, options: KafkaCredentialsOptions): Promise<KafkaCredentialsReport> {
  const hosts = options.hosts.split(',').map((h) => h.trim()).filter(Boolean);
  if (hosts.length === 0 || hosts.some((h) => !HOST.test(h))) throw usageError(`--hosts "${options.hosts}" is not a comma-separated list of host names and addresses`);
  if (!/^[0-9]{1,4}$/.test(options.days) || Number(options.days) < 1) throw usageError(`--days ${options.days} is not a number of days from 1 to 9999`);
  const files = [KafkaCredentialFiles.ca, KafkaCredentialFiles.passwords, BROKER_KEY_STORE, 'client-upstream.crt', 'client-upstream.key'].map((f) => join(dir, f));
  // The key store is written last: a directory without it was left half made, and is made again.
  if (existsSync(join(dir, BROKER_KEY_STORE))) return { dir, created: false, files };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const credentials = await KafkaCredentials.create(dir, { days: Number(options.days), caName: 'pos Kafka CA' });
  await credentials.clientCertificate(KafkaPrincipals.upstream);
  await writeFile(join(dir, BROKER_KEY_STORE), await credentials.brokerKeyStore(hosts));
  // Mounted into containers whose users are not this one: readable, inside a directory only its owner enters.
  for (const file of [KafkaCredentialFiles.ca, BROKER_KEY_STORE]) await chmod(join(dir, file), 0o644);
  return { dir, created: true, files };
}

export function renderKafkaCredentials(report: KafkaCredentialsReport): string {
  const head = report.created ? `made new Kafka credentials in ${report.dir}:` : `${report.dir} has Kafka credentials already; kept (delete it for new ones):`;
  return [head, ...report.files.map((f) => `  ${f}`)].join('\n');
}

export interface KafkaSetupReport {
  /** Topics of the contracts that were missing and are now created. */
  readonly createdTopics: readonly string[];
  readonly grants: number;
}

/**
 * As the broker's admin: creates the contracts' topics that are missing (every service's topics
 * and dead-letter topics) and grants the ACLs of libs/contracts' kafkaGrants. Safe to repeat.
 */
export async function kafkaSetupCommand(connection: BrokerConnection, partitions: string): Promise<KafkaSetupReport> {
  if (!/^[0-9]{1,4}$/.test(partitions) || Number(partitions) < 1 || Number(partitions) > 1000) throw usageError(`--partitions ${partitions} is not a number from 1 to 1000`);
  const admin = new Kafka({
    clientId: connection.clientId,
    brokers: [...connection.brokers],
    ssl: connection.tls ? { ...connection.tls } : connection.ssl,
    // The union of kafkajs' SASL options is per mechanism; a BrokerConnection's is one of them.
    ...(connection.sasl ? { sasl: { ...connection.sasl } as SASLOptions } : {}),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const createdTopics = allTopics().filter((topic) => !existing.has(topic));
    if (createdTopics.length > 0) {
      await admin.createTopics({ waitForLeaders: false, topics: createdTopics.map((topic) => ({ topic, numPartitions: Number(partitions) })) });
    }
    await grantAcls(admin);
    return { createdTopics, grants: kafkaGrants().length };
  } finally {
    await admin.disconnect();
  }
}

export function renderKafkaSetup(report: KafkaSetupReport): string {
  const topics = report.createdTopics.length > 0 ? `created ${report.createdTopics.length} topics: ${report.createdTopics.join(', ')}` : 'every topic exists';
  return `${topics}; granted ${report.grants} ACLs (kafkaGrants)`;
}
