import { config, filter, firstValueFrom, map, Subscriber } from 'rxjs';
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

  it('calls an observer object with itself as this, and ignores its error and complete', () => {
    const listeners = new Listeners<number>();
    const observer = {
      seen: [] as number[],
      next(this: { seen: number[] }, e: number) {
        this.seen.push(e);
      },
      error: () => {
        throw new Error('never called');
      },
      complete: () => {
        throw new Error('never called');
      },
    };
    const subscription = listeners.observable.subscribe(observer);
    listeners.emit(1);
    subscription.unsubscribe();
    listeners.emit(2);
    expect(observer.seen).toEqual([1]);
    expect(subscription.closed).toBe(true);
    expect(listeners.active).toBe(false);
  });

  it('serves operators and Subscribers the RxJS way, closing them on unsubscribe', async () => {
    const listeners = new Listeners<number>();
    const first = firstValueFrom(
      listeners.observable.pipe(
        filter((e) => e > 1),
        map((e) => e * 10),
      ),
    );
    const seen: number[] = [];
    const subscriber = new Subscriber<number>({
      next: (e) => {
        seen.push(e);
      },
      error: () => {},
      complete: () => {},
    });
    listeners.observable.subscribe(subscriber);
    listeners.emit(1);
    listeners.emit(2);
    await expect(first).resolves.toBe(20);
    subscriber.unsubscribe();
    listeners.emit(3);
    expect(seen).toEqual([1, 2]);
    // firstValueFrom unsubscribed after its value; the Subscriber left too.
    expect(listeners.active).toBe(false);
  });

  it('stops calling a listener that another one unsubscribes during the same emission', () => {
    const listeners = new Listeners<number>();
    const seen: string[] = [];
    listeners.observable.subscribe((e) => {
      seen.push(`first${e}`);
      second.unsubscribe();
    });
    const second = listeners.observable.subscribe((e) => seen.push(`second${e}`));
    listeners.emit(1);
    expect(seen).toEqual(['first1']);
  });

  it('reports a listener error to config.onUnhandledError when one is set', async () => {
    const listeners = new Listeners<number>();
    const reported: unknown[] = [];
    const previous = config.onUnhandledError;
    config.onUnhandledError = (error) => reported.push(error);
    try {
      const boom = new Error('listener');
      listeners.observable.subscribe(() => {
        throw boom;
      });
      listeners.emit(1);
      expect(reported).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(reported).toEqual([boom]);
    } finally {
      config.onUnhandledError = previous;
    }
  });

  it('delivers the same whether one plain function listens or several, as they come and go', () => {
    const listeners = new Listeners<number>();
    const seen: string[] = [];
    const a = listeners.observable.subscribe((e) => seen.push(`a${e}`));
    listeners.emit(1); // a alone: called directly
    const b = listeners.observable.subscribe((e) => seen.push(`b${e}`));
    listeners.emit(2); // both
    a.unsubscribe();
    listeners.emit(3); // b alone again
    b.unsubscribe();
    listeners.emit(4); // nobody
    const observer = {
      name: 'o',
      next(this: { name: string }, e: number) {
        seen.push(`${this.name}${e}`);
      },
    };
    const o = listeners.observable.subscribe(observer);
    listeners.emit(5); // a lone observer keeps its `this`
    o.unsubscribe();
    expect(seen).toEqual(['a1', 'a2', 'b2', 'b3', 'o5']);
    expect(listeners.active).toBe(false);
  });

  it('stops calling a lone listener that unsubscribes itself, and reports its throw', async () => {
    const listeners = new Listeners<number>();
    const seen: number[] = [];
    const reported: unknown[] = [];
    const previous = config.onUnhandledError;
    config.onUnhandledError = (error) => reported.push(error);
    try {
      const boom = new Error('lone listener');
      const subscription = listeners.observable.subscribe((e) => {
        seen.push(e);
        if (e === 2) subscription.unsubscribe();
        if (e === 1) throw boom;
      });
      listeners.emit(1);
      listeners.emit(2);
      listeners.emit(3);
      expect(seen).toEqual([1, 2]);
      expect(listeners.active).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(reported).toEqual([boom]);
    } finally {
      config.onUnhandledError = previous;
    }
  });
});
