import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import { HttpErrorCatalogue, HttpErrorCode, HttpService, isHttpErrorCode } from '@pos/contracts';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

interface DocumentedResponse {
  readonly content?: { readonly 'application/json'?: { readonly schema?: { readonly properties?: { readonly code?: { readonly enum?: readonly string[] } } } } };
}

interface DocumentedOperation {
  readonly requestBody?: unknown;
  readonly security?: readonly Record<string, unknown>[];
  readonly responses: Readonly<Record<string, DocumentedResponse>>;
}

interface OpenApiDocument {
  readonly paths: Readonly<Record<string, Partial<Readonly<Record<Method, DocumentedOperation>>>>>;
}

export interface ErrorRequest {
  /** The concrete path, with its query string. */
  readonly path: string;
  readonly headers?: Record<string, string>;
  /** Sent as is when a string, else as JSON. */
  readonly body?: unknown;
}

/** RFC 3339 in UTC with milliseconds, the one form of an instant on the wire (docs/contracts.md). */
export const WIRE_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * A service's error answers held against its own OpenAPI document and the error catalogue
 * (libs/contracts HttpErrorCatalogue). Every answer a test provokes must be documented for its
 * route, with the catalogue's status; and at the end, every code the document lists for a route
 * of the API must have been provoked, so neither side can drift from the other.
 */
export class HttpErrorContract {
  private readonly provoked = new Set<string>();

  private constructor(
    private readonly url: string,
    private readonly service: HttpService,
    readonly document: OpenApiDocument,
  ) {}

  static async of(url: string, service: HttpService): Promise<HttpErrorContract> {
    const response = await fetch(`${url}/v1/openapi.json`);
    if (response.status !== 200) throw new Error(`GET /v1/openapi.json answered ${response.status}`);
    return new HttpErrorContract(url, service, (await response.json()) as OpenApiDocument);
  }

  /** The codes the document lists for one operation, with their statuses. */
  documented(method: Method, route: string): Map<HttpErrorCode, number> {
    const operation = this.operation(method, route);
    const codes = new Map<HttpErrorCode, number>();
    for (const [status, response] of Object.entries(operation.responses)) {
      for (const code of response.content?.['application/json']?.schema?.properties?.code?.enum ?? []) {
        if (!isHttpErrorCode(code)) throw new Error(`${method.toUpperCase()} ${route} documents ${code}, which the catalogue lacks`);
        codes.set(code, Number(status));
      }
    }
    return codes;
  }

