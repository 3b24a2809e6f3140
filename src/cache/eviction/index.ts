import { describe } from '../../executor/validate.js';
import { CostAwarePolicy } from './CostAwarePolicy.js';
import { LruPolicy } from './LruPolicy.js';
import { EVICTION_POLICIES, type EvictionPolicy, type EvictionPolicyName } from './types.js';

export { CostAwarePolicy } from './CostAwarePolicy.js';
export { LruPolicy } from './LruPolicy.js';
export {
  EVICTION_POLICIES,
  type EvictionPolicy,
  type EvictionPolicyName,
  NO_SLOT,
} from './types.js';

/**
 * Throws a `TypeError` naming `option` unless `value` is an {@link EvictionPolicyName}.
 *
 * @example
 * ```ts
 * assertEvictionPolicyName('policy', options.policy ?? 'lru');
 * ```
 */
export function assertEvictionPolicyName(
  option: string,
  value: unknown,
): asserts value is EvictionPolicyName {
  if (!EVICTION_POLICIES.includes(value as EvictionPolicyName)) {
    throw new TypeError(
      `${option} must be one of ${EVICTION_POLICIES.map((p) => `'${p}'`).join(', ')}; received ${describe(value)}`,
    );
  }
}

/**
 * A new, empty policy of the given name: the one place stores turn a `policy` option into
 * an {@link EvictionPolicy}.
 *
 * @param name - `'lru'` (the default) or `'cost-aware'`.
 * @throws TypeError when `name` is neither.
 *
 * @example
 * ```ts
 * const policy = createEvictionPolicy(options.policy ?? 'lru');
 * const slot = policy.add(entry.cost, entry.size);
 * ```
 */
export function createEvictionPolicy(name: EvictionPolicyName = 'lru'): EvictionPolicy {
  assertEvictionPolicyName('policy', name);
  return name === 'lru' ? new LruPolicy() : new CostAwarePolicy();
}
