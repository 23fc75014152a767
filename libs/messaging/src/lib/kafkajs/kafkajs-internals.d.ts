/** The part of kafkajs's (untyped) request queue that its spec drives. */
declare module 'kafkajs/src/network/requestQueue' {
  interface RequestEntry {
    correlationId: number;
    apiName: string;
    apiKey: number;
    apiVersion: number;
    resolve: (response: unknown) => void;
    reject: (error: Error) => void;
  }
  class RequestQueue {
    constructor(options: {
      maxInFlightRequests: number | null;
      requestTimeout: number;
      enforceRequestTimeout: boolean;
      clientId: string;
      broker: string;
      logger: Record<'debug' | 'info' | 'warn' | 'error', (...args: unknown[]) => void>;
    });
    throttleCheckTimeoutId: unknown;
    push(request: { entry: RequestEntry; expectResponse: boolean; sendRequest: () => void }): void;
    fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
    maybeThrottle(clientSideThrottleTime: number): void;
    destroy(): void;
  }
  export = RequestQueue;
}
