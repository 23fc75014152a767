import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageFor } from './images';
import { uniqueName } from './test-stack';

describe('uniqueName', () => {
  it('is a valid topic, group and schema name, different every time', () => {
    const names = new Set(Array.from({ length: 1000 }, () => uniqueName('Void-Service.test')));
    expect(names.size).toBe(1000);
    for (const name of names) expect(name).toMatch(/^void_service_test_[0-9a-f]{10}$/);
  });
});

describe('imageFor', () => {
  const variables = ['KAFKA_IMAGE', 'POSTGRES_IMAGE', 'NODE_IMAGE'] as const;
  const saved = Object.fromEntries(variables.map((v) => [v, process.env[v]]));
  beforeEach(() => variables.forEach((v) => delete process.env[v]));
  afterEach(() => {
    for (const v of variables) {
      if (saved[v] === undefined) delete process.env[v];
      else process.env[v] = saved[v];
    }
  });

  it('prefers the environment, then the locally built image, then the official one', () => {
    const workspace = mkdtempSync(join(tmpdir(), 'images-'));
    expect(imageFor('KAFKA_IMAGE', workspace)).toMatch(/^apache\/kafka:4\./);

    mkdirSync(join(workspace, '.cache'));
    writeFileSync(join(workspace, '.cache', 'images.env'), 'KAFKA_IMAGE=pos-local/kafka:abc\nPOSTGRES_IMAGE="pos-local/postgres:def"\n');
    expect(imageFor('KAFKA_IMAGE', workspace)).toBe('pos-local/kafka:abc');
    expect(imageFor('POSTGRES_IMAGE', workspace)).toBe('pos-local/postgres:def');

    process.env['KAFKA_IMAGE'] = 'apache/kafka:4.4.0';
    expect(imageFor('KAFKA_IMAGE', workspace)).toBe('apache/kafka:4.4.0');
  });
});
