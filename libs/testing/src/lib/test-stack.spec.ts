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
  const saved = process.env['KAFKA_IMAGE'];
  afterEach(() => {
    if (saved === undefined) delete process.env['KAFKA_IMAGE'];
    else process.env['KAFKA_IMAGE'] = saved;
  });

  it('prefers the environment, then the locally built image, then the official one', () => {
    const workspace = mkdtempSync(join(tmpdir(), 'images-'));
    delete process.env['KAFKA_IMAGE'];
    expect(imageFor('KAFKA_IMAGE', workspace)).toMatch(/^apache\/kafka:4\./);

    mkdirSync(join(workspace, '.cache'));
    writeFileSync(join(workspace, '.cache', 'images.env'), 'KAFKA_IMAGE=pos-local/kafka:abc\nPOSTGRES_IMAGE="pos-local/postgres:def"\n');
    expect(imageFor('KAFKA_IMAGE', workspace)).toBe('pos-local/kafka:abc');
    expect(imageFor('POSTGRES_IMAGE', workspace)).toBe('pos-local/postgres:def');

    process.env['KAFKA_IMAGE'] = 'apache/kafka:4.4.0';
    expect(imageFor('KAFKA_IMAGE', workspace)).toBe('apache/kafka:4.4.0');
  });
});
