// The simulator's world traffic (sim/traffic.mjs): Zipf popularity, the catalogue's classes and
// TTLs, per-location rates, the uncacheable and personalised shares, and repeatability.
import { describe, expect, it } from "vitest";
import { buildCatalogue, classForPath, generateWorldRequests, seededRandom, zipfSampler } from "../../sim/traffic.mjs";

describe("the world traffic", () => {
  it("draws Zipf popularity: rank 1 about twice as often as rank 2 at exponent 1", () => {
    const pick = zipfSampler(1000, 1, seededRandom(3));
    const counts = new Array(1000).fill(0);
    for (let index = 0; index < 200_000; index += 1) counts[pick()] += 1;
    expect(counts[0] / counts[1]).toBeGreaterThan(1.8);
    expect(counts[0] / counts[1]).toBeLessThan(2.2);
    expect(counts[0]).toBeGreaterThan(counts[999] * 300);
  });

  it("gives each catalogue path its class's TTL and never stores /api/", () => {
    const catalogue = buildCatalogue(100);
    expect(new Set(catalogue).size).toBe(100);
    for (const path of catalogue) expect(classForPath(path).ttlSeconds).toBeGreaterThan(0);
    expect(classForPath("/c/page/1").ttlSeconds).toBe(60);
    expect(classForPath("/c/asset/1").ttlSeconds).toBe(86_400);
    expect(classForPath("/api/cart/1").ttlSeconds).toBe(0);
    expect(classForPath("/some/replayed/path").ttlSeconds).toBeGreaterThan(0);
  });

  it("sends each location its rate, with the uncacheable and personalised shares", () => {
    const requests = generateWorldRequests({ colos: ["FRA", "SYD"], rates: { FRA: 30, SYD: 10 }, durationMs: 100_000, catalogue: buildCatalogue(200), seed: 5 });
    const fra = requests.filter((request: { colo: string }) => request.colo === "FRA").length;
    const syd = requests.length - fra;
    expect(fra).toBeGreaterThan(2_700);
    expect(fra).toBeLessThan(3_300);
    expect(syd).toBeGreaterThan(850);
    expect(syd).toBeLessThan(1_150);
    const api = requests.filter((request: { url: string }) => request.url.startsWith("/api/")).length / requests.length;
    const personal = requests.filter((request: { headers: { cookie?: string } }) => request.headers.cookie?.startsWith("session=")).length / requests.length;
    expect(api).toBeGreaterThan(0.035);
    expect(api).toBeLessThan(0.065);
    expect(personal).toBeGreaterThan(0.035);
    expect(personal).toBeLessThan(0.065);
    expect(requests.every((request: { at: number }, index: number) => index === 0 || request.at >= requests[index - 1].at)).toBe(true);
  });

  it("sends the same requests for the same seed", () => {
    const plan = (seed: number) => generateWorldRequests({ colos: ["FRA"], rates: { FRA: 5 }, durationMs: 10_000, catalogue: buildCatalogue(50), seed });
    expect(plan(9)).toEqual(plan(9));
    expect(plan(9)).not.toEqual(plan(10));
  });
});
