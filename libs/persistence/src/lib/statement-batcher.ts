interface Waiting<I, O> {
  readonly item: I;
  readonly resolve: (output: O) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Runs the items submitted during one turn of the event loop as one statement. Under load, the
 * requests a service is handling at the same moment then cost PostgreSQL and the driver one round
 * trip, one parse of the answer and one commit instead of one each; alone, an item runs as soon as
 * the current turn ends, so it waits for nothing.
 *
 * `run` gets the items in submission order and must return one output per item, in the same order,
 * from a single statement (all or nothing). When it fails for a batch, each item is run again
 * alone, so one item's error (or a deadlock between batches) is that item's answer only.
 */
export class StatementBatcher<I, O> {
  private waiting: Waiting<I, O>[] = [];

  constructor(
    private readonly run: (items: readonly I[]) => Promise<readonly O[]>,
    private readonly maxBatch = 64,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.flush());
      this.waiting.push({ item, resolve, reject });
    });
  }

  private flush(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (let start = 0; start < waiting.length; start += this.maxBatch) {
      void this.runBatch(waiting.slice(start, start + this.maxBatch));
    }
  }

  private async runBatch(batch: readonly Waiting<I, O>[]): Promise<void> {
    let outputs: readonly O[];
    try {
      outputs = await this.run(batch.map((w) => w.item));
      if (outputs.length !== batch.length) throw new Error(`a batch of ${batch.length} gave ${outputs.length} answers`);
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      await Promise.all(batch.map((w) => this.runBatch([w])));
      return;
    }
    batch.forEach((w, i) => w.resolve(outputs[i]));
  }
}
