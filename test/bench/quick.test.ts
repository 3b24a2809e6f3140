/**
 * The benchmark suite on tiny sizes: every case still runs, and every peer computes the
 * same answer as eed. Nothing here looks at a timing or a target.
 */
import { describe, expect, it } from 'vitest';
import type { CaseResult } from '../../bench/harness.js';
import { caseToMarkdown } from '../../bench/harness.js';
import { PROFILES } from '../../bench/profiles.js';
import { CASES, runSuite } from '../../bench/suite.js';

describe('bench suite (tiny sizes, no timing asserted)', () => {
  let results: CaseResult[] = [];

  it('runs every case', { timeout: 180_000 }, async () => {
    results = await runSuite({ profile: PROFILES.tiny });
    expect(results.map((r) => r.id)).toEqual(CASES.map((c) => c.id));
  });

  it('every peer computes the same answer as eed', () => {
    const checks = results.flatMap((r) => r.checks);
    expect(checks.length).toBeGreaterThan(30);
    const failed = checks.filter((c) => !c.ok).map((c) => `${c.description}: ${c.detail}`);
    expect(failed).toEqual([]);
  });

  it('has a row for every contender of the comparisons and renders Markdown', () => {
    const scheduler = results.find((r) => r.id === 'scheduler');
    const names = scheduler?.tables[0]?.rows.map((row) => row.name);
    expect(names).toEqual([
      'eed parallelMap',
      'eed executor.schedule',
      'rxjs mergeMap',
      'p-limit',
      'p-queue',
      'p-map',
      'floor (10 promises in flight)',
    ]);
    for (const result of results) {
      const markdown = caseToMarkdown(result);
      expect(markdown).toContain(result.title);
      if (result.tables.length > 0) expect(markdown).toMatch(/\| --- \|/);
    }
  });
});
