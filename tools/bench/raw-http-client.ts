import { connect, Socket } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly body: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * The void bench's HTTP/1.1 client: a bounded pool of keep-alive connections with one request in
 * flight on each, every request written as one preformatted string and every answer read with the
 * least parsing that is still exact (status line, Content-Length, body).
 *
 * The load generator shares the machine's two cores with the stack it measures, so what it spends
 * is taken from the service: with node:http's client the bench process took about a quarter of a
 * core at 500 requests/s, with this one about half as much (docs/performance.md). Answers
 * must carry Content-Length, as the services' JSON answers do; anything else fails the request
 * rather than being misread.
 */
export class RawHttpClient {
  private readonly idle: Connection[] = [];
  private readonly waiting: { resolve: (connection: Connection) => void; reject: (error: Error) => void }[] = [];
  private open = 0;
  private readonly host: string;
  private readonly port: number;

  constructor(
    baseUrl: string,
    private readonly maxConnections: number,
  ) {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:') throw new Error(`only plain http is supported, not ${url.protocol}`);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
  }

  /** POSTs a JSON body; a request beyond the pool waits for a connection, and that wait is part of its time. */
  async postJson(path: string, body: string, headers: Readonly<Record<string, string>>): Promise<RawResponse> {
    let head = `POST ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    const connection = await this.acquire();
    try {
      const response = await connection.exchange(`${head}\r\n${body}`);
      if (connection.reusable) this.release(connection);
      else this.discard(connection);
      return response;
    } catch (error) {
      this.discard(connection);
      throw error;
    }
  }

  close(): void {
    for (const connection of this.idle.splice(0)) connection.destroy();
  }

  private async acquire(): Promise<Connection> {
    for (let idle = this.idle.pop(); idle; idle = this.idle.pop()) {
      if (idle.reusable) return idle;
      // Closed by the server while idle.
      idle.destroy();
      this.open--;
    }
    if (this.open < this.maxConnections) {
      this.open++;
      try {
        return await Connection.open(this.host, this.port);
      } catch (error) {
        this.open--;
        throw error;
      }
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(connection: Connection): void {
    const next = this.waiting.shift();
    if (next) next.resolve(connection);
    else this.idle.push(connection);
  }

  /** A broken or closing connection is dropped; a request waiting for one gets a new one. */
  private discard(connection: Connection): void {
    connection.destroy();
    this.open--;
    const next = this.waiting.shift();
    if (!next) return;
    this.open++;
    Connection.open(this.host, this.port).then(next.resolve, (error: Error) => {
      this.open--;
      next.reject(error);
    });
  }
}

class Connection {
  private received: Buffer = Buffer.alloc(0);
  private pending?: { resolve: (response: RawResponse) => void; reject: (error: Error) => void };
  reusable = true;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  static open(host: string, port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new Connection(socket));
      });
      socket.once('error', reject);
    });
  }

  exchange(request: string): Promise<RawResponse> {
    if (this.pending) throw new Error('one request at a time per connection');
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request);
    });
  }

  destroy(): void {
    this.reusable = false;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    const headerEnd = this.received.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const head = this.received.toString('latin1', 0, headerEnd);
    const lengthMatch = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!lengthMatch) {
      this.fail(new Error(`answer without content-length: ${head.split('\r\n')[0]}`));
      return;
    }
    const bodyStart = headerEnd + HEADER_END.length;
    const bodyEnd = bodyStart + Number(lengthMatch[1]);
    if (this.received.length < bodyEnd) return;
    if (this.received.length > bodyEnd) {
      this.fail(new Error('bytes beyond the answer on a connection with one request in flight'));
      return;
    }
    const status = Number(head.slice(9, 12));
    if (/\r\nconnection: *close/i.test(head)) this.reusable = false;
    const body = this.received.toString('utf8', bodyStart, bodyEnd);
    this.received = Buffer.alloc(0);
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve({ status, body });
  }

  private fail(error: Error): void {
    this.reusable = false;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}
