import { describe, expect, it } from 'vitest';
import { TurnClock } from '../../src/util/TurnClock.js';

describe('TurnClock', () => {
  it('reads its clock once per synchronous turn', async () => {
    let t = 1;
    let reads = 0;
    const turn = new TurnClock({
      now: () => {
        reads++;
        return t;
      },
    });
    expect(turn.now()).toBe(1);
    t = 2;
    expect(turn.now()).toBe(1);
    expect(reads).toBe(1);
    await Promise.resolve();
    expect(turn.now()).toBe(2);
    expect(reads).toBe(2);
  });

  it('reads nothing while nobody asks', async () => {
    let reads = 0;
    const turn = new TurnClock({
      now: () => {
        reads++;
        return 0;
      },
    });
    await Promise.resolve();
    expect(reads).toBe(0);
    turn.now();
    await Promise.resolve();
    await Promise.resolve();
    expect(reads).toBe(1);
  });
});
