// First: the imports below need the workspace's paths.
import './workspace-paths';
import { startTestStack } from './test-stack';

/**
 * Jest global setup: starts the run's Kafka and PostgreSQL once. Jest workers inherit the
 * environment variable that tells them where the stack is; the teardown stops it.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const running = await startTestStack();
  (globalThis as { __POS_TEST_STACK__?: typeof running }).__POS_TEST_STACK__ = running;
  console.log(
    `\n[test stack] Kafka ${running.stack.kafkaBrokers.join(',')} and PostgreSQL ready in ${Date.now() - started} ms`,
  );
}
