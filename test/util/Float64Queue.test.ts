import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Float64Queue } from '../../src/util/Float64Queue.js';

describe('Float64Queue', () => {
  it('is empty when new, and after clear', () => {
    const queue = new Float64Queue();
    expect(queue.size).toBe(0);
    expect(queue.shift()).toBeUndefined();
    queue.push(1);
    queue.clear();
    expect(queue.size).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });

  it('keeps doubles exactly, first in first out, across growth and wrap-around', () => {
    const queue = new Float64Queue();
    for (let i = 0; i < 10; i++) queue.push(i + 0.25);
    for (let i = 0; i < 7; i++) expect(queue.shift()).toBe(i + 0.25);
    for (let i = 10; i < 100; i++) queue.push(i + 0.25);
    for (let i = 7; i < 100; i++) expect(queue.shift()).toBe(i + 0.25);
    expect(queue.size).toBe(0);
  });

  it('agrees with an array used as a queue (fast-check)', () => {
    const op = fc.oneof(
      fc.double({ noNaN: true }).map((v) => ({ push: v })),
      fc.constant('shift'),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const queue = new Float64Queue();
        const model: number[] = [];
        for (const step of ops) {
          if (step === 'shift') expect(queue.shift()).toBe(model.shift());
          else {
            queue.push(step.push);
            model.push(step.push);
          }
          expect(queue.size).toBe(model.length);
        }
      }),
    );
  });
});
