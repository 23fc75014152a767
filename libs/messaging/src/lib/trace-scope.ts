import { AsyncLocalStorage } from 'node:async_hooks';
import { formatTraceparent, newTrace, TraceContext } from '@pos/contracts';

/** The span being worked on, across awaits: set around an HTTP request or a consumed event. */
const scope = new AsyncLocalStorage<TraceContext>();

/** Runs `work` (and everything it awaits or schedules) as part of the span `context`. */
export function inTrace<T>(context: TraceContext, work: () => T): T {
  return scope.run(context, work);
}

/** The span of the request or event being handled here, if any. */
export function currentTrace(): TraceContext | undefined {
  return scope.getStore();
}

/** The `traceparent` the events written now carry: the current span's, if any. */
export function currentTraceparent(): string | undefined {
  const context = scope.getStore();
  return context ? formatTraceparent(context) : undefined;
}

/**
 * The `traceparent` of events written now: the current span's, or, for work outside any request
 * or event (a scheduled job), a new trace that starts with them.
 */
export function traceparentForEvents(): string {
  return formatTraceparent(scope.getStore() ?? newTrace());
}
