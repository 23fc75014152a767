import { CliError, ExitCode, notFound, usageError } from './exit-codes';

/** Which service's API, where it is, and who the operator is (`Authorization: Bearer`). */
export interface OperatorApiOptions {
  /** `clearing` or `void`, for messages. */
  readonly service: string;
  readonly url: string;
  /** The option and variable that set `url`, for hints. */
  readonly urlOption: string;
  readonly operatorToken?: string;
  readonly timeoutMs: number;
}

/**
 * A service's operator API: clearing's for the commands that need a second operator (approvals,
 * replays of money events) or read the audit trail; the void service's for webhook deliveries.
 * Refusals become exit codes: 404 → 4, 400 → 2, 401/403/409 → 7 with the API's code; no answer → 8.
 */
export class OperatorApi {
  constructor(private readonly options: OperatorApiOptions) {}

  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    if (!this.options.operatorToken) {
      throw usageError('this command needs an operator token', `set OPS_OPERATOR_TOKEN (or --operator-token) to your token for the ${this.options.service} API`);
    }
    const url = `${this.options.url.replace(/\/$/, '')}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.options.operatorToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      throw new CliError(
        ExitCode.apiUnreachable,
        `the ${this.options.service} API at ${this.options.url} did not answer: ${error instanceof Error ? error.message : String(error)}`,
        `check ${this.options.urlOption}`,
      );
    }
    const text = await response.text();
    let answer: Record<string, unknown> = {};
    try {
      answer = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      answer = { message: text.slice(0, 200) };
    }
    if (response.ok) return answer as T;
    const what = `${String(answer['code'] ?? response.status)}: ${String(answer['message'] ?? '')}`;
    if (response.status === 404) throw notFound(what);
    if (response.status === 400) throw usageError(what);
    if ([401, 403, 409].includes(response.status)) throw new CliError(ExitCode.refused, what);
    throw new CliError(ExitCode.failure, `the ${this.options.service} API answered ${response.status} ${what}`);
  }
}
