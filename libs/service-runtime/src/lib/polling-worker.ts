import { BeforeApplicationShutdown, Logger, OnApplicationBootstrap } from '@nestjs/common';

/**
 * A loop that runs on every instance from the application's bootstrap until its shutdown: a round
 * of work, then, unless the round says more is waiting, a pause of the poll interval that
 * `wakeUp()` cuts short. A failed round is logged and the loop goes on. Shutdown waits for the
 * round in flight, before the database closes (TypeORM closes it in onApplicationShutdown).
 */
export abstract class PollingWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  protected readonly logger: Logger;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;

  /** `failure` starts the log line of a failed round. */
  protected constructor(
    name: string,
    private readonly failure: string,
  ) {
    this.logger = new Logger(name);
  }

  /** One round of work; true when more may be waiting already (the next round starts at once). */
  protected abstract round(): Promise<boolean>;

  /** The pause after a round that found no more waiting. */
  protected abstract pollIntervalMs(): number;

  onApplicationBootstrap(): void {
    this.running = true;
    this.loop = this.run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Work was added: look now rather than at the end of the pause. */
  wakeUp(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let more = false;
      try {
        more = await this.round();
      } catch (error) {
        if (!this.running) break;
        this.logger.warn(`${this.failure}: ${String(error)}`);
      }
      if (!more && this.running) await this.pause();
    }
  }

  private pause(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.wake?.(), this.pollIntervalMs());
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
