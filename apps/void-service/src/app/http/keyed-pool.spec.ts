import { runKeyedInOrder } from './keyed-pool';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('runKeyedInOrder', () => {
  it('runs at most the given number at a time, and every item once', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await runKeyedInOrder(Array.from({ length: 20 }, (_, i) => `k${i}`), (k) => k, 4, async (_, index) => {
      running++;
      most = Math.max(most, running);
      await tick();
      await tick();
      running--;
      done.push(index);
    });
    expect(most).toBe(4);
    expect([...done].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('runs the items of one key one after the other in their order, the others alongside', async () => {
    const events: string[] = [];
    const slow = new Set([0]);
    await runKeyedInOrder(['a', 'b', 'a', 'c', 'a'], (k) => k, 3, async (key, index) => {
      events.push(`start ${key}${index}`);
      for (let i = 0; i < (slow.has(index) ? 5 : 1); i++) await tick();
      events.push(`end ${key}${index}`);
    });
    const at = (e: string) => events.indexOf(e);
    expect(at('end a0')).toBeLessThan(at('start a2'));
    expect(at('end a2')).toBeLessThan(at('start a4'));
    // b and c did not wait for the slow a0.
    expect(at('end b1')).toBeLessThan(at('end a0'));
  });

  it('skips items without a key', async () => {
    const seen: number[] = [];
    await runKeyedInOrder(['a', undefined, 'b'], (k) => k, 2, async (_, index) => {
      seen.push(index);
    });
    expect(seen.sort()).toEqual([0, 2]);
  });

  it('lets the others finish, then fails with the first failure; a failed item does not block its key', async () => {
    const done: number[] = [];
    const failure = runKeyedInOrder(['a', 'a', 'b'], (k) => k, 2, async (_, index) => {
      if (index === 0) throw new Error('database down');
      await tick();
      done.push(index);
    });
    await expect(failure).rejects.toThrow('database down');
    expect(done.sort()).toEqual([1, 2]);
  });
});
