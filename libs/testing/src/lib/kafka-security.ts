import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Admin, ResourcePatternTypes } from 'kafkajs';
import { KafkaGrant, kafkaGrants, KafkaPrincipal, KafkaPrincipals } from '@pos/contracts';

const run = promisify(execFile);

/** The only SASL mechanism the test broker enables. */
export const TEST_SASL_MECHANISM = 'scram-sha-512' as const;

/**
 * A broker's secrets for one run, in a temporary directory of their own: a CA, the broker's key and
 * certificate signed by it (for the addresses clients use), and a random SCRAM password for each
 * principal of libs/contracts' KafkaPrincipals. Nothing of it is kept or committed.
 */
export class KafkaSecrets {
  private constructor(
    readonly dir: string,
    /** PEM of the CA: what clients trust (KAFKA_SSL_CA). */
    readonly caFile: string,
    readonly passwords: Readonly<Record<KafkaPrincipal, string>>,
  ) {}

  static async create(): Promise<KafkaSecrets> {
    const dir = await mkdtemp(join(tmpdir(), 'pos-kafka-'));
    const caFile = join(dir, 'ca.pem');
    await openssl(dir, [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '7', '-subj', '/CN=pos test Kafka CA',
      '-keyout', 'ca.key', '-out', 'ca.pem',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const passwords = Object.fromEntries(Object.values(KafkaPrincipals).map((name) => [name, randomBytes(18).toString('base64url')]));
    return new KafkaSecrets(dir, caFile, passwords as Record<KafkaPrincipal, string>);
  }

  /** The broker's PEM key store (unencrypted PKCS#8 key, certificate, CA) for these host names and addresses. */
  async brokerKeyStore(names: readonly string[]): Promise<string> {
    const alternatives = [...new Set(names)].map((name) => (isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
    await writeFile(join(this.dir, 'broker.ext'), `subjectAltName=${alternatives}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
    await openssl(this.dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=kafka', '-keyout', 'broker.key', '-out', 'broker.csr']);
    await openssl(this.dir, [
      'x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-days', '7', '-extfile', 'broker.ext', '-out', 'broker.crt',
    ]);
    const parts = await Promise.all(['broker.key', 'broker.crt', 'ca.pem'].map((file) => readFile(join(this.dir, file), 'utf8')));
    return parts.join('');
  }

  /**
   * A client certificate for `principal` (CN=<principal>, which the broker maps to
   * `User:<principal>`), for clients that authenticate with TLS alone: returns its key and
   * certificate files (PEM).
   */
  async clientCertificate(principal: KafkaPrincipal): Promise<{ keyFile: string; certFile: string }> {
    const [keyFile, csr, certFile, ext] = ['key', 'csr', 'crt', 'ext'].map((suffix) => join(this.dir, `client-${principal}.${suffix}`));
    await writeFile(ext, 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
    await openssl(this.dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${principal}`, '-keyout', keyFile, '-out', csr]);
    await openssl(this.dir, ['x509', '-req', '-in', csr, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '7', '-extfile', ext, '-out', certFile]);
    return { keyFile, certFile };
  }

  /** `kafka-storage.sh format` arguments that create every principal's SCRAM credential with the storage. */
  scramFormatArguments(): string[] {
    return Object.entries(this.passwords).flatMap(([name, password]) => ['--add-scram', `SCRAM-SHA-512=[name=${name},password=${password}]`]);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed (the test stack makes its broker's certificates with openssl): ${stderr || String(error)}`);
  }
}

const operations: Record<KafkaGrant['operation'], AclOperationTypes> = {
  read: AclOperationTypes.READ,
  write: AclOperationTypes.WRITE,
  describe: AclOperationTypes.DESCRIBE,
};

/** Creates the ACLs of libs/contracts' kafkaGrants on the broker, as its admin. */
export async function grantAcls(admin: Admin): Promise<void> {
  await admin.createAcls({
    acl: kafkaGrants().map((grant) => ({
      resourceType: grant.resource === 'topic' ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
      resourceName: grant.name,
      resourcePatternType: grant.pattern === 'literal' ? ResourcePatternTypes.LITERAL : ResourcePatternTypes.PREFIXED,
      principal: `User:${grant.principal}`,
      host: '*',
      operation: operations[grant.operation],
      permissionType: AclPermissionTypes.ALLOW,
    })),
  });
}
