import { Controller, Get, Global, Injectable, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorFunction, TerminusModule, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { KafkaHealthIndicator } from '@pos/messaging';
import { ApiErrorCodes } from './api-errors';

/**
 * Readiness conditions a service adds to the common ones, e.g. that its configuration agrees with
 * what other instances stored; a service's provider adds its check when the module starts.
 */
@Injectable()
export class ReadinessChecks {
  private readonly checks: HealthIndicatorFunction[] = [];

  add(check: HealthIndicatorFunction): void {
    this.checks.push(check);
  }

  all(): readonly HealthIndicatorFunction[] {
    return this.checks;
  }
}

/**
 * Liveness says the process serves HTTP; readiness says it can do its work: PostgreSQL and Kafka
 * both answer, and the service's own ReadinessChecks pass. Orchestrators restart on the first and
 * route traffic on the second.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly kafka: KafkaHealthIndicator,
    private readonly serviceChecks: ReadinessChecks,
  ) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiErrorCodes('SERVICE_UNAVAILABLE')
  ready() {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: 2_000 }),
      () => this.kafka.isHealthy('kafka', 2_000),
      ...this.serviceChecks.all(),
    ]);
  }
}

/** Global so that any service module can add to ReadinessChecks. */
@Global()
@Module({
  imports: [TerminusModule],
  controllers: [HealthController],
  providers: [ReadinessChecks],
  exports: [ReadinessChecks],
})
export class HealthModule {}
