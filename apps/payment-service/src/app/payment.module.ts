import { DynamicModule, Module } from '@nestjs/common';
import { CHANNEL_GATEWAY, SimulatedChannelGateway } from './channel-gateway.provider';
import { PaymentConfig } from './payment-config';
import { PaymentCommandsController, PaymentFactsController } from './payment-handlers.controller';
import { PaymentMetrics } from './payment-metrics';
import { Payments } from './payments';
import { PaymentsController } from './payments.controller';
import { PendingPaymentPoller } from './pending-payment-poller';

@Module({})
export class PaymentModule {
  static forRoot(config: PaymentConfig): DynamicModule {
    return {
      module: PaymentModule,
      controllers: [PaymentsController, PaymentCommandsController, PaymentFactsController],
      providers: [
        // The only channel adapter today; a real WeChat/Alipay/UnionPay adapter implements the same port.
        { provide: CHANNEL_GATEWAY, useValue: new SimulatedChannelGateway(config.CHANNEL_SIMULATOR_LATENCY_MS) },
        PaymentMetrics,
        Payments,
        PendingPaymentPoller,
      ],
    };
  }
}
