import { commonConfigSchema, ConfigError, loadConfig } from './config';

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
});
