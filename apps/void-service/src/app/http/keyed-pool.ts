/**
 * Runs `task` for each item, at most `concurrency` at a time, starting them in order; items that
 * share a key run one after the other in their order (a later one starts once the earlier has
 * settled), as if their requests had been sent one after the other. Items without a key (undefined)
 * are skipped. Resolves once every started task has settled; rejects with the first failure then.
 */
export async function runKeyedInOrder<T>(
  items: readonly T[],
  keyOf: (item: T) => string | undefined,
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  // A worker waits only for an earlier item of the same key, which a worker took before (items are
  // taken in order), so no worker ever waits for an item nobody took.
  const latestOfKey = new Map<string, Promise<unknown>>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index];
      const key = keyOf(item);
      if (key === undefined) continue;
      const before = latestOfKey.get(key);
      const run = (async () => {
        await before;
        await task(item, index);
      })();
      latestOfKey.set(key, run.catch(() => undefined));
      await run;
    }
  };
  const workers = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  const failed = workers.find((w): w is PromiseRejectedResult => w.status === 'rejected');
  if (failed) throw failed.reason;
}