  /**
   * Sends the request to the route (`route` is its OpenAPI path, e.g. `/v1/voids/{voidId}`) and
   * checks the answer: status and code as expected, the catalogue's status for the code, the
   * `{code, message}` shape, and the code documented for this route under this status.
   */
  async expectError(method: Method, route: string, request: ErrorRequest, code: HttpErrorCode): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = { ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}), ...request.headers };
    const response = await fetch(`${this.url}${request.path}`, {
      method: method.toUpperCase(),
      headers,
      ...(request.body !== undefined ? { body: typeof request.body === 'string' ? request.body : JSON.stringify(request.body) } : {}),
    });
    const text = await response.text();
    const what = `${method.toUpperCase()} ${request.path} answered ${response.status} ${text.slice(0, 300)}`;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new Error(`${what}: not JSON`);
    }
    if (body['code'] !== code) throw new Error(`${what}: expected code ${code}`);
    if (response.status !== HttpErrorCatalogue[code].status) throw new Error(`${what}: the catalogue gives ${code} status ${HttpErrorCatalogue[code].status}`);
    if (typeof body['message'] !== 'string' || body['message'] === '') throw new Error(`${what}: no message`);
    const documented = this.documented(method, route).get(code);
    if (documented !== response.status) throw new Error(`${what}: ${method.toUpperCase()} ${route} does not document ${code} under ${response.status}`);
    this.provoked.add(key(method, route, code));
    return body;
  }

  /**
   * The answers every route of a kind shares, provoked on each: a route with a body refuses bad
   * JSON, a body over the limit and a body in another charset; a route behind the API key
   * refuses a request without one.
   */
  async expectSharedErrors(): Promise<void> {
    for (const { method, route, operation } of this.apiOperations()) {
      // The shared refusals come before any path parameter is looked at.
      const path = route.replace(/\{[^}]+\}/g, randomUUID());
      const secured = (operation.security ?? []).length > 0;
      if (secured) await this.expectError(method, route, { path, ...(operation.requestBody ? { body: {} } : {}) }, 'UNAUTHENTICATED');
      if (operation.requestBody) {
        await this.expectError(method, route, { path, body: '{"amountFen": ' }, 'MALFORMED_JSON');
        await this.expectError(method, route, { path, body: JSON.stringify({ padding: 'x'.repeat(70 * 1024) }) }, 'PAYLOAD_TOO_LARGE');
        await this.expectError(method, route, { path, headers: { 'content-type': 'application/json; charset=iso-8859-1' }, body: '{}' }, 'UNSUPPORTED_MEDIA_TYPE');
      }
    }
  }

  /** Documented codes of API routes that no test provoked (expected: none). */
  unprovoked(): string[] {
    const missing: string[] = [];
    for (const { method, route } of this.apiOperations()) {
      for (const code of this.documented(method, route).keys()) {
        if (!this.provoked.has(key(method, route, code))) missing.push(key(method, route, code));
      }
    }
    return missing;
  }

  /** Codes the document lists that the catalogue says this service does not answer (expected: none). */
  foreignCodes(): string[] {
    const foreign: string[] = [];
    for (const { method, route } of this.apiOperations()) {
      for (const code of this.documented(method, route).keys()) {
        const where = HttpErrorCatalogue[code].where;
        if (where !== 'any request' && !(where as readonly HttpService[]).includes(this.service)) foreign.push(key(method, route, code));
      }
    }
    return foreign;
  }

  private operation(method: Method, route: string): DocumentedOperation {
    const operation = this.document.paths[route]?.[method];
    if (!operation) throw new Error(`the OpenAPI document has no ${method.toUpperCase()} ${route}`);
    return operation;
  }

  private apiOperations(): { method: Method; route: string; operation: DocumentedOperation }[] {
    return Object.entries(this.document.paths)
      .filter(([route]) => route.startsWith('/v1/'))
      .flatMap(([route, item]) =>
        Object.entries(item).map(([method, operation]) => ({ method: method as Method, route, operation: operation as DocumentedOperation })),
      );
  }
}

function key(method: Method, route: string, code: HttpErrorCode): string {
  return `${method.toUpperCase()} ${route} ${code}`;
}

/** Writes raw bytes to the service and returns its raw answer (status line, headers and body). */
export function rawRequest(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer within 10 s; so far: ${answer}`)));
  });
}

/** Status and JSON body of a raw answer. */
export function parseRawAnswer(answer: string): { status: number; contentType: string | undefined; body: unknown } {
  const [head, ...rest] = answer.split('\r\n\r\n');
  const [statusLine, ...headerLines] = head.split('\r\n');
  const contentType = headerLines.find((line) => /^content-type:/i.test(line))?.replace(/^content-type:\s*/i, '');
  return { status: Number(statusLine.split(' ')[1]), contentType, body: JSON.parse(rest.join('\r\n')) };
}

/**
 * What every service answers before any route runs, as `{code, message}` JSON too: a request line
 * Node's parser cannot read, headers over its limit, and a route that does not exist.
 */
export async function expectRequestLevelErrors(url: string): Promise<void> {
  const json = { contentType: expect.stringMatching(/^application\/json/) };
  expect(parseRawAnswer(await rawRequest(url, 'NOT AN HTTP REQUEST\r\n\r\n'))).toEqual({
    status: 400,
    ...json,
    body: { code: 'MALFORMED_REQUEST', message: expect.any(String) },
  });
  expect(parseRawAnswer(await rawRequest(url, `GET /v1/openapi.json HTTP/1.1\r\nHost: service\r\nX-Padding: ${'x'.repeat(20_000)}\r\n\r\n`))).toEqual({
    status: 431,
    ...json,
    body: { code: 'REQUEST_HEADERS_TOO_LARGE', message: expect.any(String) },
  });
  const unknown = await fetch(`${url}/v1/no-such-route`);
  expect({ status: unknown.status, body: await unknown.json() }).toEqual({ status: 404, body: { code: 'NOT_FOUND', message: expect.any(String) } });
}
