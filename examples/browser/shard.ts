/** The shard a name or query belongs to: its first letter or digit after any scope, else `_`. */
export function shardOf(text: string): string {
  const first = text
    .replace(/^@[^/]+\//, '')
    .charAt(0)
    .toLowerCase();
  return /[a-z0-9]/.test(first) ? first : '_';
}
