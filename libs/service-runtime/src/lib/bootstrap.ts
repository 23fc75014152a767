import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';

export interface Listen {
  readonly host: string;
  readonly port: number;
}

/** Creates the HTTP application, wires the JSON logger and graceful shutdown, and listens. */
export async function startService(module: unknown, listen: Listen): Promise<INestApplication> {
  const app = await NestFactory.create(module as Parameters<typeof NestFactory.create>[0], { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.listen(listen.port, listen.host);
  return app;
}
