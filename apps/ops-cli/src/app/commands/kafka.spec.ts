import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaPrincipals } from '@pos/contracts';
import { KafkaCredentials } from '@pos/kafka-security';
import { CliError } from '../exit-codes';
import { BROKER_KEY_STORE, kafkaCredentialsCommand } from './kafka';

const options = { hosts: 'kafka,localhost,127.0.0.1', days: '30' };
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('ops kafka credentials: the compose stack broker credentials, made once', () => {
  let root: string;
  let dir: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ops-kafka-credentials-'));
    dir = join(root, 'kafka');
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('makes the CA, the broker key store, the upstream client certificate and the passwords, in a directory only its owner enters', async () => {
    const report = await kafkaCredentialsCommand(dir, options);
    expect(report.created).toBe(true);
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(join(dir, 'kafka-credentials.env'))).toBe(0o600);
    // Mounted into the broker's and the services' containers, whose users are not this one.
    expect(await modeOf(join(dir, BROKER_KEY_STORE))).toBe(0o644);
    expect(await modeOf(join(dir, 'ca.pem'))).toBe(0o644);
    for (const file of report.files) expect((await stat(file)).isFile()).toBe(true);

    const keyStore = await readFile(join(dir, BROKER_KEY_STORE), 'utf8');
    const broker = new X509Certificate(keyStore.slice(keyStore.indexOf('-----BEGIN CERTIFICATE-----')));
    expect(broker.subjectAltName).toBe('DNS:kafka, DNS:localhost, IP Address:127.0.0.1');
    const client = new X509Certificate(await readFile(join(dir, 'client-upstream.crt')));
    expect(client.subject).toBe('CN=upstream');
    expect(client.verify(new X509Certificate(await readFile(join(dir, 'ca.pem'))).publicKey)).toBe(true);
  });

  it('keeps what a later start finds: the same passwords and the same CA', async () => {
    await kafkaCredentialsCommand(dir, options);
    const before = await KafkaCredentials.open(dir, { days: 30 });
    const ca = await readFile(join(dir, 'ca.pem'), 'utf8');
    const again = await kafkaCredentialsCommand(dir, options);
    expect(again.created).toBe(false);
    expect((await KafkaCredentials.open(dir, { days: 30 })).passwords).toEqual(before.passwords);
    expect(await readFile(join(dir, 'ca.pem'), 'utf8')).toBe(ca);
  });

  it('makes a directory left half made (no key store) again, with new passwords', async () => {
    await kafkaCredentialsCommand(dir, options);
    const before = await KafkaCredentials.open(dir, { days: 30 });
    await unlink(join(dir, BROKER_KEY_STORE));
    expect((await kafkaCredentialsCommand(dir, options)).created).toBe(true);
    const after = await KafkaCredentials.open(dir, { days: 30 });
    expect(after.passwords[KafkaPrincipals.admin]).not.toBe(before.passwords[KafkaPrincipals.admin]);
  });

  it('refuses host names and validity it cannot put in a certificate', async () => {
    await expect(kafkaCredentialsCommand(dir, { ...options, hosts: 'kafka,bad host' })).rejects.toThrow(CliError);
    await expect(kafkaCredentialsCommand(dir, { ...options, hosts: ' , ' })).rejects.toThrow(/--hosts/);
    await expect(kafkaCredentialsCommand(dir, { ...options, days: '0' })).rejects.toThrow(/--days/);
  });
});
