import { createServer, IncomingMessage, Server, ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { HttpErrorCatalogue, HttpErrorCode } from '@pos/contracts';
import { connectReliableConsumers } from '@pos/messaging';
import { ServiceMetrics } from '@pos/observability';
import { ApiErrorFilter, documentErrorResponses } from './api-errors';
import { API_KEY_HEADER, MERCHANT_API_KEY_SCHEME, MERCHANT_AUTH_ERROR_CODES } from './merchant-auth';
import { CALLER_AUTH_ERROR_CODES, OPERATOR_TOKEN_SCHEME } from './operator-auth';
import { accessLog, createServiceLogger, JsonLogger, LogLevel, ServiceIdentity, traceRequests } from './logging';

export interface Listen {
  readonly host: string;
  readonly port: number;
  /** The admin listener (ADMIN_PORT): metrics and the OpenAPI document and UI move there. */
  readonly admin?: { readonly host: string; readonly port: number };
}

/** What the admin listener serves (besides `/health/*`, served on both); with one, the public port does not serve these. */
const ADMIN_PATH = /^\/(metrics|v1\/openapi\.json|v1\/docs)(\/|$)/;
const HEALTH_PATH = /^\/health(\/|$)/;

const adminServers = new WeakMap<INestApplication, Server>();

/** The admin listener's URL (http://host:port) of a service started with one. */
export function adminUrlOf(app: INestApplication): string | undefined {
  const address = adminServers.get(app)?.address() as AddressInfo | null | undefined;
  if (!address) return undefined;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
}

/**
 * With an admin listener, each listener answers only its own paths: anything else is 404 NOT_FOUND,
 * as a route that does not exist (so the public port does not even say that metrics exist).
 */
function splitByListener(admin: () => Server | undefined) {
  return (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    const server = admin();
    if (!server) return next();
    const path = (request.url ?? '/').split('?')[0];
    const onAdmin = request.socket.localPort === (server.address() as AddressInfo | null)?.port;
    if (HEALTH_PATH.test(path) || ADMIN_PATH.test(path) === onAdmin) return next();
    response.statusCode = 404;
    response.setHeader('content-type', 'application/json; charset=utf-8');
    response.end(JSON.stringify({ code: 'NOT_FOUND', message: 'no such route' }));
  };
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
 * Creates the HTTP application with the JSON logger (and the access log at level info), W3C trace
 * context on every request, `{code, message}` errors, the OpenAPI document at /v1/openapi.json (UI
 * at /v1/docs) and graceful shutdown, and listens.
 */
export async function startService(module: unknown, identity: ServiceIdentity, listen: Listen, logLevel: LogLevel): Promise<INestApplication> {
  const logger = createServiceLogger(identity, logLevel);
  if (listen.admin && listen.admin.port !== 0 && listen.admin.port === listen.port) throw new Error(`ADMIN_PORT must differ from HTTP_PORT (${listen.port})`);
  // Only the JSON parser: every API takes JSON, and a parser that is not there costs no request anything.
  const app = await NestFactory.create<NestExpressApplication>(module as Parameters<typeof NestFactory.create>[0], {
    logger: new JsonLogger(logger),
    bodyParser: false,
  });
  // Every request's duration, by route template (pos_http_request_duration_seconds).
  app.use(app.get(ServiceMetrics).httpMiddleware());
  let adminServer: Server | undefined;
  // First: everything after it, the access log included, runs in the request's trace.
  app.use(traceRequests);
  if (listen.admin) app.use(splitByListener(() => adminServer));
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
  // The service's @ConsumerGroup controllers, on the reliable transport: consuming starts once
  // the modules are initialised (topics exist), before HTTP is served.
  connectReliableConsumers(app);
  try {
    await app.init();
    await app.startAllMicroservices();
    await app.listen(listen.port, listen.host);
    if (listen.admin) {
      const admin = createServer(app.getHttpAdapter().getInstance());
      admin.keepAliveTimeout = KEEP_ALIVE_MS;
      admin.headersTimeout = KEEP_ALIVE_MS + 1_000;
      admin.on('clientError', answerClientError);
      await new Promise<void>((resolve, reject) => {
        admin.once('error', reject);
        admin.listen(listen.admin?.port, listen.admin?.host, () => resolve());
      });
      adminServer = admin;
      adminServers.set(app, admin);
      // Closing the service closes its admin listener too.
      server.once('close', () => {
        admin.closeAllConnections();
        admin.close();
      });
    }
  } catch (error) {
    // A module refused to start (e.g. configuration that contradicts stored state): release what
    // the others opened, so a caller that boots services in-process (tests, tools) is left clean.
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}
