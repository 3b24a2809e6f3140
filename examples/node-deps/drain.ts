import type { Observable, Subscription } from 'rxjs';

/**
 * Every value of `source$`. Ctrl-C unsubscribes, which aborts the signal of every running
 * task (destroying its read streams), and exits with 130.
 */
export function drain<T>(source$: Observable<T>): Promise<T[]> {
  return new Promise<T[]>((done, fail) => {
    const values: T[] = [];
    let subscription: Subscription | undefined;
    const onInterrupt = () => {
      subscription?.unsubscribe();
      console.error('\ninterrupted: running work aborted');
      process.exit(130);
    };
    process.once('SIGINT', onInterrupt);
    subscription = source$.subscribe({
      next: (value) => values.push(value),
      error: (error: unknown) => {
        process.off('SIGINT', onInterrupt);
        fail(error);
      },
      complete: () => {
        process.off('SIGINT', onInterrupt);
        done(values);
      },
    });
  });
}
