import type { RunningTestStack } from './test-stack';

export default async function globalTeardown(): Promise<void> {
  const running = (globalThis as { __POS_TEST_STACK__?: RunningTestStack }).__POS_TEST_STACK__;
  await running?.stop();
}
