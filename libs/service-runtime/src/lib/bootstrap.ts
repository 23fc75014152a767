import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { ApiErrorFilter } from './api-errors';
import { API_KEY_HEADER } from './merchant-auth';
import { ServiceIdentity } from './logging';

export interface Listen {
  readonly host: string;
  readonly port: number;
}

/** Body size limit: payment and void requests are small; anything larger is refused with 413. */
const BODY_LIMIT = '64kb';

/**
 * Creates the HTTP application with the JSON logger, `{code, message}` errors, the OpenAPI document
 * at /v1/openapi.json (UI at /v1/docs) and graceful shutdown, and listens.
 */
export async function startService(module: unknown, identity: ServiceIdentity, listen: Listen): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(module as Parameters<typeof NestFactory.create>[0], {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.useBodyParser('json', { limit: BODY_LIMIT });
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
  await app.listen(listen.port, listen.host);
  return app;
}
