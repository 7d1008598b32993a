// The PoolHealth object's rule, called directly over RPC (the real object, SQLite storage included).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PoolHealthStub } from "../../../src/coordination/pool-health-client.ts";

const T = 1_800_000_000_000;
const WINDOW = 30_000;

function freshObject(): PoolHealthStub {
  const namespace = env.OUTPOST_POOL_HEALTH!;
  return namespace.get(namespace.idFromName(`pool-health:${crypto.randomUUID()}:main`)) as unknown as PoolHealthStub;
}

describe("PoolHealth", () => {
  it("demotes an origin reported by min_locations distinct colos within the window, until the window after the min_locations-th newest report", async () => {
    const object = freshObject();
    await object.report({ origin: "a@https://a", colo: "AAA", at: T });
    await object.report({ origin: "a@https://a", colo: "AAA", at: T + 5_000 }); // the same colo again: still one location
    expect(await object.demotions({ now: T + 6_000, windowMs: WINDOW, minLocations: 2 })).toEqual({});
    await object.report({ origin: "a@https://a", colo: "BBB", at: T + 2_000 });
    expect(await object.demotions({ now: T + 6_000, windowMs: WINDOW, minLocations: 2 })).toEqual({ "a@https://a": T + 2_000 + WINDOW });
    expect(await object.demotions({ now: T + 6_000, windowMs: WINDOW, minLocations: 3 })).toEqual({});
    // BBB's report leaves the window: one location remains.
    expect(await object.demotions({ now: T + 2_000 + WINDOW, windowMs: WINDOW, minLocations: 2 })).toEqual({});
  });

  it("never demotes an origin nobody reported", async () => {
    const object = freshObject();
    await object.report({ origin: "a@https://a", colo: "AAA", at: T });
    await object.report({ origin: "a@https://a", colo: "BBB", at: T });
    expect(Object.keys(await object.demotions({ now: T, windowMs: WINDOW, minLocations: 2 }))).toEqual(["a@https://a"]);
  });
});
