/**
 * A node that can sit in one {@link LinkedList} at a time. The links live on the node
 * itself (an intrusive list), so insertion and removal from anywhere are O(1) and
 * allocate nothing.
 */
export interface ListNode<N extends ListNode<N>> {
  prev: N | undefined;
  next: N | undefined;
  list: LinkedList<N> | undefined;
}

/**
 * An intrusive doubly linked list: O(1) push, shift, pop and removal of any node. It
 * backs the executor's lanes, where `Array.prototype.shift` and `splice` would make a
 * long queue superlinear.
 *
 * @example
 * ```ts
 * const lane = new LinkedList<Task>();
 * lane.push(task);
 * lane.remove(task); // O(1), e.g. when a queued task is unsubscribed
 * ```
 */
export class LinkedList<N extends ListNode<N>> {
  head: N | undefined = undefined;
  tail: N | undefined = undefined;
  size = 0;

  /** Appends `node`, which must not be in any list. */
  push(node: N): void {
    node.list = this;
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.size++;
  }

  /** Removes and returns the first node. */
  shift(): N | undefined {
    const node = this.head;
    if (node !== undefined) this.remove(node);
    return node;
  }

  /** Removes `node`, which must be in this list. */
  remove(node: N): void {
    const { prev, next } = node;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    node.prev = node.next = node.list = undefined;
    this.size--;
  }
}
