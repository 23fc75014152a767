import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import type { Response } from 'express';
import { HttpErrorCatalogue, HttpErrorCode } from '@pos/contracts';
import { isDatabaseUnavailable } from '@pos/persistence';

/**
 * An HTTP answer with a machine-readable code of the catalogue (libs/contracts HttpErrorCatalogue),
 * which also gives its status: `{ "code": "AMOUNT_TOO_LARGE", "message": "...", "details"?: {...} }`.
 */
export class ApiError extends HttpException {
  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super({ code, message, ...(details ? { details } : {}) }, HttpErrorCatalogue[code].status);
  }
}

/** OpenAPI extension that carries a route's codes until the document is built (see documentErrorResponses). */
export const ERROR_CODES_EXTENSION = 'x-error-codes';

/**
 * The error codes a route answers besides the ones every route of its kind shares (bad bodies,
 * authentication: added by documentErrorResponses). Put it on the handler that raises them; the
 * OpenAPI document then lists each of its statuses with exactly these codes.
 */
export function ApiErrorCodes(...codes: HttpErrorCode[]): MethodDecorator {
  return ApiExtension(ERROR_CODES_EXTENSION, codes) as MethodDecorator;
}

/** What a 503 DATABASE_UNAVAILABLE asks the caller to wait before sending the request again. */
export const DATABASE_RETRY_AFTER_SECONDS = 1;

/** Every error leaves as `{code, message}` with a code of the catalogue; nothing internal (stack, SQL) reaches the caller. */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiErrorFilter');

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (error instanceof ApiError) {
      response.status(error.getStatus()).json(error.getResponse());
      return;
    }
    if (error instanceof HttpException && error.getStatus() === 404) {
      // Nest's own message repeats the URL, query string included.
      response.status(404).json({ code: 'NOT_FOUND', message: 'no such route' });
      return;
    }
    if (error instanceof HttpException && error.getStatus() === 503) {
      // The readiness check: keep its per-dependency details.
      const body = error.getResponse();
      response.status(503).json({ ...(typeof body === 'object' ? body : {}), code: 'SERVICE_UNAVAILABLE', message: 'not ready' });
      return;
    }
    if (isDatabaseUnavailable(error)) {
      // A stalled or restarting PostgreSQL is the caller's to retry, not a fault of the request.
      this.logger.warn(`answered 503 DATABASE_UNAVAILABLE: ${error instanceof Error ? error.message : String(error)}`);
      response.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
      response.status(503).json({ code: 'DATABASE_UNAVAILABLE', message: 'the database did not answer in time; send the same request again after Retry-After seconds' });
      return;
    }
    this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    response.status(500).json({ code: 'INTERNAL_ERROR', message: 'internal error' });
  }
}

/** The codes every route of a kind may answer before its handler runs. */
export interface SharedErrorCodes {
  /** Routes that take a request body: the body parser's refusals. */
  readonly withBody: readonly HttpErrorCode[];
  /** Routes behind a security scheme (by its OpenAPI name): the guard's refusals. */
  readonly bySecurityScheme: Readonly<Record<string, readonly HttpErrorCode[]>>;
}

interface OpenApiOperation {
  requestBody?: unknown;
  security?: Record<string, unknown>[];
  responses: Record<string, unknown>;
  [ERROR_CODES_EXTENSION]?: HttpErrorCode[];
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * Writes every error answer of every operation into the OpenAPI document, from the codes its
 * handler declares (ApiErrorCodes) and the ones its kind shares: one response per status, whose
 * description and `code` enum are exactly the codes the route can answer with that status.
 */
export function documentErrorResponses(document: { paths: Record<string, Partial<Record<(typeof HTTP_METHODS)[number], unknown>>> }, shared: SharedErrorCodes): void {
  for (const item of Object.values(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method] as OpenApiOperation | undefined;
      if (!operation) continue;
      const codes = new Set<HttpErrorCode>(operation[ERROR_CODES_EXTENSION] ?? []);
      delete operation[ERROR_CODES_EXTENSION];
      if (operation.requestBody) shared.withBody.forEach((code) => codes.add(code));
      for (const requirement of operation.security ?? []) {
        for (const scheme of Object.keys(requirement)) shared.bySecurityScheme[scheme]?.forEach((code) => codes.add(code));
      }
      const byStatus = new Map<number, HttpErrorCode[]>();
      for (const code of codes) {
        const status = HttpErrorCatalogue[code].status;
        byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
      }
      for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
        group.sort();
        operation.responses[String(status)] = {
          description: group.map((code) => `${code}: ${HttpErrorCatalogue[code].meaning}`).join('\n\n'),
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['code', 'message'],
                properties: {
                  code: { type: 'string', enum: group },
                  message: { type: 'string' },
                  details: { type: 'object', additionalProperties: true },
                },
              },
            },
          },
        };
      }
    }
  }
}
