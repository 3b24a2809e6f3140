import { Heap } from './Heap.js';
import type { LockListener, LockTable } from './locks.js';

/**
 * What the queue needs to know of a task.
 *
 * @example
 * ```ts
 * const info: Queueable = { lane: 1, locks: ['db'] };
 * ```
 */
export interface Queueable {
  readonly lane: 0 | 1 | 2;
  /** Distinct lock names, possibly empty. */
  readonly locks: readonly string[];
}

/**
 * Ready tasks of one lane and one exact set of locks: they exclude each other, and are
 * all runnable or all blocked at any instant.
 */
interface LockGroup<T> {
  readonly lane: 0 | 1 | 2;
  readonly locks: readonly string[];
  readonly heap: Heap<T>;
  /** Where the group is listed: nowhere (empty), as runnable, or waiting for `waitLock`. */
  where: 'none' | 'runnable' | 'waiting';
  waitLock: string | undefined;
  /** Bumped whenever the group moves or its best task changes: older entries are stale. */
  version: number;
}

/** A lock group's best task when the entry was made (valid while `version` matches). */
interface GroupEntry<T> {
  readonly group: LockGroup<T>;
  readonly version: number;
  readonly top: T;
}

const LANES = [0, 1, 2] as const;

/**
 * The ready tasks of a graph run, in start order (`before`), per lane.
 *
 * Tasks without locks wait in one heap per lane. Tasks with locks wait in static lock
 * groups (same lane and lock set). A non-empty group is listed either as runnable (its
 * locks were free when listed) or as waiting for one lock that was held. Both listings
 * are lazy heaps of entries: a runnable group found blocked when it comes up is moved to
 * wait for the lock that blocks it, and a released lock wakes only the best group
 * waiting for it (the others need that lock too, so only one of them could run anyway).
 * Every operation costs O(log n) amortized, however many groups share a lock.
 *
 * @example
 * ```ts
 * const ready = new ReadyQueue(nodes, (n) => n.plan, before, lockTableOf(executor), listener);
 * ready.add(node);
 * const next = ready.take(1); // best runnable task, its locks acquired
 * ```
 */
export class ReadyQueue<T> {
  readonly #open: [Heap<T>, Heap<T>, Heap<T>];
  readonly #runnable: [Heap<GroupEntry<T>>, Heap<GroupEntry<T>>, Heap<GroupEntry<T>>];
  readonly #waiting = new Map<string, Heap<GroupEntry<T>>>();
  readonly #groupOf = new Map<T, LockGroup<T>>();
  /** Groups listed as runnable, per lane (some may have been blocked since). */
  readonly #runnableGroups: [number, number, number] = [0, 0, 0];
  readonly #byEntry: (a: GroupEntry<T>, b: GroupEntry<T>) => boolean;

  constructor(
    tasks: readonly T[],
    readonly info: (task: T) => Queueable,
    readonly before: (a: T, b: T) => boolean,
    readonly table: LockTable,
    /** The listener to name as the source of this queue's acquisitions. */
    readonly source: LockListener,
  ) {
    this.#byEntry = (a, b) => before(a.top, b.top);
    this.#open = [new Heap(before), new Heap(before), new Heap(before)];
    this.#runnable = [new Heap(this.#byEntry), new Heap(this.#byEntry), new Heap(this.#byEntry)];
    const groups = new Map<string, LockGroup<T>>();
    for (const task of tasks) {
      const { lane, locks } = info(task);
      if (locks.length === 0) continue;
      const sorted = [...locks].sort();
      const id = `${lane}\u0000${sorted.join('\u0000')}`;
      let group = groups.get(id);
      if (group === undefined) {
        group = {
          lane,
          locks: sorted,
          heap: new Heap(before),
          where: 'none',
          waitLock: undefined,
          version: 0,
        };
        groups.set(id, group);
      }
      this.#groupOf.set(task, group);
    }
  }

  /** Adds a task whose dependencies all succeeded. */
  add(task: T): void {
    const group = this.#groupOf.get(task);
    if (group === undefined) {
      this.#open[this.info(task).lane].push(task);
      return;
    }
    group.heap.push(task);
    this.#unlist(group);
    this.#list(group);
  }

