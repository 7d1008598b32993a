// Visitors from different places reach different pools of real origins.
import { describe, expect, it } from "vitest";
import { createOrigin } from "../helpers/origins.ts";
import { createTestWorker, testEnv } from "../helpers/worker.ts";

async function twoRegions() {
  const eu = await createOrigin("eu-origin");
  const apac = await createOrigin("apac-origin");
  const worker = createTestWorker(
    testEnv({
      OUTPOST: {
        pools: [
          { name: "eu", latitude: 50.11, longitude: 8.68, origins: [{ name: "fra", address: eu.url }] },
          { name: "apac", latitude: 35.68, longitude: 139.69, origins: [{ name: "nrt", address: apac.url }] },
        ],
        routes: [
          { name: "geo", path: "/geo/*", steering_policy: "geo", default_pools: ["eu", "apac"], country_pools: { JP: ["apac"] }, continent_pools: { OC: ["apac"] } },
          { name: "near", path: "/near/*", steering_policy: "proximity", default_pools: ["eu", "apac"] },
        ],
      },
    }),
  );
  return { eu, apac, worker };
}

const visit = (path: string, cf: Record<string, string>) => new Request(`https://www.example.com${path}`, { cf });

describe("geographic routing", () => {
  it("sends a visitor from Germany and one from Japan to different pools", async () => {
    const { eu, apac, worker } = await twoRegions();
    const german = await worker.fetch(visit("/geo/page", { country: "DE", continent: "EU", colo: "FRA" }));
    const japanese = await worker.fetch(visit("/geo/page", { country: "JP", continent: "AS", colo: "NRT" }));
    expect(german.headers.get("outpost-upstream")).toBe('route="geo", pool="eu", origin="fra", steering="geo", reason="default", attempts=1');
    expect(japanese.headers.get("outpost-upstream")).toBe('route="geo", pool="apac", origin="nrt", steering="geo", reason="country:JP", attempts=1');
    expect([await eu.hits(), await apac.hits()]).toEqual([1, 1]);
  });

  it("matches by continent when no country is configured", async () => {
    const { apac, worker } = await twoRegions();
    const response = await worker.fetch(visit("/geo/page", { country: "AU", continent: "OC" }));
    expect(response.headers.get("outpost-upstream")).toContain('reason="continent:OC"');
    expect(await apac.hits()).toBe(1);
  });

  it("says so when request.cf has no location", async () => {
    const { eu, worker } = await twoRegions();
    const response = await worker.fetch(new Request("https://www.example.com/geo/page"));
    expect(response.headers.get("outpost-upstream")).toContain('reason="default (no geo data)"');
    expect(await eu.hits()).toBe(1);
  });

  it("sends a visitor to the nearest pool by coordinates", async () => {
    const { eu, apac, worker } = await twoRegions();
    await worker.fetch(visit("/near/a", { latitude: "37.57", longitude: "126.98" })); // Seoul
    await worker.fetch(visit("/near/b", { latitude: "48.14", longitude: "11.58" })); // Munich
    expect([await eu.hits(), await apac.hits()]).toEqual([1, 1]);
  });

  it("fails over from the preferred pool to the rest of default_pools", async () => {
    const { eu, apac, worker } = await twoRegions();
    await apac.stop();
    const response = await worker.fetch(visit("/geo/page", { country: "JP", continent: "AS" }));
    expect(response.status).toBe(200);
    expect(response.headers.get("outpost-upstream")).toBe('route="geo", pool="eu", origin="fra", steering="geo", reason="country:JP", attempts=2');
    expect(await eu.hits()).toBe(1);
  });
});
