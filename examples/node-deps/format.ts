const count = new Intl.NumberFormat('en-US');

/** `1234567` -> `1.2 MB` (decimal units). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** `1234` -> `1,234`. */
export const formatCount = (n: number): string => count.format(n);

/** `1234` (ms) -> `1.23 s`. */
export const formatSeconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** `0.1234` -> `12.3%`. */
export const formatPercent = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;

/** `plural(1, 'edge')` -> `1 edge`; `plural(1234, 'edge')` -> `1,234 edges`. */
export const plural = (n: number, word: string): string =>
  `${formatCount(n)} ${n === 1 ? word : `${word}s`}`;
