// The helpers users import into their own vitest suites (src/testing/index.ts), used as a user would:
// against the worker and real origins, and offline on a configuration.
import { describe, expect, it } from "vitest";
import { outpostMatchers, parseCacheStatus, routeDecision, visitorRequest } from "../../src/testing/index.ts";
import type { OutpostConfigInput } from "../../src/config/schema.ts";
import { createOrigin } from "../helpers/origins.ts";
import { createTestWorker, testEnv } from "../helpers/worker.ts";

expect.extend(outpostMatchers);

async function twoPools() {
  const eu = await createOrigin("eu-origin", { kind: "echo", headers: { "cache-control": "max-age=60" } });
  const apac = await createOrigin("apac-origin", { kind: "echo", headers: { "cache-control": "max-age=60" } });
  const config: OutpostConfigInput = {
    pools: [
      { name: "eu", origins: [{ name: "fra", address: eu.url }] },
      { name: "apac", origins: [{ name: "nrt", address: apac.url }] },
    ],
    routes: [{ name: "site", steering_policy: "geo", default_pools: ["eu", "apac"], country_pools: { JP: ["apac"] }, cache: { key: { country: true } } }],
  };
  return { config, worker: createTestWorker(testEnv({ OUTPOST: config })) };
}

describe("testing helpers", () => {
  it("builds a visitor's request, and the matchers read who served it and from where", async () => {
    const { worker } = await twoPools();
    const first = await worker.fetch(visitorRequest("https://www.example.com/page", { country: "JP", continent: "AS" }));
    expect(first).toBeServedBy("apac", "nrt");
    expect(first).toBeServedBy("apac");
    expect(first).not.toBeServedBy("eu");
    expect(first).not.toBeServedBy("apac", "fra");
    expect(first).toHaveCacheStatus("miss");
    expect(first).toHaveCacheStatus({ fwd: "miss", stored: true });
    const second = await worker.fetch(visitorRequest("https://www.example.com/page", { country: "JP" }));
    expect(second).toHaveCacheStatus("hit");
    expect(second).toHaveCacheStatus({ hit: true, detail: "memory" });
    expect(second).not.toHaveCacheStatus("miss");
  });

  it("fails with a message naming the header it read", async () => {
    const { worker } = await twoPools();
    const response = await worker.fetch(visitorRequest("https://www.example.com/page", { country: "DE" }));
    expect(() => expect(response).toBeServedBy("apac")).toThrow(/to be served by pool "apac", got "route=\\"site\\", pool=\\"eu\\"/);
    expect(() => expect(response).toHaveCacheStatus("hit")).toThrow(/expected Cache-Status to match "hit", got "Outpost; fwd=miss/);
    expect(() => expect(new Response("x")).toHaveCacheStatus("hit")).toThrow(/no Cache-Status header/);
  });

  it("decides a request offline, as the route tests do", async () => {
    const { config } = await twoPools();
    expect(routeDecision(config, { url: "https://www.example.com/", country: "JP" })).toMatchObject({ route: "site", pools: ["apac", "eu"], origin: "nrt", reason: "country:JP", cache: "cache" });
    expect(routeDecision(config, { url: "https://www.example.com/", method: "DELETE" })).toMatchObject({ cache: "bypass", cacheDetail: "method" });
  });

  it("parses Cache-Status parameters, quoted or not", () => {
    expect(parseCacheStatus('Outpost; fwd=stale; fwd-status=503; ttl=-5; key="a;b"; detail=stale-if-error')).toEqual({ hit: false, fwd: "stale", "fwd-status": "503", ttl: "-5", key: "a;b", detail: "stale-if-error" });
  });
});
