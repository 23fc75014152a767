/**
 * SQLSTATEs that say PostgreSQL could not take or finish the work for a reason of its own state,
 * not of the request: connection exceptions (class 08), too many connections, and the server
 * shutting down, restarting or still starting (57P01–57P03).
 */
const UNAVAILABLE_SQLSTATES = new Set(['53300', '57P01', '57P02', '57P03']);
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// node-postgres and pg-pool raise these as plain Errors, without a code.
const UNAVAILABLE_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
];

/**
 * Whether an error means "the database did not answer" (no pooled connection in time, connection
 * refused or lost, server restarting) rather than "the request or the code is wrong". Such a
 * request may be sent again as it was: every write the services take over HTTP is idempotent.
 * Follows TypeORM's `driverError` and `cause` chains.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  // Structural, not `instanceof Error`: errors raised by Node's net module may come from another realm.
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    const { code, message, driverError, cause } = current as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
    if (typeof code === 'string' && (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SOCKET_CODES.has(code))) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => message.startsWith(m))) return true;
    current = driverError ?? cause;
  }
  return false;
}
