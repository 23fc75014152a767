import { Controller, DynamicModule, Get, Header, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ServiceMetrics } from './service-metrics';

/** `GET /metrics` in Prometheus's text format; on the admin listener when the service has one (ADMIN_PORT). */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: ServiceMetrics) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

/** The service instance's metrics (`ServiceMetrics`, injectable everywhere) and their `/metrics` endpoint. */
@Module({})
export class ObservabilityModule {
  static forRoot(): DynamicModule {
    return {
      module: ObservabilityModule,
      global: true,
      controllers: [MetricsController],
      providers: [{ provide: ServiceMetrics, useFactory: () => new ServiceMetrics() }],
      exports: [ServiceMetrics],
    };
  }
}
