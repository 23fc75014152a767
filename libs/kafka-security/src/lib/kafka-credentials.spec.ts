import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { KafkaPrincipals } from '@pos/contracts';
import { KafkaCredentialFiles, KafkaCredentials, passwordVariable, SCRAM_FORMAT_VARIABLE } from './kafka-credentials';

/** The certificates of a PEM text, in order. */
function certificates(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block));
}

describe('KafkaCredentials: a CA, certificates signed by it and a SCRAM password per principal (openssl)', () => {
  let dir: string;
  let credentials: KafkaCredentials;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kafka-credentials-spec-'));
    credentials = await KafkaCredentials.create(dir, { days: 30, caName: 'spec CA' });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a CA certificate valid for the days asked', async () => {
    const [ca] = certificates(await readFile(credentials.caFile, 'utf8'));
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=spec CA');
    const days = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(30);
  });

  it('gives every principal a password of its own, 144 random bits, written to a file only its owner reads', async () => {
    const principals = Object.values(KafkaPrincipals);
    expect(Object.keys(credentials.passwords).sort()).toEqual([...principals].sort());
    const passwords = principals.map((p) => credentials.passwords[p]);
    expect(new Set(passwords).size).toBe(principals.length);
    for (const password of passwords) expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const file = join(dir, KafkaCredentialFiles.passwords);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    expect(text).toContain(`${passwordVariable(KafkaPrincipals.payment)}='${credentials.passwords['payment-service']}'`);
    expect(text).toContain(`${SCRAM_FORMAT_VARIABLE}='${credentials.scramFormatArguments().join(' ')}'`);
  });

  it('opens the same credentials again: a later start reuses them', async () => {
    const again = await KafkaCredentials.open(dir, { days: 30 });
    expect(again.passwords).toEqual(credentials.passwords);
    expect(again.caFile).toBe(credentials.caFile);
  });

  it('refuses a passwords file that lacks a principal', async () => {
    const other = await mkdtemp(join(tmpdir(), 'kafka-credentials-spec-'));
    try {
      await KafkaCredentials.create(other, { days: 1, caName: 'other CA' });
      const file = join(other, KafkaCredentialFiles.passwords);
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replace(/^KAFKA_PASSWORD_UPSTREAM=.*$/m, ''));
      await expect(KafkaCredentials.open(other, { days: 1 })).rejects.toThrow(/no KAFKA_PASSWORD_UPSTREAM/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it("signs the broker's certificate for exactly the names clients use, and puts key, certificate and CA in its key store", async () => {
    const keyStore = await credentials.brokerKeyStore(['kafka', 'localhost', '127.0.0.1', 'kafka']);
    expect(keyStore).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const [broker, ca] = certificates(keyStore);
    expect(ca.fingerprint256).toBe(certificates(await readFile(credentials.caFile, 'utf8'))[0].fingerprint256);
    expect(broker.verify(ca.publicKey)).toBe(true);
    expect(broker.subjectAltName).toBe('DNS:kafka, DNS:localhost, IP Address:127.0.0.1');
    expect(broker.checkHost('kafka')).toBe('kafka');
    expect(broker.checkHost('kafka.example')).toBeUndefined();
    expect(broker.ca).toBe(false);
  });

  it('makes a client certificate whose subject is the principal, signed by the CA', async () => {
    const { certFile, keyFile } = await credentials.clientCertificate(KafkaPrincipals.upstream);
    const [client] = certificates(await readFile(certFile, 'utf8'));
    const [ca] = certificates(await readFile(credentials.caFile, 'utf8'));
    expect(client.subject).toBe('CN=upstream');
    expect(client.verify(ca.publicKey)).toBe(true);
    expect(client.checkPrivateKey(createPrivateKey(await readFile(keyFile)))).toBe(true);
  });

  it('works in a directory named relative to the working directory, as a script names it', async () => {
    const other = await mkdtemp(join(tmpdir(), 'kafka-credentials-spec-'));
    try {
      const relativeOnes = await KafkaCredentials.create(relative(process.cwd(), other), { days: 1, caName: 'relative CA' });
      const { certFile } = await relativeOnes.clientCertificate(KafkaPrincipals.operator);
      expect(certFile).toBe(join(other, 'client-operator.crt'));
      expect(certificates(await readFile(certFile, 'utf8'))[0].subject).toBe('CN=operator');
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('formats SCRAM-SHA-512 credentials for every principal into the storage arguments', () => {
    const args = credentials.scramFormatArguments();
    expect(args.filter((a) => a === '--add-scram')).toHaveLength(Object.values(KafkaPrincipals).length);
    expect(args).toContain(`SCRAM-SHA-512=[name=admin,password=${credentials.passwords.admin}]`);
  });
});
