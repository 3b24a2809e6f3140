import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinkedList, type ListNode } from '../../src/util/LinkedList.js';

class Node implements ListNode<Node> {
  prev: Node | undefined = undefined;
  next: Node | undefined = undefined;
  list: LinkedList<Node> | undefined = undefined;
  constructor(readonly id: number) {}
}

/** Ids from head to tail, checking every back link and the size on the way. */
const ids = (list: LinkedList<Node>): number[] => {
  const forward: number[] = [];
  let prev: Node | undefined;
  for (let node = list.head; node !== undefined; node = node.next) {
    expect(node.prev).toBe(prev);
    expect(node.list).toBe(list);
    forward.push(node.id);
    prev = node;
  }
  expect(list.tail).toBe(prev);
  const backward: number[] = [];
  for (let node = list.tail; node !== undefined; node = node.prev) backward.push(node.id);
  expect(backward.reverse()).toEqual(forward);
  expect(list.size).toBe(forward.length);
  return forward;
};

describe('LinkedList', () => {
  it('is empty when new', () => {
    const list = new LinkedList<Node>();
    expect(list.head).toBeUndefined();
    expect(list.tail).toBeUndefined();
    expect(list.size).toBe(0);
    expect(list.shift()).toBeUndefined();
  });

  it('push appends at the tail and shift removes from the head (FIFO)', () => {
    const list = new LinkedList<Node>();
    const [a, b, c] = [new Node(1), new Node(2), new Node(3)];
    list.push(a);
    list.push(b);
    list.push(c);
    expect(ids(list)).toEqual([1, 2, 3]);
    expect(list.shift()).toBe(a);
    expect(ids(list)).toEqual([2, 3]);
    expect(list.shift()).toBe(b);
    expect(list.shift()).toBe(c);
    expect(list.shift()).toBeUndefined();
    expect(ids(list)).toEqual([]);
  });

  it.each([
    ['head', 0, [2, 3]],
    ['middle', 1, [1, 3]],
    ['tail', 2, [1, 2]],
  ] as const)('remove unlinks the %s node in O(1)', (_where, index, rest) => {
    const list = new LinkedList<Node>();
    const nodes = [new Node(1), new Node(2), new Node(3)];
    for (const node of nodes) list.push(node);
    const removed = nodes[index] as Node;
    list.remove(removed);
    expect(ids(list)).toEqual(rest);
    expect(removed.prev).toBeUndefined();
    expect(removed.next).toBeUndefined();
    expect(removed.list).toBeUndefined();
  });

  it('removing the only node empties the list', () => {
    const list = new LinkedList<Node>();
    const a = new Node(1);
    list.push(a);
    list.remove(a);
    expect(list.head).toBeUndefined();
    expect(list.tail).toBeUndefined();
    expect(list.size).toBe(0);
  });

  it('a removed node can join another list', () => {
    const first = new LinkedList<Node>();
    const second = new LinkedList<Node>();
    const a = new Node(1);
    const b = new Node(2);
    first.push(a);
    first.push(b);
    first.remove(a);
    second.push(a);
    expect(ids(first)).toEqual([2]);
    expect(ids(second)).toEqual([1]);
    expect(a.list).toBe(second);
  });

  it('behaves like an array of nodes (model-based)', () => {
    type Op = { kind: 'push' } | { kind: 'shift' } | { kind: 'remove'; at: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.constant({ kind: 'push' as const }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'shift' as const }) },
      { weight: 3, arbitrary: fc.nat().map((at) => ({ kind: 'remove' as const, at })) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const list = new LinkedList<Node>();
        const model: Node[] = [];
        let nextId = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            const node = new Node(nextId++);
            list.push(node);
            model.push(node);
          } else if (o.kind === 'shift') {
            expect(list.shift()).toBe(model.shift());
          } else if (model.length > 0) {
            const [node] = model.splice(o.at % model.length, 1);
            list.remove(node as Node);
            expect(node?.list).toBeUndefined();
          }
          expect(ids(list)).toEqual(model.map((node) => node.id));
        }
      }),
    );
  });
});
