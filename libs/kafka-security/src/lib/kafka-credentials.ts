import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { KafkaPrincipal, KafkaPrincipals } from '@pos/contracts';

const run = promisify(execFile);

/** The only SASL mechanism the platform's brokers enable. */
export const KAFKA_SASL_MECHANISM = 'scram-sha-512' as const;

/** What a directory of credentials holds (KafkaCredentials). */
export const KafkaCredentialFiles = {
  /** The CA's certificate: what clients trust (KAFKA_SSL_CA). */
  ca: 'ca.pem',
  caKey: 'ca.key',
  /** The principals' passwords, as `KEY='value'` lines a shell can source (passwordVariable). */
  passwords: 'kafka-credentials.env',
} as const;

/** The variable of a principal's password in the passwords file: `KAFKA_PASSWORD_PAYMENT_SERVICE` for `payment-service`. */
export function passwordVariable(principal: KafkaPrincipal): string {
  return `KAFKA_PASSWORD_${principal.toUpperCase().replace(/-/g, '_')}`;
}

/** The passwords file's variable with the `kafka-storage.sh format` arguments (KafkaCredentials.scramFormatArguments). */
export const SCRAM_FORMAT_VARIABLE = 'KAFKA_SCRAM_FORMAT_ARGUMENTS';

export interface KafkaCredentialsOptions {
  /** How long the CA and the certificates it signs are valid. */
  readonly days: number;
  /** The CA certificate's common name. */
  readonly caName: string;
}

/**
 * A broker's secrets, in a directory of their own: a CA, the broker's key and certificate signed
 * by it (for the names clients use), client certificates, and a random SCRAM-SHA-512 password for
 * each principal of libs/contracts' KafkaPrincipals. Made with openssl; the test stack makes one per
 * run in a temporary directory, the compose stack one on its first start, kept for later starts.
 */
export class KafkaCredentials {
  private constructor(
    readonly dir: string,
    readonly days: number,
    readonly passwords: Readonly<Record<KafkaPrincipal, string>>,
  ) {}

  /** PEM of the CA: what clients trust (KAFKA_SSL_CA). */
  get caFile(): string {
    return join(this.dir, KafkaCredentialFiles.ca);
  }

  /** Makes a CA and a password per principal in `dir` (which exists and is the caller's to protect). */
  static async create(directory: string, options: KafkaCredentialsOptions): Promise<KafkaCredentials> {
    // openssl runs in the directory, and is given the paths of files in it.
    const dir = resolve(directory);
    await openssl(dir, [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', String(options.days), '-subj', `/CN=${options.caName}`,
      '-keyout', KafkaCredentialFiles.caKey, '-out', KafkaCredentialFiles.ca,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const passwords = Object.fromEntries(Object.values(KafkaPrincipals).map((name) => [name, randomBytes(18).toString('base64url')]));
    const credentials = new KafkaCredentials(dir, options.days, passwords as Record<KafkaPrincipal, string>);
    const file = join(dir, KafkaCredentialFiles.passwords);
    await writeFile(file, credentials.passwordsFile(), { mode: 0o600 });
    await chmod(file, 0o600);
    return credentials;
  }

  /** The credentials `create` made in `dir` earlier. */
  static async open(directory: string, options: Pick<KafkaCredentialsOptions, 'days'>): Promise<KafkaCredentials> {
    const dir = resolve(directory);
    const values = new Map<string, string>();
    for (const line of (await readFile(join(dir, KafkaCredentialFiles.passwords), 'utf8')).split('\n')) {
      const match = /^([A-Z0-9_]+)='([^']*)'$/.exec(line.trim());
      if (match) values.set(match[1], match[2]);
    }
    const passwords = Object.fromEntries(
      Object.values(KafkaPrincipals).map((principal) => {
        const password = values.get(passwordVariable(principal));
        if (!password) throw new Error(`${join(dir, KafkaCredentialFiles.passwords)} has no ${passwordVariable(principal)}: make the credentials again`);
        return [principal, password];
      }),
    );
    return new KafkaCredentials(dir, options.days, passwords as Record<KafkaPrincipal, string>);
  }

  /** The broker's PEM key store (unencrypted PKCS#8 key, certificate, CA) for these host names and addresses. */
  async brokerKeyStore(names: readonly string[]): Promise<string> {
    const alternatives = [...new Set(names)].map((name) => (isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
    await writeFile(join(this.dir, 'broker.ext'), `subjectAltName=${alternatives}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
    await openssl(this.dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=kafka', '-keyout', 'broker.key', '-out', 'broker.csr']);
    await this.sign('broker.csr', 'broker.ext', 'broker.crt');
    const parts = await Promise.all(['broker.key', 'broker.crt', KafkaCredentialFiles.ca].map((file) => readFile(join(this.dir, file), 'utf8')));
    return parts.join('');
  }

  /**
   * A client certificate for `principal` (CN=<principal>, which the broker maps to
   * `User:<principal>`), for clients that authenticate with TLS alone: returns its key and
   * certificate files (PEM, in the directory).
   */
  async clientCertificate(principal: KafkaPrincipal): Promise<{ keyFile: string; certFile: string }> {
    const [keyFile, csr, certFile, ext] = ['key', 'csr', 'crt', 'ext'].map((suffix) => join(this.dir, `client-${principal}.${suffix}`));
    await writeFile(ext, 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
    await openssl(this.dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${principal}`, '-keyout', keyFile, '-out', csr]);
    await this.sign(csr, ext, certFile);
    return { keyFile, certFile };
  }

  /** `kafka-storage.sh format` arguments that create every principal's SCRAM credential with the storage. */
  scramFormatArguments(): string[] {
    return Object.entries(this.passwords).flatMap(([name, password]) => ['--add-scram', `SCRAM-SHA-512=[name=${name},password=${password}]`]);
  }

  private async sign(csr: string, ext: string, out: string): Promise<void> {
    await openssl(this.dir, [
      'x509', '-req', '-in', csr, '-CA', KafkaCredentialFiles.ca, '-CAkey', KafkaCredentialFiles.caKey, '-CAcreateserial',
      '-days', String(this.days), '-extfile', ext, '-out', out,
    ]);
  }

  /** Passwords are base64url: nothing in them needs quoting in a shell, a YAML file or a JAAS line. */
  private passwordsFile(): string {
    return [
      '# SCRAM-SHA-512 passwords of the Kafka principals, made with the CA of this directory. Delete the directory for new ones.',
      ...Object.values(KafkaPrincipals).map((principal) => `${passwordVariable(principal)}='${this.passwords[principal]}'`),
      `${SCRAM_FORMAT_VARIABLE}='${this.scramFormatArguments().join(' ')}'`,
      '',
    ].join('\n');
  }
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed (the broker's certificates are made with openssl): ${stderr || String(error)}`);
  }
}
