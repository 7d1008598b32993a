// The isolate's memory of cache keys: a key built once per route and URL, never shared between
// routes, hashed keys not kept, and bounded.
import { describe, expect, it } from "vitest";
import { CacheState, MAX_REMEMBERED_HREF_CHARS } from "../../../src/cache/cache-state.ts";
import { OutpostError } from "../../../src/lib/errors.ts";
import { TestClock } from "../../helpers/worker.ts";

function counter(key: string | Promise<string>) {
  const build = () => {
    build.calls += 1;
    return key;
  };
  build.calls = 0;
  return build;
}

describe("CacheState.keyFor", () => {
  it("builds a route's key for a URL once, and again for another route", () => {
    const state = new CacheState();
    const [routeA, routeB] = [{}, {}];
    const build = counter("outpost:v2:1:a|https://example.com/p");
    expect(state.keyFor(routeA, "https://example.com/p", build)).toBe("outpost:v2:1:a|https://example.com/p");
    expect(state.keyFor(routeA, "https://example.com/p", build)).toBe("outpost:v2:1:a|https://example.com/p");
    expect(build.calls).toBe(1);
    state.keyFor(routeB, "https://example.com/p", build);
    state.keyFor(routeA, "https://example.com/q", build);
    expect(build.calls).toBe(3);
  });

  it("does not keep hashed keys (promises)", async () => {
    const state = new CacheState();
    const route = {};
    const build = counter(Promise.resolve("outpost:v2:1:a|sha256:00"));
    await state.keyFor(route, "https://example.com/long", build);
    await state.keyFor(route, "https://example.com/long", build);
    expect(build.calls).toBe(2);
  });

  it("forgets every key when 1,000 are kept", () => {
    const state = new CacheState();
    const route = {};
    const build = counter("k");
    for (let index = 0; index < 1_000; index += 1) state.keyFor(route, `https://example.com/${index}`, build);
    state.keyFor(route, "https://example.com/0", build);
    expect(build.calls).toBe(1_000);
    state.keyFor(route, "https://example.com/new", build); // the 1,001st: the memory is cleared first
    state.keyFor(route, "https://example.com/0", build);
    expect(build.calls).toBe(1_002);
  });

  it("forgets every key when 1,000 are kept across all routes, not 1,000 per route", () => {
    const state = new CacheState();
    const build = counter("k");
    for (let index = 0; index < 1_000; index += 1) state.keyFor({}, `https://example.com/${index}`, build);
    const route = {};
    state.keyFor(route, "https://example.com/kept", build); // the 1,001st: the memory is cleared first
    state.keyFor(route, "https://example.com/kept", build);
    expect(build.calls).toBe(1_001);
  });

  it("does not remember URLs longer than MAX_REMEMBERED_HREF_CHARS (a long query the key drops)", () => {
    const state = new CacheState();
    const route = {};
    const build = counter("k");
    const long = `https://example.com/p?utm_x=${"a".repeat(MAX_REMEMBERED_HREF_CHARS)}`;
    state.keyFor(route, long, build);
    state.keyFor(route, long, build);
    expect(build.calls).toBe(2);
    const fits = "https://example.com/p?".padEnd(MAX_REMEMBERED_HREF_CHARS, "a");
    state.keyFor(route, fits, build);
    state.keyFor(route, fits, build);
    expect(build.calls).toBe(3);
  });
});

describe("CacheState.startFill (collapsed fills)", () => {
  const deadlineError = () => new OutpostError(504, "origin_timeout", "deadline");

  it("answers waiters with the first share only, and unregisters the fill", async () => {
    const state = new CacheState();
    const clock = new TestClock();
    const led = state.startFill("k", clock, 1_000, deadlineError);
    expect(state.inflight.get("k")).toBe(led.fill);
    led.share({ kind: "none" });
    led.share({ kind: "failed", error: deadlineError() });
    expect(await led.fill.shared).toEqual({ kind: "none" });
    expect(state.inflight.has("k")).toBe(false);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("settles at the route's deadline, not a millisecond before, and abandons the copy being stored", async () => {
    const state = new CacheState();
    const clock = new TestClock();
    const led = state.startFill("k", clock, 1_000, deadlineError);
    expect(led.fill.deadlineAt).toBe(clock.now() + 1_000);
    clock.advance(999);
    expect(state.inflight.has("k")).toBe(true);
    expect(led.fill.expired.aborted).toBe(false);
    clock.advance(1);
    const shared = await led.fill.shared;
    expect(shared.kind === "failed" && shared.error.status).toBe(504);
    expect(led.fill.expired.aborted).toBe(true);
    expect(state.inflight.has("k")).toBe(false);
  });

  it("does not unregister a newer fill of the same key", () => {
    const state = new CacheState();
    const clock = new TestClock();
    const old = state.startFill("k", clock, 1_000, deadlineError);
    const newer = state.startFill("k", clock, 1_000, deadlineError);
    old.share({ kind: "none" });
    expect(state.inflight.get("k")).toBe(newer.fill);
  });
});
