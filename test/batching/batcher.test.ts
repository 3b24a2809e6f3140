import { createExecutor } from 'eed';
import { describe, expect, it } from 'vitest';
import { Batcher, type BatchItem, type BatchSink } from '../../src/batching/Batcher.js';

/** A record that is its own token, as an `engine.loader` key is. */
class Item implements BatchItem<string, Item> {
  done = false;
  twins: BatchItem<string, Item>[] | undefined = undefined;
  batch: BatchItem<string, Item>['batch'] = undefined;
  constructor(readonly value: string) {}
  get token(): Item {
    return this;
  }
}

function batcherWith(sink: BatchSink<Item, string>, maxBatchSize: number) {
  return new Batcher<string, string, Item>({
    loadBatch: async (values: string[]) =>
      values.map((value) => (value === 'bad' ? new Error(value) : value.toUpperCase())),
    maxBatchSize,
    maxWaitMs: undefined,
    concurrency: Number.POSITIVE_INFINITY,
    keyOf: undefined,
    executor: createExecutor({ concurrency: 4 }),
    priority: 'normal',
    label: undefined,
    scheduler: undefined,
    sink,
  });
}

describe('Batcher with records of the caller (enqueue) and a settling hook', () => {
  it('hands each record itself to the sink, and calls settling once per batch before its results', async () => {
    const log: string[] = [];
    const sink: BatchSink<Item, string> = {
      settling: () => log.push('settling'),
      next: (item, result) => log.push(`${item.value}=${result}`),
      error: (item, error) => log.push(`${item.value}!${(error as Error).message}`),
    };
    const batcher = batcherWith(sink, 2);
    const items = ['a', 'bad', 'c'].map((value) => new Item(value));
    for (const item of items) batcher.enqueue(item);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(log).toEqual(['settling', 'a=A', 'bad!bad', 'settling', 'c=C']);
    expect(items.every((item) => item.done)).toBe(true);
  });

  it('a cancelled record gets no result and is not loaded when its batch had not been sent', async () => {
    const results: string[] = [];
    const batcher = batcherWith(
      { next: (item, result) => results.push(`${item.value}=${result}`), error: () => {} },
      10,
    );
    const kept = new Item('kept');
    const gone = new Item('gone');
    batcher.enqueue(kept);
    batcher.enqueue(gone);
    batcher.cancel(gone);
    batcher.cancel(new Item('never added')); // no batch: nothing to do
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(results).toEqual(['kept=KEPT']);
  });
});

describe('Batcher: a key nobody waits for gives its place back while its batch is open', () => {
  /** A batcher that records what each load received; `keyOf` by first letter when keyed. */
  function recording(maxBatchSize: number, keyed: boolean) {
    const loads: string[][] = [];
    const results: string[] = [];
    const batcher = new Batcher<string, string, string>({
      loadBatch: (values: string[]) => {
        loads.push(values);
        return [values.map((value) => value.toUpperCase())];
      },
      maxBatchSize,
      maxWaitMs: undefined,
      concurrency: Number.POSITIVE_INFINITY,
      keyOf: keyed ? (value) => value.slice(0, 1) : undefined,
      executor: createExecutor({ concurrency: 4 }),
      priority: 'normal',
      label: undefined,
      scheduler: undefined,
      sink: { next: (token, result) => results.push(`${token}=${result}`), error: () => {} },
    });
    return { batcher, loads, results };
  }

  it('fills a batch with the keys still wanted, and keeps the open batch small when most are cancelled', async () => {
    const { batcher, loads, results } = recording(3, false);
    batcher.add('k1', 'k1');
    // 100 values come and go (rows scrolled past) while k1 waits: each gives its place back.
    let largest = 0;
    for (let i = 0; i < 100; i++) {
      const entry = batcher.add(`x${i}`, `x${i}`);
      largest = Math.max(largest, entry.batch?.entries.length ?? 0);
      batcher.cancel(entry);
    }
    batcher.add('k2', 'k2');
    batcher.add('k3', 'k3'); // three keys wanted at once: the batch is full
    batcher.add('k4', 'k4');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(loads).toEqual([['k1', 'k2', 'k3'], ['k4']]);
    expect(results).toEqual(['k1=K1', 'k2=K2', 'k3=K3', 'k4=K4']);
    // Keys given up are dropped from the open batch once they are the most of it.
    expect(largest).toBeLessThanOrEqual(2 * 2 + 16 + 1);
  });

  it('keeps the keys still wanted, in order, when it drops those given up', async () => {
    for (const keyed of [false, true]) {
      const { batcher, loads } = recording(10, keyed);
      // Every 13th value stays (8 of them, never 10 wanted at once); the rest are cancelled.
      const kept: string[] = [];
      for (let i = 0; i < 100; i++) {
        // With keyOf (the first letter), letters repeat after 75 values: a cancelled twin
        // of a kept key, or a key given up that comes back.
        const value = `${String.fromCharCode(48 + (i % 75))}${i}`;
        const entry = batcher.add(value, value);
        if (i % 13 === 0) kept.push(value);
        else batcher.cancel(entry);
      }
      batcher.flush();
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(loads).toEqual([kept]);
    }
  });

  it('with keyOf: a key whose values were all cancelled comes back as a new key, at the end', async () => {
    const { batcher, loads, results } = recording(3, true);
    const a1 = batcher.add('a1', 'a1');
    const b1 = batcher.add('b1', 'b1');
    const b2 = batcher.add('b2', 'b2'); // a twin of b1
    batcher.cancel(b1); // b2 still waits: key b keeps its place
    batcher.cancel(a1); // nobody waits for key a: its place is free
    expect(b2.batch?.byKey && [...b2.batch.byKey.keys()]).toEqual(['b']);
    batcher.add('a2', 'a2'); // key a again, after b
    batcher.add('c1', 'c1'); // three keys wanted: the batch is full
    batcher.add('d1', 'd1'); // the next batch
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(loads).toEqual([['b1', 'a2', 'c1'], ['d1']]);
    expect(results).toEqual(['b2=B1', 'a2=A2', 'c1=C1', 'd1=D1']);
  });
});
