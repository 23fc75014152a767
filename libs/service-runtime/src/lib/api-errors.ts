import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';

/** An HTTP answer with a machine-readable code: `{ "code": "AMOUNT_TOO_LARGE", "message": "..." }`. */
export class ApiError extends HttpException {
  constructor(
    status: HttpStatus,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super({ code, message, ...(details ? { details } : {}) }, status);
  }
}

const CODES_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

/** Every error leaves as `{code, message}`; nothing internal (stack, SQL) reaches the caller. */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiErrorFilter');

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (error instanceof ApiError) {
      response.status(error.getStatus()).json(error.getResponse());
      return;
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      const body = error.getResponse();
      const code = CODES_BY_STATUS[status] ?? `HTTP_${status}`;
      if (typeof body === 'string') {
        response.status(status).json({ code, message: body });
        return;
      }
      // Keep what the exception carries (e.g. the health check's per-dependency details).
      const fields = body as Record<string, unknown>;
      response.status(status).json({ ...fields, code, message: String(fields['message'] ?? error.message) });
      return;
    }
    // Body parser errors carry a status and a type but are not HttpExceptions.
    const parser = error as { status?: number; type?: string; message?: string } | null;
    if (parser && typeof parser.status === 'number' && parser.status >= 400 && parser.status < 500) {
      const code = parser.type === 'entity.parse.failed' ? 'MALFORMED_JSON' : (CODES_BY_STATUS[parser.status] ?? `HTTP_${parser.status}`);
      response.status(parser.status).json({ code, message: parser.message ?? 'bad request' });
      return;
    }
    this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    response.status(500).json({ code: 'INTERNAL_ERROR', message: 'internal error' });
  }
}
