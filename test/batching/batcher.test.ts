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
