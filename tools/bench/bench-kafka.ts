import type { KafkaOptions } from '@pos/testing';

/**
 * How the benchmarks' broker takes clients, from BENCH_KAFKA_SECURITY: `sasl_ssl` (the default, as
 * deployed: TLS, SCRAM-SHA-512 and ACLs) or `plaintext` (no TLS, no authentication), to measure
 * what TLS and SASL cost with the same command.
 */
export function benchKafkaOptions(value = process.env['BENCH_KAFKA_SECURITY'] ?? 'sasl_ssl'): KafkaOptions & { readonly label: string } {
  if (value === 'sasl_ssl') return { label: 'Kafka over SASL_SSL (SCRAM-SHA-512, ACLs)' };
  if (value === 'plaintext') return { plaintext: true, label: 'Kafka over PLAINTEXT (no TLS, no authentication)' };
  throw new Error(`BENCH_KAFKA_SECURITY must be sasl_ssl or plaintext, not ${JSON.stringify(value)}`);
}
