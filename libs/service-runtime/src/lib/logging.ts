import { LoggerService } from '@nestjs/common';
import { AsyncResource } from 'node:async_hooks';
import pino, { Level, Logger as Pino } from 'pino';
import { continueTrace } from '@pos/contracts';
import { currentTrace, inTrace } from '@pos/messaging';

export interface ServiceIdentity {
  readonly name: string;
  readonly version: string;
}

export type LogLevel = Level | 'silent';

const SECRET_FIELDS = ['apiKey', 'password', 'supervisorPassword', 'supervisorCredential', 'credential', 'paymentCode', 'authCode', 'cardNumber', 'pan'];
const SECRET_HEADERS = ['authorization', '["x-api-key"]', 'cookie'];

/**
 * Anything that can authenticate or identify a customer is redacted wherever it appears in a
 * logged object, up to three levels deep: API keys, authorization headers, supervisor credentials,
 * payment codes and card data.
 */
export const REDACTED_PATHS = ['', '*.', '*.*.'].flatMap((prefix) => [
  ...SECRET_FIELDS.map((field) => `${prefix}${field}`),
  ...SECRET_HEADERS.map((header) => `${prefix}headers${header.startsWith('[') ? '' : '.'}${header}`),
]);

/**
 * The trace and span of the request or event being handled, on each line written while handling
 * it: one lookup in the async-local context, only for lines that are written. A new object each
 * time: pino merges the line's own fields into it.
 */
function traceFields(): { traceId?: string; spanId?: string } {
  const trace = currentTrace();
  return trace ? { traceId: trace.traceId, spanId: trace.spanId } : {};
}

/** The service's JSON logger: one line per entry, with the service's name and version on each, and the trace (see traceFields). */
export function createServiceLogger(identity: ServiceIdentity, level: LogLevel, destination?: pino.DestinationStream): Pino {
  const options = {
    level,
    base: { service: identity.name, version: identity.version },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    mixin: traceFields,
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Nest's logger interface on the service's JSON logger. Nest calls `log(message, context)` and
 * `error(message, stack, context)`; the context (the class that logs) becomes a field of the line.
 */
export class JsonLogger implements LoggerService {
  constructor(private readonly logger: Pino) {}

  log(message: unknown, ...optional: unknown[]): void {
    this.write('info', message, optional);
  }

  error(message: unknown, ...optional: unknown[]): void {
    this.write('error', message, optional);
  }

  warn(message: unknown, ...optional: unknown[]): void {
    this.write('warn', message, optional);
  }

  debug(message: unknown, ...optional: unknown[]): void {
    this.write('debug', message, optional);
  }

  verbose(message: unknown, ...optional: unknown[]): void {
    this.write('trace', message, optional);
  }

  fatal(message: unknown, ...optional: unknown[]): void {
    this.write('fatal', message, optional);
  }

  private write(level: Level, message: unknown, optional: unknown[]): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    const rest = [...optional];
    // Nest appends the logger's context last; for errors, a stack trace may come before it.
    if (rest.length > 0 && typeof rest[rest.length - 1] === 'string') fields['context'] = rest.pop();
    if (level === 'error' && typeof rest[0] === 'string' && rest[0]) fields['stack'] = rest.shift();
    if (message instanceof Error) {
      fields['err'] = message;
      this.logger[level](fields, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.logger[level]({ ...fields, ...(message as Record<string, unknown>) });
    } else {
      this.logger[level](fields, String(message));
    }
  }
}

interface LoggedRequest {
  readonly method?: string;
  readonly originalUrl?: string;
  readonly url?: string;
}

interface LoggedResponse {
  readonly statusCode: number;
  once(event: 'finish', listener: () => void): unknown;
}

/**
 * Express middleware for the access log: one `info` line per answered request with its method,
 * path, status and duration, nothing from headers, body or query string: a client that puts an API
 * key or a payment code in the URL by mistake must not have it written to the logs, and a query
 * string, names or values, can hold anything. Health probes are not logged. When the level is
 * above `info` it is not installed at all, so a request costs nothing for it.
 */
export function accessLog(logger: Pino): ((request: LoggedRequest, response: LoggedResponse, next: () => void) => void) | undefined {
  if (!logger.isLevelEnabled('info')) return undefined;
  return (request, response, next) => {
    const url = request.originalUrl ?? request.url ?? '';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    if (path.startsWith('/health')) {
      next();
      return;
    }
    const started = process.hrtime.bigint();
    // Bound to the request's context: the line carries the request's trace.
    response.once('finish', AsyncResource.bind(() => {
      logger.info(
        {
          req: { method: request.method, path },
          res: { statusCode: response.statusCode },
          responseTime: Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10,
        },
        'request completed',
      );
    }));
    next();
  };
}

interface TracedRequest {
  readonly headers: { readonly traceparent?: string | string[] };
}

/**
 * Express middleware: the request is handled in a span of the trace its `traceparent` header names
 * (W3C Trace Context), or of a new trace when it has none or a malformed one (never an error). The
 * events the request causes carry it (see the outbox), and so does every log line written meanwhile.
 * Installed first, so the access log sees it. (The JSON parser hands the request on in this context.)
 */
export function traceRequests(request: TracedRequest, _response: unknown, next: () => void): void {
  const header = request.headers.traceparent;
  // Several traceparent headers arrive joined by commas: as malformed as a bad one.
  inTrace(continueTrace(typeof header === 'string' ? header : undefined), next);
}
