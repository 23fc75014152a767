import type { Server } from 'node:http';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ApiErrorFilter } from './api-errors';
import { API_KEY_HEADER } from './merchant-auth';
import { accessLog, createServiceLogger, JsonLogger, LogLevel, ServiceIdentity } from './logging';

export interface Listen {
  readonly host: string;
  readonly port: number;
}

/** Express error middleware right after the JSON parser: bad JSON and oversized bodies get their codes. */
function malformedBodyAnswer(
  error: { type?: string; status?: number; message?: string } | undefined,
  _request: unknown,
  response: { status: (code: number) => { json: (body: unknown) => void } },
  next: (error?: unknown) => void,
): void {
  if (error?.type === 'entity.parse.failed') {
    response.status(400).json({ code: 'MALFORMED_JSON', message: 'the request body is not valid JSON' });
  } else if (error?.type === 'entity.too.large') {
    response.status(413).json({ code: 'PAYLOAD_TOO_LARGE', message: `the request body exceeds ${BODY_LIMIT}` });
  } else {
    next(error);
  }
}

/** Body size limit: payment and void requests are small; anything larger is refused with 413. */
const BODY_LIMIT = '64kb';

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
      .addApiKey({ type: 'apiKey', in: 'header', name: API_KEY_HEADER }, 'merchant-api-key')
      .build(),
  );
  SwaggerModule.setup('v1/docs', app, document, { jsonDocumentUrl: 'v1/openapi.json' });
  const server = app.getHttpServer() as Server;
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  // Node's rule: the wait for a request's headers must outlast the keep-alive timeout.
  server.headersTimeout = KEEP_ALIVE_MS + 1_000;
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