  /**
   * How many tasks of `lane` could start now, as far as the queue can tell cheaply: every
   * task without locks plus one per group listed as runnable. It may overcount (a listed
   * group was blocked since, or two listed groups share a lock), never undercounts, and
   * after a `take` that found nothing it counts only groups that were free when listed.
   */
  runnable(lane: 0 | 1 | 2): number {
    return this.#open[lane].size + this.#runnableGroups[lane];
  }

  /**
   * Removes and returns the best task of `lane` whose locks are free (else of the other
   * lanes, highest first), having acquired its locks; `undefined` if none can start.
   */
  take(lane: 0 | 1 | 2): T | undefined {
    for (const l of [lane, ...LANES.filter((other) => other !== lane)]) {
      for (;;) {
        const open = this.#open[l].peek();
        const entry = this.#validRunnable(l);
        if (open === undefined && entry === undefined) break;
        if (entry === undefined || (open !== undefined && !this.before(entry.top, open))) {
          return this.#open[l].pop();
        }
        const group = entry.group;
        if (!this.table.tryAcquire(group.locks, this.source)) {
          // Blocked since it was listed: wait for the lock that blocks it, and let its
          // free locks wake a group that waits for them.
          this.#unlist(group);
          this.#list(group);
          this.locksReleased(group.locks);
          continue;
        }
        const task = group.heap.pop() as T;
        this.#unlist(group);
        this.#list(group);
        return task;
      }
    }
    return undefined;
  }

  /** After `locks` were released: wakes, for each one now free, the best group waiting for it. */
  locksReleased(locks: readonly string[]): void {
    for (const lock of locks) {
      const waiting = this.#waiting.get(lock);
      while (waiting !== undefined && waiting.size > 0 && this.table.free([lock])) {
        const entry = waiting.pop() as GroupEntry<T>;
        const group = entry.group;
        if (entry.version !== group.version || group.where !== 'waiting') continue;
        this.#unlist(group);
        this.#list(group);
        // Woken: the others wait on, since they need this lock too. Blocked elsewhere:
        // it now waits for that lock, and the next one here gets its chance.
        if ((group.where as LockGroup<T>['where']) === 'runnable') break;
      }
    }
  }

  /** Drops every task. */
  clear(): void {
    for (const lane of LANES) {
      this.#open[lane].clear();
      this.#runnable[lane].clear();
      this.#runnableGroups[lane] = 0;
    }
    this.#waiting.clear();
    for (const group of new Set(this.#groupOf.values())) {
      group.heap.clear();
      group.where = 'none';
      group.version++;
    }
  }

  /** Lists a group: as runnable if all its locks are free, else as waiting for a held one. */
  #list(group: LockGroup<T>): void {
    const top = group.heap.peek();
    if (top === undefined) return;
    const entry = { group, version: group.version, top };
    const held = group.locks.find((lock) => !this.table.free([lock]));
    if (held === undefined) {
      group.where = 'runnable';
      this.#runnableGroups[group.lane]++;
      this.#runnable[group.lane].push(entry);
      return;
    }
    group.where = 'waiting';
    group.waitLock = held;
    let waiting = this.#waiting.get(held);
    if (waiting === undefined) {
      waiting = new Heap(this.#byEntry);
      this.#waiting.set(held, waiting);
    }
    waiting.push(entry);
  }

  /** Unlists a group: every entry of it made so far becomes stale. */
  #unlist(group: LockGroup<T>): void {
    if (group.where === 'runnable') this.#runnableGroups[group.lane]--;
    group.where = 'none';
    group.waitLock = undefined;
    group.version++;
  }

  /** The lane's best runnable group entry, dropping stale ones. */
  #validRunnable(lane: 0 | 1 | 2): GroupEntry<T> | undefined {
    const entries = this.#runnable[lane];
    for (;;) {
      const entry = entries.peek();
      if (entry === undefined) return undefined;
      if (entry.version === entry.group.version && entry.group.where === 'runnable') return entry;
      entries.pop();
    }
  }
}
