import type { Clock } from '../executor/types.js';

/**
 * Skips a failing dependency for a while. After `threshold` consecutive failures the
 * breaker opens: `allows()` is false for `coolDownMs`. Then one call is let through
 * (half-open); its success closes the breaker, its failure opens it again.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker(3, 30_000, { now: () => Date.now() });
 * if (breaker.allows()) {
 *   try { await tier.get(key); breaker.succeeded(); } catch { breaker.failed(); }
 * }
 * ```
 */
export class CircuitBreaker {
  #failures = 0;
  #openUntil = 0;

  constructor(
    readonly threshold: number,
    readonly coolDownMs: number,
    readonly clock: Clock,
  ) {}

  /** Whether a call may go through now. */
  allows(): boolean {
    if (this.#failures < this.threshold) return true;
    if (this.clock.now() < this.#openUntil) return false;
    // Half-open: let one call through; another failure re-opens for a full cool-down.
    this.#openUntil = this.clock.now() + this.coolDownMs;
    return true;
  }

  /** Whether the breaker is open (calls are being skipped). */
  get open(): boolean {
    return this.#failures >= this.threshold && this.clock.now() < this.#openUntil;
  }

  /** Records a success: closes the breaker. */
  succeeded(): void {
    this.#failures = 0;
    this.#openUntil = 0;
  }

  /** Records a failure; returns true when this failure opened the breaker. */
  failed(): boolean {
    this.#failures++;
    if (this.#failures === this.threshold) {
      this.#openUntil = this.clock.now() + this.coolDownMs;
      return true;
    }
    if (this.#failures > this.threshold) this.#openUntil = this.clock.now() + this.coolDownMs;
    return false;
  }
}
