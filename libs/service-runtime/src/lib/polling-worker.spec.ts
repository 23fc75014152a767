import { PollingWorker } from './polling-worker';

/** Rounds answer from a script: a number of "more waiting" rounds, failures, or a held round. */
class ScriptedWorker extends PollingWorker {
  rounds = 0;
  readonly answers: (boolean | Error)[] = [];
  hold?: Promise<void>;

  constructor(private readonly intervalMs: number) {
    super('ScriptedWorker', 'round failed');
  }

  protected async round(): Promise<boolean> {
    this.rounds++;
    if (this.hold) await this.hold;
    const answer = this.answers.shift() ?? false;
    if (answer instanceof Error) throw answer;
    return answer;
  }

  protected pollIntervalMs(): number {
    return this.intervalMs;
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('PollingWorker', () => {
  afterEach(() => jest.useRealTimers());

  it('runs rounds back to back while they say more is waiting, then pauses for the poll interval', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const worker = new ScriptedWorker(1_000);
    worker.answers.push(true, true, false);
    worker.onApplicationBootstrap();
    await tick();
    expect(worker.rounds).toBe(3);
    jest.advanceTimersByTime(999);
    await tick();
    expect(worker.rounds).toBe(3);
    jest.advanceTimersByTime(1);
    await tick();
    expect(worker.rounds).toBe(4);
    await worker.beforeApplicationShutdown();
  });

  it('cuts the pause short on wakeUp, and goes on after a failed round', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const worker = new ScriptedWorker(60_000);
    const warn = jest.spyOn(worker['logger'], 'warn').mockImplementation(() => undefined);
    worker.answers.push(new Error('database gone'));
    worker.onApplicationBootstrap();
    await tick();
    expect(worker.rounds).toBe(1);
    expect(warn).toHaveBeenCalledWith('round failed: Error: database gone');
    worker.wakeUp();
    await tick();
    expect(worker.rounds).toBe(2);
    await worker.beforeApplicationShutdown();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('waits at shutdown for the round in flight, and starts no other', async () => {
    let release!: () => void;
    const worker = new ScriptedWorker(60_000);
    worker.hold = new Promise<void>((resolve) => (release = resolve));
    worker.answers.push(true);
    worker.onApplicationBootstrap();
    await tick();
    let stopped = false;
    const stopping = worker.beforeApplicationShutdown().then(() => (stopped = true));
    await tick();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(worker.rounds).toBe(1);
  });
});
