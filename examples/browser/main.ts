import { prefetch } from 'eed/operators';
import { debounceTime, distinctUntilChanged, filter, fromEvent, map, switchMap, tap } from 'rxjs';
import { cache, engine, network, predictNextShard, search } from './search.js';

const input = document.querySelector<HTMLInputElement>('#query')!;
const results = document.querySelector<HTMLUListElement>('#results')!;
const status = document.querySelector<HTMLParagraphElement>('#status')!;
const numbers = document.querySelector<HTMLDListElement>('#numbers')!;
const chart = document.querySelector<HTMLCanvasElement>('#chart')!;

fromEvent(input, 'input')
  .pipe(
    map(() => input.value.trim().toLowerCase()),
    debounceTime(120),
    distinctUntilChanged(),
    filter((query) => query.length > 0),
    prefetch(predictNextShard, { engine, minProbability: 0.25 }),
    tap(() => {
      status.textContent = 'searching…';
    }),
    switchMap((query) => search(query).pipe(map((rows) => ({ query, rows })))),
  )
  .subscribe({
    next: ({ query, rows }) => {
      status.textContent = `${rows.length} package${rows.length === 1 ? '' : 's'} for “${query}”`;
      results.replaceChildren(
        ...rows.map((row) => {
          const li = document.createElement('li');
          li.dataset.name = row.name;
          li.innerHTML = '<strong></strong> <small></small><br /><span></span>';
          (li.children[0] as HTMLElement).textContent = row.name;
          (li.children[1] as HTMLElement).textContent = row.version;
          (li.children[3] as HTMLElement).textContent = row.description;
          return li;
        }),
      );
    },
    error: (error: unknown) => {
      status.textContent = `failed: ${String(error)}`;
    },
  });

const percent = (x: number) => `${(x * 100).toFixed(0)}%`;
engine.metrics$.subscribe((m) => {
  const rows: Array<[string, string]> = [
    ['searches', String(m.requests)],
    ['network requests', String(network.requests)],
    ['cache hit rate', percent(m.cacheHitRate)],
    ['memory hits', String(m.tiers[0]?.hits ?? 0)],
    ['IndexedDB hits', String(m.tiers[1]?.hits ?? 0)],
    ['joined in flight', String(m.joins)],
    ['redundancy', percent(m.redundancyRate)],
    ['prefetched / used', `${m.prefetch.issued} / ${m.prefetch.used}`],
    ['first result p50', `${m.latency.firstValue.p50.toFixed(0)} ms`],
  ];
  numbers.replaceChildren(
    ...rows.flatMap(([name, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = value;
      dd.dataset.metric = name;
      return [dt, dd];
    }),
  );
});

// Concurrency over time: one bar per 100 ms, the number of tasks running.
const samples: number[] = [];
const context = chart.getContext('2d');
setInterval(() => {
  samples.push(engine.executor.stats().running);
  if (samples.length > 64) samples.shift();
  if (context === null) return;
  const { width, height } = chart;
  context.clearRect(0, 0, width, height);
  context.fillStyle = '#3b6ea5';
  const bar = width / 64;
  samples.forEach((running, i) => {
    const h = (running / engine.executor.concurrency) * height;
    context.fillRect(i * bar, height - h, bar - 1, h);
  });
}, 100);

/** What the end-to-end test reads. */
Object.assign(window, {
  eedExample: {
    metrics: () => engine.metrics(),
    network,
    persistedKeys: () => cache.indexedDb.keys(),
  },
});
