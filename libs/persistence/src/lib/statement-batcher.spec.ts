import { StatementBatcher } from './statement-batcher';

describe('StatementBatcher', () => {
  it('runs the items submitted in one turn of the event loop as one batch, in submission order', async () => {
    const batches: number[][] = [];
    const batcher = new StatementBatcher<number, string>(async (items) => {
      batches.push([...items]);
      return items.map((n) => `#${n}`);
    });
    const answers = await Promise.all([1, 2, 3].map((n) => batcher.submit(n)));
    expect(answers).toEqual(['#1', '#2', '#3']);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('runs an item submitted alone by itself, without waiting for others', async () => {
    const batches: number[][] = [];
    const batcher = new StatementBatcher<number, number>(async (items) => {
      batches.push([...items]);
      return items;
    });
    expect(await batcher.submit(7)).toBe(7);
    expect(await batcher.submit(8)).toBe(8);
    expect(batches).toEqual([[7], [8]]);
  });

  it('splits a turn with more items than the largest batch', async () => {
    const sizes: number[] = [];
    const batcher = new StatementBatcher<number, number>(async (items) => {
      sizes.push(items.length);
      return items;
    }, 4);
    expect(await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.submit(i)))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sizes).toEqual([4, 4, 2]);
  });

  it('when a batch fails, runs each item alone so that only the bad one fails', async () => {
    const batches: number[][] = [];
    const batcher = new StatementBatcher<number, number>(async (items) => {
      batches.push([...items]);
      if (items.includes(2)) throw new Error('check constraint violated by 2');
      return items.map((n) => n * 10);
    });
    const answers = await Promise.allSettled([1, 2, 3].map((n) => batcher.submit(n)));
    expect(answers).toEqual([
      { status: 'fulfilled', value: 10 },
      { status: 'rejected', reason: new Error('check constraint violated by 2') },
      { status: 'fulfilled', value: 30 },
    ]);
    expect(batches).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it('treats a batch answered with the wrong number of outputs as failed', async () => {
    const batcher = new StatementBatcher<number, number>(async (items) => (items.length > 1 ? [1] : items));
    expect(await Promise.all([5, 6].map((n) => batcher.submit(n)))).toEqual([5, 6]);
  });
});
