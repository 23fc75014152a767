import { Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { HttpErrorCatalogue, HttpErrorCode } from '@pos/contracts';
import { ApiErrorFilter, documentErrorResponses } from './api-errors';
import { API_KEY_HEADER, MERCHANT_API_KEY_SCHEME, MERCHANT_AUTH_ERROR_CODES } from './merchant-auth';
import { CALLER_AUTH_ERROR_CODES, OPERATOR_TOKEN_SCHEME } from './operator-auth';
import { accessLog, createServiceLogger, JsonLogger, LogLevel, ServiceIdentity } from './logging';

export interface Listen {
  readonly host: string;
  readonly port: number;
}

/** Body size limit: payment and void requests are small; anything larger is refused with 413. */
const BODY_LIMIT = '64kb';

/** What every route that takes a body may answer before it runs: the JSON parser's refusals. */
export const BODY_ERROR_CODES = ['MALFORMED_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const satisfies readonly HttpErrorCode[];

/** The JSON parser's refusal (body-parser's `type`) as a code of the catalogue. */
function bodyErrorCode(type: string | undefined): HttpErrorCode {
  switch (type) {
    case 'entity.parse.failed':
      return 'MALFORMED_JSON';
    case 'entity.too.large':
      return 'PAYLOAD_TOO_LARGE';
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return 'UNSUPPORTED_MEDIA_TYPE';
    default:
      // A body shorter than its Content-Length, an aborted upload: the request could not be read.
      return 'MALFORMED_REQUEST';
  }
}

/** Express error middleware right after the JSON parser: every refusal of the parser gets its code. */
function malformedBodyAnswer(
  error: { type?: string; status?: number; message?: string } | undefined,
  _request: unknown,
  response: { status: (code: number) => { json: (body: unknown) => void } },
  next: (error?: unknown) => void,
): void {
  if (!error?.type || typeof error.status !== 'number' || error.status < 400 || error.status >= 500) {
    next(error);
    return;
  }
  const code = bodyErrorCode(error.type);
  const message = code === 'PAYLOAD_TOO_LARGE' ? `the request body exceeds ${BODY_LIMIT}` : code === 'MALFORMED_JSON' ? 'the request body is not valid JSON' : (error.message ?? 'the request body could not be read');
  response.status(HttpErrorCatalogue[code].status).json({ code, message });
}

/**
 * Node's HTTP parser refuses some requests before any route or middleware sees them (a malformed
 * request line, headers over the limit, a request that never completes). Node would answer those
 * with an empty body; they get `{code, message}` like every other error.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const pending = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
    socket.destroy(error);
    return;
  }
  const code: HttpErrorCode =
    error.code === 'HPE_HEADER_OVERFLOW' ? 'REQUEST_HEADERS_TOO_LARGE' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'REQUEST_TIMEOUT' : 'MALFORMED_REQUEST';
  const { status, meaning } = HttpErrorCatalogue[code];
  const body = JSON.stringify({ code, message: meaning });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * How long an idle keep-alive connection stays open: longer than the idle timeout of the clients
 * and load balancers in front (commonly 60 s), so that they close it, not the service. A server
 * that closes first races the client's next request on that connection, which then fails with
 * ECONNRESET: the void benchmark saw one or two such failures a run with Node's default of 5 s.
 */
const KEEP_ALIVE_MS = 65_000;

/**
 * Creates the HTTP application with the JSON logger (and the access log at level info),
 * `{code, message}` errors, the OpenAPI document at /v1/openapi.json (UI at /v1/docs) and graceful
 * shutdown, and listens.
 */
export async function startService(module: unknown, identity: ServiceIdentity, listen: Listen, logLevel: LogLevel): Promise<INestApplication> {
  const logger = createServiceLogger(identity, logLevel);
  // Only the JSON parser: every API takes JSON, and a parser that is not there costs no request anything.
  const app = await NestFactory.create<NestExpressApplication>(module as Parameters<typeof NestFactory.create>[0], {
    logger: new JsonLogger(logger),
    bodyParser: false,
  });
  const requests = accessLog(logger);
  if (requests) app.use(requests);
  app.useBodyParser('json', { limit: BODY_LIMIT });
  // No ETag (a hash of every response body that no client of these APIs uses) and no framework banner.
  app.disable('etag');
  app.disable('x-powered-by');
  // Nest would turn a body-parser failure into a bare 400; answer it with its own code instead.
  app.use(malformedBodyAnswer);
  app.useGlobalFilters(new ApiErrorFilter());
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(identity.name)
      .setVersion(identity.version)
      .addApiKey({ type: 'apiKey', in: 'header', name: API_KEY_HEADER }, MERCHANT_API_KEY_SCHEME)
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an operator token (OPERATOR_TOKENS)' }, OPERATOR_TOKEN_SCHEME)
      .build(),
  );
  documentErrorResponses(document, {
    withBody: BODY_ERROR_CODES,
    bySecurityScheme: { [MERCHANT_API_KEY_SCHEME]: MERCHANT_AUTH_ERROR_CODES, [OPERATOR_TOKEN_SCHEME]: CALLER_AUTH_ERROR_CODES },
  });
  SwaggerModule.setup('v1/docs', app, document, { jsonDocumentUrl: 'v1/openapi.json' });
  const server = app.getHttpServer() as Server;
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  // Node's rule: the wait for a request's headers must outlast the keep-alive timeout.
  server.headersTimeout = KEEP_ALIVE_MS + 1_000;
  server.on('clientError', answerClientError);
  try {
    await app.listen(listen.port, listen.host);
  } catch (error) {
    // A module refused to start (e.g. configuration that contradicts stored state): release what
    // the others opened, so a caller that boots services in-process (tests, tools) is left clean.
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}
