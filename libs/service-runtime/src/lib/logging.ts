import { DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';

export interface ServiceIdentity {
  readonly name: string;
  readonly version: string;
}

/**
 * Anything that can authenticate or identify a customer is redacted wherever it appears in a log
 * line: API keys, authorization headers, supervisor credentials, payment codes and card data.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  '*.apiKey',
  '*.password',
  '*.supervisorPassword',
  '*.supervisorCredential',
  '*.paymentCode',
  '*.authCode',
  '*.cardNumber',
  '*.pan',
];

/** JSON logs with the service name and version on every line; health probes are not logged. */
export function loggingModule(service: ServiceIdentity, level: string): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: {
      level,
      base: { service: service.name, version: service.version },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health') },
    },
  });
}
