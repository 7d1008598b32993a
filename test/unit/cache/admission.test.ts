// Storage admission: which tiers a fill may write, by origin requests within a window and a KV write budget.
import { describe, expect, it } from "vitest";
import { Admission, ADMISSION_MAX_KEYS, type AdmissionPolicy } from "../../../src/cache/admission.ts";
import { cachePolicySchema } from "../../../src/config/schema.ts";

const DEFAULTS = cachePolicySchema.parse({}).admission;
const routeWith = (policy: Partial<AdmissionPolicy> = {}) => ({ cache: { admission: { ...DEFAULTS, ...policy } } });
const NOW = 1_000_000;
/** What a fill's admission says of each tier, as TieredStore.put asks it (KV: the count, then the budget). */
const verdict = (admission: Admission, route: ReturnType<typeof routeWith>, key: string, foundInStorage: boolean, now: number) => {
  const admit = admission.admit(route, key, foundInStorage, now);
  return { colo: admit.refuses("colo"), kv: admit.refuses("kv") ?? (admit.takeKvWrite() ? undefined : "kv-write-budget") };
};

describe("Admission", () => {
  it("has documented defaults: the location tier at once, KV from the second origin request in 5 minutes, 300 KV writes a minute", () => {
    expect(DEFAULTS).toEqual({ colo_after_requests: 1, kv_after_requests: 2, window_seconds: 300, kv_writes_per_minute: 300 });
  });

  it("admits KV from the kv_after_requests-th origin request for a key, the location tier from colo_after_requests", () => {
    const admission = new Admission();
    const route = routeWith({ colo_after_requests: 2, kv_after_requests: 3 });
    admission.noteOriginRequest("k", route.cache.admission, NOW);
    expect(verdict(admission, route, "k", false, NOW)).toEqual({ colo: "admission", kv: "admission" });
    admission.noteOriginRequest("k", route.cache.admission, NOW);
    expect(verdict(admission, route, "k", false, NOW)).toEqual({ colo: undefined, kv: "admission" });
    admission.noteOriginRequest("k", route.cache.admission, NOW);
    expect(verdict(admission, route, "k", false, NOW).kv).toBeUndefined();
    expect(verdict(admission, route, "other", false, NOW).kv).toBe("admission");
  });

  it("counts requests within window_seconds only", () => {
    const admission = new Admission();
    const route = routeWith({ window_seconds: 10 });
    admission.noteOriginRequest("k", route.cache.admission, NOW);
    admission.noteOriginRequest("k", route.cache.admission, NOW + 9_999);
    expect(verdict(admission, route, "k", false, NOW + 9_999).kv).toBeUndefined();
    expect(verdict(admission, route, "k", false, NOW + 10_000).kv).toBe("admission"); // the window has passed
    const later = new Admission();
    later.noteOriginRequest("k", route.cache.admission, NOW);
    later.noteOriginRequest("k", route.cache.admission, NOW + 10_000); // starts a new window
    expect(later.requestsWithin("k", route.cache.admission, NOW + 10_000)).toBe(1);
  });

  it("admits a refresh of a copy found in a storage tier whatever the count", () => {
    const admission = new Admission();
    const route = routeWith({ colo_after_requests: 5, kv_after_requests: 5 });
    expect(verdict(admission, route, "k", true, NOW)).toEqual({ colo: undefined, kv: undefined });
  });

  it("limits a route's KV writes to kv_writes_per_minute in this isolate, refilling with the clock", () => {
    const admission = new Admission();
    const route = routeWith({ kv_after_requests: 1, kv_writes_per_minute: 2 });
    const other = routeWith({ kv_after_requests: 1, kv_writes_per_minute: 2 });
    const write = (r: typeof route, at: number) => verdict(admission, r, "k", true, at).kv;
    expect([write(route, NOW), write(route, NOW), write(route, NOW)]).toEqual([undefined, undefined, "kv-write-budget"]);
    expect(write(other, NOW)).toBeUndefined(); // each route has its own bucket
    expect(write(route, NOW + 29_999)).toBe("kv-write-budget");
    expect(write(route, NOW + 30_000)).toBeUndefined(); // one write every 30 s
    expect(verdict(admission, route, "k", true, NOW + 30_000).colo).toBeUndefined(); // the budget is KV's only
  });

  it("never writes KV for a route with kv_writes_per_minute = 0", () => {
    const admission = new Admission();
    const route = routeWith({ kv_after_requests: 1, kv_writes_per_minute: 0 });
    expect(verdict(admission, route, "k", true, NOW).kv).toBe("kv-write-budget");
  });

  it("remembers at most ADMISSION_MAX_KEYS keys", () => {
    const admission = new Admission();
    const policy = DEFAULTS;
    admission.noteOriginRequest("first", policy, NOW);
    for (let index = 1; index < ADMISSION_MAX_KEYS; index += 1) admission.noteOriginRequest(`k${index}`, policy, NOW);
    expect(admission.requestsWithin("first", policy, NOW)).toBe(1);
    admission.noteOriginRequest("one-more", policy, NOW); // cleared first
    expect(admission.requestsWithin("first", policy, NOW)).toBe(0);
    expect(admission.requestsWithin("one-more", policy, NOW)).toBe(1);
  });
});
