import { createServer, Server, Socket } from 'node:net';
import { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from './database-unavailable';

/** A TCP server that accepts connections and never answers: a stalled PostgreSQL, as node-postgres sees one. */
async function silentServer(): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, sockets };
}

async function closedPort(): Promise<number> {
  const { server, port } = await silentServer();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function errorOf(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected the work to fail');
}

function withSqlState(code: string): Error {
  return Object.assign(new Error(`server said ${code}`), { code });
}

describe('isDatabaseUnavailable', () => {
  it('is true for node-postgres’ own errors when no connection comes in time or the server is gone', async () => {
    const silent = await silentServer();
    try {
      const pool = new Pool({ host: '127.0.0.1', port: silent.port, connectionTimeoutMillis: 150, max: 1 });
      const stalled = await errorOf(() => pool.query('SELECT 1'));
      expect(isDatabaseUnavailable(stalled)).toBe(true);
      await pool.end();
    } finally {
      silent.sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => silent.server.close(resolve));
    }
    const refused = await errorOf(async () => {
      const pool = new Pool({ host: '127.0.0.1', port: await closedPort(), max: 1 });
      try {
        await pool.query('SELECT 1');
      } finally {
        await pool.end();
      }
    });
    expect(String(refused)).toContain('ECONNREFUSED');
    expect(isDatabaseUnavailable(refused)).toBe(true);
  });

  it('is true for a server shutting down or out of connections, also under TypeORM’s QueryFailedError', () => {
    for (const code of ['57P01', '57P03', '53300', '08006']) {
      expect(isDatabaseUnavailable(withSqlState(code))).toBe(true);
      expect(isDatabaseUnavailable(new QueryFailedError('SELECT 1', [], withSqlState(code)))).toBe(true);
    }
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: withSqlState('57P01') }))).toBe(true);
  });

  it('is false for errors of the request or the code', () => {
    expect(isDatabaseUnavailable(new QueryFailedError('INSERT', [], withSqlState('23505')))).toBe(false);
    expect(isDatabaseUnavailable(withSqlState('40001'))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isDatabaseUnavailable('timeout exceeded when trying to connect')).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
