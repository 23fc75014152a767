import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commonConfigSchema, ConfigError, kafkaConnectionOf, loadConfig, serviceConfigSchema } from './config';

const valid = {
  HTTP_PORT: '3001',
  DATABASE_URL: 'postgres://pos:secret@localhost:5432/pos',
  DATABASE_SCHEMA: 'payment',
  KAFKA_BROKERS: 'localhost:9092, kafka:29092',
};

describe('loadConfig', () => {
  it('parses and applies defaults', () => {
    expect(loadConfig(commonConfigSchema, valid)).toMatchObject({
      HTTP_HOST: '0.0.0.0',
      HTTP_PORT: 3001,
      KAFKA_BROKERS: ['localhost:9092', 'kafka:29092'],
      KAFKA_TOPIC_PARTITIONS: 6,
      LOG_LEVEL: 'info',
    });
  });

  it('names every problem at once', () => {
    try {
      loadConfig(commonConfigSchema, { ...valid, HTTP_PORT: 'eighty', KAFKA_BROKERS: 'nohostport', DATABASE_SCHEMA: 'Bad' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/HTTP_PORT/);
      expect(problems).toMatch(/KAFKA_BROKERS/);
      expect(problems).toMatch(/DATABASE_SCHEMA/);
    }
  });

  it('refuses a database URL that is not PostgreSQL', () => {
    expect(() => loadConfig(commonConfigSchema, { ...valid, DATABASE_URL: 'mysql://x@y/z' })).toThrow(ConfigError);
  });

  it('takes the migrations\' own PostgreSQL URL, when there is one', () => {
    expect(loadConfig(commonConfigSchema, valid).DATABASE_MIGRATION_URL).toBeUndefined();
    const owner = 'postgres://payment_owner:secret@localhost:5432/pos';
    expect(loadConfig(commonConfigSchema, { ...valid, DATABASE_MIGRATION_URL: owner }).DATABASE_MIGRATION_URL).toBe(owner);
    expect(() => loadConfig(commonConfigSchema, { ...valid, DATABASE_MIGRATION_URL: 'mysql://x@y/z' })).toThrow(/DATABASE_MIGRATION_URL/);
  });
});

describe('Kafka TLS and SASL settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-ca-'));
  const caFile = join(dir, 'ca.pem');
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  writeFileSync(caFile, pem);
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'hello');
  const scram = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'payment-service', KAFKA_SASL_PASSWORD: 's3cret' };
  const brokers = ['localhost:9092'];
  const problemsOf = (env: Record<string, string>): string => {
    try {
      loadConfig(serviceConfigSchema(), { ...valid, ...env });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems.join('\n');
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('connects in plaintext without authentication when none is set', () => {
    const config = loadConfig(serviceConfigSchema(), valid);
    expect(kafkaConnectionOf(config, 'payment-service', brokers)).toEqual({ clientId: 'payment-service', brokers });
  });

  it('reads the CA file at boot and passes SCRAM over TLS to the broker connection', () => {
    const config = loadConfig(serviceConfigSchema(), { ...valid, KAFKA_SSL_CA: caFile, ...scram });
    expect(config.KAFKA_SSL_CA).toBe(pem);
    expect(kafkaConnectionOf(config, 'payment-service', brokers)).toEqual({
      clientId: 'payment-service',
      brokers,
      ssl: true,
      tls: { ca: pem },
      sasl: { mechanism: 'scram-sha-512', username: 'payment-service', password: 's3cret' },
    });
  });

  it('uses the system CAs with KAFKA_SSL=true alone', () => {
    const config = loadConfig(serviceConfigSchema(), { ...valid, KAFKA_SSL: 'true', ...scram });
    expect(kafkaConnectionOf(config, 'c', brokers)).toMatchObject({ ssl: true, sasl: { mechanism: 'scram-sha-512' } });
    expect(kafkaConnectionOf(config, 'c', brokers)).not.toHaveProperty('tls');
  });

  it('refuses SASL without TLS, so a password never travels in clear', () => {
    expect(problemsOf(scram)).toMatch(/KAFKA_SSL: SASL needs TLS/);
  });

  it('refuses a partial SASL setting', () => {
    expect(problemsOf({ KAFKA_SSL: 'true', KAFKA_SASL_USERNAME: 'payment-service', KAFKA_SASL_PASSWORD: 's3cret' })).toMatch(
      /KAFKA_SASL_MECHANISM: .*set together/,
    );
    expect(problemsOf({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'payment-service' })).toMatch(/set together/);
  });

  it('refuses mechanisms other than SCRAM, a CA file that cannot be read or holds no certificate, and a bad flag', () => {
    expect(problemsOf({ KAFKA_SSL: 'true', ...scram, KAFKA_SASL_MECHANISM: 'plain' })).toMatch(/KAFKA_SASL_MECHANISM/);
    expect(problemsOf({ KAFKA_SSL_CA: join(dir, 'missing.pem') })).toMatch(/KAFKA_SSL_CA: .*missing\.pem cannot be read/);
    expect(problemsOf({ KAFKA_SSL_CA: notPem })).toMatch(/KAFKA_SSL_CA: .*holds no PEM certificate/);
    expect(problemsOf({ KAFKA_SSL: 'yes' })).toMatch(/KAFKA_SSL/);
  });

  it('never puts the password in a problem', () => {
    expect(problemsOf({ KAFKA_SSL_CA: notPem, ...scram })).not.toMatch(/s3cret/);
  });
});
