import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The session id and state of a process, from /proc; undefined once it is gone. */
function processState(pid: number): { session: number; state: string } | undefined {
  try {
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return { state: fields[0], session: Number(fields[3]) };
  } catch {
    return undefined;
  }
}

const gone = (pid: number) => {
  const state = processState(pid);
  return state === undefined || state.state === 'Z';
};

function startRunner(): { runner: ChildProcess; servicePid: Promise<number> } {
  const runner = spawn(
    process.execPath,
    [require.resolve('ts-node/dist/bin'), '--transpile-only', '-r', 'tsconfig-paths/register', join(__dirname, 'fixtures', 'interrupted-runner.ts')],
    { env: { ...process.env, TS_NODE_PROJECT: 'tsconfig.integration.json' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  runner.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const servicePid = new Promise<number>((resolve, reject) => {
    runner.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString('utf8').trim())));
    runner.once('exit', (code) => reject(new Error(`the runner exited with ${code} before its service was ready:\n${stderr}`)));
  });
  return { runner, servicePid };
}

describe('spawned services', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('run in sessions of their own, and end with a runner stopped by %s', async (signal) => {
    const { runner, servicePid } = startRunner();
    const pid = await servicePid;
    expect(runner.pid).toBeDefined();
    const runnerSession = processState(runner.pid as number)?.session;
    expect(processState(pid)?.session).toBe(pid);
    expect(runnerSession).not.toBe(pid);

    const exited = new Promise<NodeJS.Signals | null>((resolve) => runner.once('exit', (_code, received) => resolve(received)));
    runner.kill(signal);
    // The runner ends as the signal's default action would end it, and takes its service with it.
    await expect(exited).resolves.toBe(signal);
    const deadline = Date.now() + 5_000;
    while (!gone(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(gone(pid)).toBe(true);
  });
});
