import { describe, expect, it } from 'vitest';
import { Listeners } from '../../src/util/Listeners.js';

describe('Listeners', () => {
  it('is inactive until subscribed and again after the last unsubscribe', () => {
    const listeners = new Listeners<number>();
    expect(listeners.active).toBe(false);
    const a = listeners.observable.subscribe();
    const b = listeners.observable.subscribe();
    expect(listeners.active).toBe(true);
    a.unsubscribe();
    expect(listeners.active).toBe(true);
    b.unsubscribe();
    expect(listeners.active).toBe(false);
  });

  it('is hot: each subscriber sees only what is emitted while it is subscribed', () => {
    const listeners = new Listeners<number>();
    const seen: string[] = [];
    listeners.emit(0);
    const a = listeners.observable.subscribe((e) => seen.push(`a${e}`));
    listeners.emit(1);
    listeners.observable.subscribe((e) => seen.push(`b${e}`));
    listeners.emit(2);
    a.unsubscribe();
    listeners.emit(3);
    expect(seen).toEqual(['a1', 'a2', 'b2', 'b3']);
  });

  it('lets listeners come and go during an emission without disturbing it', () => {
    const listeners = new Listeners<number>();
    const seen: string[] = [];
    const first = listeners.observable.subscribe((e) => {
      seen.push(`first${e}`);
      first.unsubscribe();
      listeners.observable.subscribe((f) => seen.push(`late${f}`));
    });
    listeners.observable.subscribe((e) => seen.push(`second${e}`));
    listeners.emit(1);
    listeners.emit(2);
    expect(seen).toEqual(['first1', 'second1', 'second2', 'late2']);
  });

  it('keeps delivering to the others when one listener throws', async () => {
    const listeners = new Listeners<number>();
    const seen: number[] = [];
    const reported: unknown[] = [];
    const onError = (error: unknown) => reported.push(error);
    process.on('uncaughtException', onError);
    try {
      listeners.observable.subscribe(() => {
        throw new Error('listener');
      });
      listeners.observable.subscribe((e) => seen.push(e));
      listeners.emit(1);
      expect(seen).toEqual([1]);
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(reported).toHaveLength(1);
    } finally {
      process.off('uncaughtException', onError);
    }
  });
});
