import { MarkovPredictor, markovPredictor } from 'eed';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('MarkovPredictor', () => {
  it('learns transitions and predicts the most probable next keys', () => {
    const model = new MarkovPredictor();
    for (const key of ['a', 'b', 'a', 'b', 'a', 'c']) model.observe(key);
    expect(model.predict('a')).toEqual([
      { key: 'b', probability: 2 / 3 },
      { key: 'c', probability: 1 / 3 },
    ]);
    expect(model.predict('a', { minProbability: 0.5 })).toEqual([{ key: 'b', probability: 2 / 3 }]);
  });

  it('chains depth steps, multiplying probabilities, and never predicts the key itself', () => {
    const model = new MarkovPredictor();
    for (const key of ['a', 'b', 'c', 'a', 'b', 'd']) model.observe(key);
    const predictions = model.predict('a', { depth: 2 });
    expect(predictions).toEqual([
      { key: 'b', probability: 1 },
      { key: 'c', probability: 0.5 },
      { key: 'd', probability: 0.5 },
    ]);
  });

  it('keeps memory bounded: transitions per key and keys', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 400 }), (keys) => {
        const model = new MarkovPredictor({ maxTransitionsPerKey: 3, maxKeys: 5 });
        for (const key of keys) model.observe(String(key));
        expect(model.size).toBeLessThanOrEqual(5);
        for (const key of keys) {
          const predictions = model.predict(String(key));
          expect(predictions.length).toBeLessThanOrEqual(3);
          const total = predictions.reduce((sum, p) => sum + p.probability, 0);
          expect(total).toBeLessThanOrEqual(1 + 1e-9);
        }
      }),
    );
  });

  it('rejects bad options', () => {
    expect(() => new MarkovPredictor({ maxKeys: 0 })).toThrow(/maxKeys.*0/);
    expect(() => new MarkovPredictor({ maxKeys: 2.5 })).toThrow(RangeError);
    expect(() => new MarkovPredictor({ maxTransitionsPerKey: 0 })).toThrow(
      /maxTransitionsPerKey.*0/,
    );
    expect(() => new MarkovPredictor({ maxTransitionsPerKey: Number.NaN })).toThrow(RangeError);
  });

  it('rejects a depth that is not a finite integer >= 1, naming it and the value', () => {
    const model = new MarkovPredictor();
    for (const key of ['a', 'b', 'a']) model.observe(key);
    for (const [depth, shown] of [
      [0, '0'],
      [1.5, '1.5'],
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      ['2', '"2"'],
      [null, 'null'],
    ] as const) {
      const call = () => model.predict('a', { depth: depth as never });
      expect(call).toThrow(RangeError);
      expect(call).toThrow(`depth must be a finite integer >= 1; received ${shown}`);
    }
  });

  it('ends at once on a cycle of certain transitions, whatever the depth', () => {
    const model = new MarkovPredictor();
    // k -> a, then a and b always follow each other.
    for (const key of ['k', 'a', 'b', 'a', 'b', 'a']) model.observe(key);
    const expected = [
      { key: 'a', probability: 1 },
      { key: 'b', probability: 1 },
    ];
    for (const depth of [2, 3, 1_000_000_000, Number.MAX_SAFE_INTEGER]) {
      const started = performance.now();
      expect(model.predict('k', { depth })).toEqual(expected);
      expect(performance.now() - started).toBeLessThan(1_000);
    }
    expect(model.predict('k', { depth: 1 })).toEqual([{ key: 'a', probability: 1 }]);
    expect(model.predict('a', { depth: 1_000_000_000 })).toEqual([{ key: 'b', probability: 1 }]);
  });

  it('takes Infinity for either bound: nothing is forgotten', () => {
    const model = new MarkovPredictor({
      maxKeys: Number.POSITIVE_INFINITY,
      maxTransitionsPerKey: Number.POSITIVE_INFINITY,
    });
    // 'hub' is followed by 40 different keys; k0 to k38 are followed by 'hub' (k39 by nothing).
    for (let i = 0; i < 40; i++) {
      model.observe('hub');
      model.observe(`k${i}`);
    }
    expect(model.size).toBe(40);
    expect(model.predict('hub')).toHaveLength(40);
    expect(model.predict('k0')).toEqual([{ key: 'hub', probability: 1 }]);
  });
});

describe('markovPredictor', () => {
  it('observes what flows through and proposes work for the predicted keys', () => {
    const predict = markovPredictor({ keyOf: (v: string) => v, workFor: (key) => async () => key });
    const context = { depth: 1, minProbability: 0 };
    for (const v of ['home', 'list', 'home']) [...predict(v, context)];
    const next = [...predict('home', context)];
    expect(next.map((c) => c.key)).toEqual(['list']);
    expect(predict.model.size).toBe(2);
  });
});
