/**
 * The signal handed to work that declares no parameter for it (`work.length === 0`, or a
 * `project` with fewer than three): such code cannot observe it, so no AbortController is
 * created for it, by far the largest per-task cost of a trivial task. Never aborted.
 *
 * @example
 * ```ts
 * const signal = work.length > 0 ? new AbortController().signal : UNUSED_SIGNAL;
 * ```
 */
export const UNUSED_SIGNAL: AbortSignal = new AbortController().signal;
