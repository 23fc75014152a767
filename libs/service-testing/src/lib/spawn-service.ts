import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';

export type ServiceName = 'payment-service' | 'clearing-service' | 'void-service';

export interface SpawnedService {
  readonly name: ServiceName;
  readonly url: string;
  /** The service's process id, for a benchmark's CPU accounting. */
  readonly pid: number;
  /** Graceful stop (SIGTERM), as an orchestrator does. */
  stop(): Promise<void>;
  /** A crash: SIGKILL, no shutdown hooks, in-flight work lost. */
  kill(): Promise<void>;
  /** The last lines the process printed, for failure messages. */
  output(): string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// The services this process started. Each runs in a session of its own (see spawnService), out of
// reach of the signals a terminal sends to this process's group: when this process exits (normally,
// through forceExit, or on SIGINT, SIGTERM or SIGHUP), its services end with it.
const running = new Set<ChildProcess>();
let endingWithThisProcess = false;

function endWithThisProcess(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (endingWithThisProcess) return;
  endingWithThisProcess = true;
  const killAll = () => {
    for (const service of running) service.kill('SIGKILL');
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      // The signal's own default action, now that this listener is gone.
      process.kill(process.pid, signal);
    });
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Runs a service's production bundle (`dist/apps/<name>/main.js`) as its own process, the way it
 * runs in a container, and waits until it reports ready. Tests that restart or crash instances,
 * or run several instances of every service, use this instead of booting in-process.
 */
export async function spawnService(
  name: ServiceName,
  env: Record<string, string>,
  workspaceRoot = process.cwd(),
  readyTimeoutMs = 90_000,
): Promise<SpawnedService> {
  const main = join(workspaceRoot, 'dist', 'apps', name, 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build the services first (npx nx run-many -t build; npm test does it)`);
  const port = await freePort();
  const child = spawn(process.execPath, [main], {
    cwd: workspaceRoot,
    env: { PATH: process.env['PATH'] ?? '', HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A session of its own, as a container is a CPU group of its own. Where the kernel groups
    // processes by session for scheduling (autogroup), the services and the load generator of one
    // session would share a single share of the CPU against PostgreSQL's and Kafka's containers
    // (the void bench's stalls at 500/s, docs/performance.md).
    detached: true,
  });
  endWithThisProcess(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  if (child.pid === undefined) throw new Error(`${name} could not be started with ${process.execPath}`);
  const service: SpawnedService = {
    name,
    url,
    pid: child.pid,
    output: () => lines.slice(-40).join('\n'),
    stop: async () => {
      child.kill('SIGTERM');
      await exited(child);
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited(child);
    },
  };
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${service.output()}`);
    try {
      const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return service;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await service.kill();
  throw new Error(`${name} was not ready within ${readyTimeoutMs} ms:\n${service.output()}`);
}
