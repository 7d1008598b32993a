// The dashboard in a real headless Chromium (Debian's chromium, driven by playwright-core): Outpost
// runs on the Miniflare Node API with real KV and Cache API in front of a real counting origin. The
// operator types the token, reads health and counters, purges and explains. Screenshots go to
// test-results/dashboard/.
import { existsSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { bundleWorker, startWorker } from "../../scripts/worker-bundle.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// CI sets OUTPOST_REQUIRE_BROWSER=1 (and installs chromium): there a missing browser is a failure.
// Elsewhere the test is skipped with a message, so `npm test` works before `apt-get install chromium`.
const HAS_BROWSER = existsSync(CHROMIUM);
if (!HAS_BROWSER && process.env.OUTPOST_REQUIRE_BROWSER) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
if (!HAS_BROWSER) console.warn(`dashboard browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
const TOKEN = "dashboard-test-token-0123456789";
const SCREENSHOTS = "test-results/dashboard";

let origin: Server;
let originHits = 0;
let outpost: { mf: { dispose(): Promise<void> }; url: string };
let browser: Browser;
let page: Page;

describe.skipIf(!HAS_BROWSER)("the dashboard", () => {
  beforeAll(async () => {
    origin = createServer((request, response) => {
      originHits += 1;
      response.writeHead(200, { "content-type": "text/plain", "cache-control": "max-age=600", "cache-tag": "home" });
      response.end(`origin answer ${originHits} for ${request.url}`);
    });
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    const config = {
      pools: [{ name: "eu", origins: [{ name: "eu-1", address: originUrl }] }],
      routes: [{ name: "site", default_pools: ["eu"] }],
      coordination: { purge_coordinator: true },
    };
    // The purge coordinator runs as the real Durable Object (exported by the bundle), so purges get receipts.
    outpost = await startWorker(
      "dashboard-test",
      bundleWorker("dashboard-test-build", { minify: false }),
      {
        OUTPOST: { type: "json", value: config },
        OUTPOST_ADMIN_TOKEN: { type: "text", value: TOKEN },
        OUTPOST_CACHE: { type: "kv" },
        OUTPOST_PURGE_COORDINATOR: { type: "durable-object", worker: "dashboard-test", exportName: "PurgeCoordinator" },
      },
      { workerConfig: { exports: { PurgeCoordinator: { type: "durable-object", storage: "sqlite" } } } },
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await browser.newPage();
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await outpost?.mf.dispose();
    origin?.close();
  });

  it("asks for the token, then shows the origins and the cache counters", async () => {
    for (let i = 0; i < 3; i++) await (await fetch(`${outpost.url}/`)).text(); // one miss, two hits
    await page.goto(`${outpost.url}/__outpost/`);
    await expect.poll(() => page.textContent("#message")).toContain("Type the admin token");
    await page.fill("#token", TOKEN);
    await page.click("#save-token");
    await page.waitForSelector('#health tr[data-origin="eu/eu-1"]');
    const row = await page.textContent('#health tr[data-origin="eu/eu-1"]');
    expect(row).toContain("closed");
    expect(row).toContain("receives traffic");
    await expect.poll(() => page.textContent('[data-metric="requests"] b')).toBe("3");
    expect(await page.textContent('[data-metric="hit ratio"] b')).toBe("66.7 %");
    await page.screenshot({ path: `${SCREENSHOTS}/status.png`, fullPage: true });
  });

  it("purges by tag: the next request goes to the origin", async () => {
    const before = originHits;
    await page.selectOption("#purge-kind", "tags");
    await page.fill("#purge-values", "home");
    await page.click('#purge-form button[type="submit"]');
    await expect.poll(() => page.textContent("#purge-result")).toContain('"kind": "tags"');
    expect(await page.textContent("#purge-result")).toContain('"this_isolate": "now"');
    // The receipt follows: this location has polled the coordinator, and has not applied epoch 1 yet.
    await expect.poll(() => page.textContent("#purge-receipt")).toMatch(/^Receipt \(epoch 1\): applied by /);
    await page.screenshot({ path: `${SCREENSHOTS}/purge.png`, fullPage: true });
    const after = await fetch(`${outpost.url}/`);
    expect(after.headers.get("cache-status")).toContain("detail=purged");
    expect(await after.text()).toBe(`origin answer ${before + 1} for /`);
    expect(originHits).toBe(before + 1);
  });

  it("explains a visitor's request without contacting the origin", async () => {
    const before = originHits;
    await page.fill("#explain-url", `${outpost.url}/`);
    await page.fill("#explain-country", "DE");
    await page.click('#explain-form button[type="submit"]');
    await expect.poll(() => page.textContent("#explain-summary")).toContain("Route site");
    const summary = await page.textContent("#explain-summary");
    expect(summary).toContain("-> eu/eu-1");
    expect(summary).toMatch(/Outpost; hit; ttl=\d+; detail=/);
    await page.screenshot({ path: `${SCREENSHOTS}/explain.png`, fullPage: true });
    expect(originHits).toBe(before);
  });

  it("shows a wrong token as an error, not data", async () => {
    await page.fill("#token", "wrong-token-0123456789abcdef");
    await page.click("#save-token");
    await expect.poll(() => page.textContent("#message")).toContain("401");
  });
});
