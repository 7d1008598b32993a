// The simulator's HTML report (sim/report.mjs renderHtml) in a real headless Chromium: the charts
// (hit ratio and origin requests over time per location, purge convergence per location) render with
// one series or bar per location, inside their boxes, and the page has no errors. Screenshot in
// test-results/sim/.
import { existsSync, mkdirSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyLocationStats, finishLocationStats, projectMonthlyCost, renderHtml } from "../../sim/report.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const HAS_BROWSER = existsSync(CHROMIUM);
if (!HAS_BROWSER && process.env.OUTPOST_REQUIRE_BROWSER) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
const COLOS = ["FRA", "IAD", "SYD"];

function sampleResult() {
  const stats = finishLocationStats({ ...emptyLocationStats(), requests: 100, hits: { memory: 40, colo: 20, kv: 10, unknown: 0 }, misses: 30 });
  return {
    scenario: "quick",
    startedAt: "2026-12-03T00:00:00.000Z",
    scale: 10,
    cacheTiers: ["memory", "colo", "kv"],
    kvPropagationSeconds: 60,
    durationSeconds: { simulated: 300, real: 30 },
    locations: Object.fromEntries(COLOS.map((colo) => [colo, stats])),
    total: stats,
    originRequests: { total: 90, probes: 3, byOrigin: { "eu-1": 30, "us-1": 60 }, poolOf: { "eu-1": "eu", "us-1": "us" }, byLocation: { FRA: 30, IAD: 30, SYD: 30 } },
    purges: [{ label: "URL /c/asset/2 (hard)", boundMs: 17_000, convergenceMs: { FRA: 0, IAD: 9_000, SYD: null } }],
    outages: [{ origin: "eu-1", fromSimSeconds: 130, toSimSeconds: 190, perLocation: Object.fromEntries(COLOS.map((colo) => [colo, { requests: 10, staleWhileRevalidate: 1, staleIfError: 0, failovers: colo === "FRA" ? 4 : 0, errors: 0, p95Ms: 40 }])) }],
    events: [{ atSimSeconds: 60, kind: "purge", detail: "URL /c/asset/2 <hard>" }],
    kv: { perLocation: { FRA: { get: 1, cachedReads: 0, negativeReads: 1, put: 1, delete: 0, list: 0, rateLimited: 0, errors: 0 } }, total: { get: 1, cachedReads: 0, negativeReads: 1, put: 1, delete: 0, list: 0, rateLimited: 0, errors: 0 } },
    timeline: {
      bucketSimSeconds: 10,
      hitRatio: Object.fromEntries(COLOS.map((colo, index) => [colo, Array.from({ length: 30 }, (_, at) => Math.min(1, (at + index) / 30))])),
      originRequests: Object.fromEntries(COLOS.map((colo, index) => [colo, Array.from({ length: 30 }, (_, at) => 30 - at + index)])),
    },
    cost: projectMonthlyCost({ requests: 300, kvOps: { get: 100, put: 30, delete: 0, list: 0 } }, 100_000_000),
    problems: [],
  };
}

let browser: Browser;

describe.skipIf(!HAS_BROWSER)("the simulator's HTML report", () => {
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it("draws a line per location in both time charts and a bar per location for each purge", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
    await page.setContent(renderHtml(sampleResult()));
    for (const id of ["chart-hit-ratio", "chart-origin"]) {
      const lines = page.locator(`#${id} polyline.series`);
      expect(await lines.count()).toBe(COLOS.length);
      expect(await lines.evaluateAll((elements) => elements.map((element) => element.getAttribute("data-location")))).toEqual(COLOS);
      const box = (await page.locator(`#${id}`).boundingBox())!;
      for (const line of await lines.all()) {
        const lineBox = (await line.boundingBox())!;
        expect(lineBox.width).toBeGreaterThan(100);
        expect(lineBox.y).toBeGreaterThanOrEqual(box.y);
        expect(lineBox.y + lineBox.height).toBeLessThanOrEqual(box.y + box.height);
      }
    }
    const bars = page.locator("#purge-0 rect.bar");
    expect(await bars.count()).toBe(COLOS.length);
    expect(await page.locator("#purge-0").textContent()).toContain("not converged");
    expect(await page.locator("#summary").textContent()).toContain("scale 10");
    expect(await page.locator("#total-cost").textContent()).toMatch(/\$\d+\.\d\d a month/);
    expect(await page.locator("table").first().textContent()).toContain("SYD");
    expect(await page.content()).toContain("&lt;hard&gt;"); // event text is escaped
    expect(await page.getByRole("heading", { name: "While eu-1 was down (130-190 s sim)" }).count()).toBe(1);
    expect(errors).toEqual([]);
    mkdirSync("test-results/sim", { recursive: true });
    await page.screenshot({ path: "test-results/sim/report.png", fullPage: true });
    await page.close();
  });
});
