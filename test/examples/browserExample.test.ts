import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../examples/browser/', import.meta.url));
const screenshots = fileURLToPath(new URL('../../examples/browser/screenshots/', import.meta.url));

let server: ViteDevServer;
let browser: Browser;
let url: string;

beforeAll(async () => {
  server = await createServer({ configFile: `${root}vite.config.ts`, server: { port: 0 } });
  await server.listen();
  url = server.resolvedUrls?.local[0] ?? '';
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Types `query` and waits until the results show `expected`. */
async function searchFor(page: Page, query: string, expected: string) {
  await page.fill('#query', query);
  await page.waitForSelector(`#results li[data-name="${expected}"]`, { timeout: 20_000 });
}

const shardRequests = (page: Page) => {
  const seen: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('/data/shard-')) seen.push(new URL(request.url()).pathname);
  });
  return seen;
};

describe('the browser example (typeahead in real Chromium)', () => {
  it('dedupes and caches queries, and is served from IndexedDB after a reload', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    let requests = shardRequests(page);
    await page.goto(url);

    await searchFor(page, 'rx', 'rxjs');
    await searchFor(page, 'ty', 'typescript');
    expect(requests.filter((r) => r === '/data/shard-r.json')).toHaveLength(1);

    // Repeated and refined queries of a shard already fetched make no new request.
    const before = requests.length;
    await searchFor(page, 'rxj', 'rxjs');
    await searchFor(page, 'r', 'rxjs');
    await searchFor(page, 'typ', 'typescript');
    expect(requests.length).toBe(before);

    // Once the shard has landed in IndexedDB, reload: the same query needs no network.
    await page.waitForFunction(async () => {
      const example = (window as unknown as { eedExample: { persistedKeys(): Promise<string[]> } })
        .eedExample;
      return (await example.persistedKeys()).includes('shard:r');
    });
    await page.reload();
    requests = shardRequests(page);
    await searchFor(page, 'rx', 'rxjs');
    expect(requests.filter((r) => r === '/data/shard-r.json')).toHaveLength(0);
    const tiers = await page.evaluate(() => {
      const example = (
        window as unknown as { eedExample: { metrics(): { tiers: { hits: number }[] } } }
      ).eedExample;
      return example.metrics().tiers.map((t) => t.hits);
    });
    expect(tiers[1]).toBeGreaterThanOrEqual(1);

    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: `${screenshots}typeahead.png`, fullPage: true });
    await context.close();
  }, 120_000);
});
