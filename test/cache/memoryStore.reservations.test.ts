import { type CacheEntry, MemoryStore } from 'eed';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './conformance.js';

const T0 = Date.UTC(2030, 0, 1);

function entry(value: unknown, ttl = Number.POSITIVE_INFINITY): CacheEntry {
  return { values: [value], storedAt: T0, expiresAt: T0 + ttl, cost: 1, size: 0 };
}

/** A computation in flight, as the engine's loader reserves its keys. */
class Pending {
  constructor(readonly key: string) {}
}

describe('MemoryStore reservations', () => {
  it('a reservation is found in the same lookup as entries, and is no entry', async () => {
    const store = new MemoryStore();
    const pending = new Pending('a');
    store.setSync('b', entry('B'));
    store.reserve('a', pending);
    expect(store.entryOrReservation('a')).toBe(pending);
    expect(store.entryOrReservation('b')?.constructor).toBe(Object);
    expect((store.entryOrReservation('b') as CacheEntry).values).toEqual(['B']);
    expect(store.entryOrReservation('c')).toBeUndefined();
    expect(store.reservation('a')).toBe(pending);
    expect(store.reservation('b')).toBeUndefined();
    expect(store.getSync('a')).toBeUndefined();
    expect(await store.get('a')).toBeUndefined();
    expect([store.size, store.reserved]).toEqual([1, 1]);
    expect(await store.keys()).toEqual(['b']);
    expect(store.deleteSync('a')).toBe(false); // delete removes entries, not reservations
    await store.clear();
    expect([store.size, store.reserved]).toEqual([0, 1]);
    expect(store.reservation('a')).toBe(pending);
  });

  it('storing the key ends its reservation in place; release ends it only for its holder', () => {
    const store = new MemoryStore();
    const a = new Pending('a');
    store.reserve('a', a);
    expect(store.setSync('a', entry('A'))).toBe(true);
    expect(store.reservation('a')).toBeUndefined();
    expect(store.getSync('a')?.values).toEqual(['A']);
    expect([store.size, store.reserved]).toEqual([1, 0]);
    expect(store.release('a', a)).toBe(false); // the entry stays
    expect(store.getSync('a')?.values).toEqual(['A']);

    const b = new Pending('b');
    store.reserve('b', b);
    expect(store.release('b', new Pending('b'))).toBe(false);
    expect(store.release('b', b)).toBe(true);
    expect([store.size, store.reserved]).toEqual([1, 0]);
  });

  it('an expired or oversized write ends the reservation and stores nothing', () => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore({ clock, maxBytes: 100 });
    store.reserve('old', new Pending('old'));
    expect(store.setSync('old', entry('x', 0))).toBe(false);
    store.reserve('big', new Pending('big'));
    expect(store.setSync('big', { ...entry('x'), size: 1000 })).toBe(false);
    expect([store.size, store.reserved]).toEqual([0, 0]);
    expect(store.reservation('old')).toBeUndefined();
  });

  it('a failing sizeOf ends the reservation', () => {
    const store = new MemoryStore({
      sizeOf: () => {
        throw new Error('cannot measure');
      },
    });
    store.reserve('a', new Pending('a'));
    expect(() => store.setSync('a', entry('A'))).toThrow('cannot measure');
    expect([store.size, store.reserved]).toEqual([0, 0]);
  });

  it('reserving a key drops its (stale) entry', () => {
    const store = new MemoryStore();
    store.setSync('a', entry('A'));
    const pending = new Pending('a');
    store.reserve('a', pending);
    expect([store.size, store.reserved]).toEqual([0, 1]);
    expect(store.entryOrReservation('a')).toBe(pending);
  });

  it('fulfil stores the result in the reserved slot and ends the reservation', () => {
    const store = new MemoryStore({ maxEntries: 2 });
    const a = new Pending('a');
    const ticket = store.reserve('a', a);
    store.setSync('b', entry('B'));
    expect(store.fulfil('a', ticket, a, { ...entry('A'), size: 8 })).toBe(true);
    expect(store.getSync('a')?.values).toEqual(['A']);
    expect([store.size, store.reserved, store.bytes]).toEqual([
      2,
      0,
      8 + store.measure(['B'], 'b'),
    ]);
    expect(store.reservation('a')).toBeUndefined();
    // A ticket is good once: fulfilling again is a plain write.
    expect(store.fulfil('a', ticket, a, { ...entry('A2'), size: 8 })).toBe(true);
    expect(store.getSync('a')?.values).toEqual(['A2']);
    // The bound holds: a third key evicts the least recently used.
    const c = new Pending('c');
    expect(store.fulfil('c', store.reserve('c', c), c, { ...entry('C'), size: 8 })).toBe(true);
    expect(store.size).toBe(2);
    expect(store.getSync('b')).toBeUndefined();
  });

  it('a ticket that no longer matches stores as setSync does', async () => {
    const store = new MemoryStore();
    const a = new Pending('a');
    const ticket = store.reserve('a', a);
    // Someone else took the reservation over: whoever writes ends it.
    const other = new Pending('a');
    expect(store.reserve('a', other)).toBe(ticket);
    expect(store.fulfil('a', ticket, a, entry('A'))).toBe(true);
    expect([store.getSync('a')?.values, store.reserved]).toEqual([['A'], 0]);

    // Cleared: the reservation lives on in a new slot; the old ticket still stores.
    const b = new Pending('b');
    const bTicket = store.reserve('b', b);
    const c = new Pending('c');
    store.reserve('c', c);
    await store.clear();
    expect([store.size, store.reserved]).toEqual([0, 2]);
    expect(store.fulfil('b', bTicket, b, { ...entry('B'), size: 8 })).toBe(true);
    expect(store.getSync('b')?.values).toEqual(['B']);
    expect(store.reservation('c')).toBe(c);
    expect([store.size, store.reserved]).toEqual([1, 1]);

    // A ticket of another key, or a wrong holder, does not store into that slot.
    const d = new Pending('d');
    const dTicket = store.reserve('d', d);
    expect(store.fulfil('e', dTicket, d, { ...entry('E'), size: 8 })).toBe(true);
    expect(store.reservation('d')).toBe(d);
    expect(store.getSync('e')?.values).toEqual(['E']);
  });

  it('fulfil with an expired or oversized entry ends the reservation and stores nothing', () => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore({ clock, maxBytes: 100 });
    const old = new Pending('old');
    expect(store.fulfil('old', store.reserve('old', old), old, { ...entry('x', 0), size: 8 })).toBe(
      false,
    );
    const big = new Pending('big');
    expect(store.fulfil('big', store.reserve('big', big), big, { ...entry('x'), size: 1000 })).toBe(
      false,
    );
    expect([store.size, store.reserved, store.bytes]).toEqual([0, 0, 0]);
    expect(store.reservation('old')).toBeUndefined();
    // The slots were given back: later entries reuse them.
    store.setSync('k', entry('K'));
    expect(store.getSync('k')?.values).toEqual(['K']);
  });

  it('fulfil keeps the parts of the entry; the first read builds an equal one and keeps it', async () => {
    const clock = new ManualClock(T0);
    const evicted: [string, CacheEntry, string][] = [];
    const store = new MemoryStore({
      clock,
      maxEntries: 2,
      onEvict: (key, gone, reason) => evicted.push([key, gone, reason]),
    });
    const fulfilled = (key: string, value: unknown, ttl = Number.POSITIVE_INFINITY) => {
      const holder = new Pending(key);
      const now = clock.now();
      const stored = { values: [value], storedAt: now, expiresAt: now + ttl, cost: 2.5, size: 8 };
      expect(store.fulfil(key, store.reserve(key, holder), holder, stored)).toBe(true);
      return stored;
    };
    const a = fulfilled('a', { id: 'a' });
    expect(await store.keys()).toEqual(['a']);
    const read = store.getSync('a');
    expect(read).toEqual(a);
    expect(read).not.toBe(a); // the store kept parts, not the object
    expect(read?.values).toBe(a.values);
    expect(store.getSync('a')).toBe(read); // built once
    expect(store.entryOrReservation('a')).toBe(read);

    // Read first by entryOrReservation; overwritten in place by setSync; deleted.
    const b = fulfilled('b', 'B');
    expect(store.entryOrReservation('b')).toEqual(b);
    const c = fulfilled('c', 'C'); // evicts 'a' (least recently used)
    expect(evicted).toEqual([['a', a, 'evicted']]);
    expect(store.setSync('c', entry('C2'))).toBe(true);
    expect(store.getSync('c')?.values).toEqual(['C2']);
    expect(c.values).toEqual(['C']);
    expect(store.deleteSync('b')).toBe(true);
    expect([store.size, store.bytes]).toEqual([1, store.measure(['C2'], 'c')]);

    // Never read: evicted, expired on read, pruned, and deleted, each reported whole.
    evicted.length = 0;
    await store.clear();
    const d = fulfilled('d', 'D');
    const e = fulfilled('e', 'E', 10);
    const f = fulfilled('f', 'F'); // evicts 'd'
    expect(evicted).toEqual([['d', d, 'evicted']]);
    clock.advance(10);
    expect(store.getSync('e')).toBeUndefined();
    expect(evicted[1]).toEqual(['e', e, 'expired']);
    const g = fulfilled('g', 'G', 5);
    clock.advance(5);
    expect(store.prune()).toBe(1);
    expect(evicted[2]).toEqual(['g', g, 'expired']);
    expect(await store.keys()).toEqual(['f']);
    expect(store.deleteSync('f')).toBe(true);
    expect(store.getSync('f')).toBeUndefined();
    expect([store.size, store.reserved, store.bytes, evicted.length]).toEqual([0, 0, 0, 3]);
    expect(f.values).toEqual(['F']);
  });

  type Op =
    | { kind: 'reserve' | 'release' | 'set' | 'fulfil' | 'delete' | 'get'; key: string }
    | { kind: 'clear' };
  const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e');
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constantFrom('reserve', 'release', 'set', 'fulfil', 'delete', 'get') as fc.Arbitrary<
        'reserve' | 'release' | 'set' | 'fulfil' | 'delete' | 'get'
      >,
      key: keyArb,
    }),
    fc.constant({ kind: 'clear' as const }),
  );

  it('reservations are never evicted, counted, listed or lost, whatever the other operations', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom('lru' as const, 'cost-aware' as const),
        async (ops, maxEntries, policy) => {
          /** The entry last written under each key while the store may still hold it. */
          const written = new Map<string, CacheEntry>();
          const store = new MemoryStore({
            maxEntries,
            policy,
            // An evicted entry is the one written (rebuilt from its parts when fulfil stored it).
            onEvict: (key, evicted) => {
              expect(evicted).toEqual(written.get(key));
              written.delete(key);
            },
          });
          const reserved = new Map<string, Pending>();
          /** The ticket each key's latest reservation got (kept after it ended: stale tickets too). */
          const tickets = new Map<string, { holder: Pending; ticket: number }>();
          for (const op of ops) {
            if (op.kind === 'clear') {
              await store.clear();
              written.clear();
              continue;
            }
            const { key } = op;
            if (op.kind === 'reserve') {
              // An entry the key held is dropped (the caller found it stale).
              written.delete(key);
              const holder = new Pending(key);
              tickets.set(key, { holder, ticket: store.reserve(key, holder) });
              reserved.set(key, holder);
            } else if (op.kind === 'release') {
              const holder = reserved.get(key);
              expect(store.release(key, holder ?? new Pending(key))).toBe(holder !== undefined);
              reserved.delete(key);
            } else if (op.kind === 'set') {
              const stored = { ...entry(key), size: 8 };
              store.setSync(key, stored);
              written.set(key, stored);
              reserved.delete(key);
            } else if (op.kind === 'fulfil') {
              const issued = tickets.get(key) ?? { holder: new Pending(key), ticket: 0 };
              const stored = { ...entry(`F${key}`), cost: ops.length, size: 8 };
              written.set(key, stored);
              expect(store.fulfil(key, issued.ticket, issued.holder, stored)).toBe(true);
              reserved.delete(key);
            } else if (op.kind === 'delete') {
              store.deleteSync(key);
              written.delete(key);
            } else {
              const hit = store.getSync(key);
              if (reserved.has(key)) expect(hit).toBeUndefined();
              // Never a wrong entry: the one written last, or (evicted) none.
              if (hit !== undefined) expect(hit).toEqual(written.get(key));
            }
            for (const k of ['a', 'b', 'c', 'd', 'e']) {
              expect(store.reservation(k)).toBe(reserved.get(k));
              if (reserved.has(k)) expect(store.entryOrReservation(k)).toBe(reserved.get(k));
            }
            expect(store.reserved).toBe(reserved.size);
            expect(store.size).toBeLessThanOrEqual(maxEntries);
            const keys = await store.keys();
            expect(keys).toHaveLength(store.size);
            for (const k of keys) expect(reserved.has(k)).toBe(false);
            expect(keys.every((k) => written.has(k))).toBe(true);
          }
          for (const [key, holder] of reserved) store.release(key, holder);
          expect(store.reserved).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
