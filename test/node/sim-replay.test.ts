// Replay input for the simulator (sim/replay.mjs): the NDJSON format, the Logpush and combined-log
// importers, and a 10,000-line file planned into requests (written to a temp folder, not committed).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { importCombined, importLogpush, parseLine, planReplay, readReplay } from "../../sim/replay.mjs";

const COLOS = ["FRA", "IAD", "SYD"];
const folder = mkdtempSync(join(tmpdir(), "sim-replay-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe("the NDJSON replay format", () => {
  it("plans requests in time order, relative to the first line, divided by the scale", () => {
    const text = [
      JSON.stringify({ t: 10, colo: "IAD", url: "/b" }),
      JSON.stringify({ t: 5, colo: "FRA", method: "get", url: "https://site.example/a?x=1" }),
    ].join("\n");
    const { requests } = planReplay(text, { colos: COLOS, scale: 5 });
    expect(requests).toEqual([
      { at: 0, colo: "FRA", method: "GET", url: "/a?x=1", headers: {} },
      { at: 1000, colo: "IAD", method: "GET", url: "/b", headers: {} },
    ]);
  });

  it("sends a country's requests to the location in that country, else on its continent", () => {
    const text = [JSON.stringify({ t: 0, country: "AU", url: "/" }), JSON.stringify({ t: 1, country: "NZ", url: "/" }), JSON.stringify({ t: 2, country: "CA", url: "/" })].join("\n");
    expect(planReplay(text, { colos: COLOS }).requests.map((request: { colo: string }) => request.colo)).toEqual(["SYD", "SYD", "IAD"]);
  });

  it("takes ISO times and keeps only the replayed headers", () => {
    const text = [
      JSON.stringify({ time: "2026-01-01T00:00:00Z", colo: "SYD", url: "/a", headers: { "User-Agent": "ua", "X-Secret": "no", Cookie: "session=1" } }),
      JSON.stringify({ time: "2026-01-01T00:00:02.5Z", colo: "SYD", url: "/a" }),
    ].join("\n");
    const { requests } = planReplay(text, { colos: COLOS });
    expect(requests[0].headers).toEqual({ "user-agent": "ua", cookie: "session=1" });
    expect(requests[1].at).toBe(2500);
  });

  it("skips lines that are not requests and counts them", () => {
    const { requests, skipped } = planReplay(["# comment", "", "{not json", JSON.stringify({ colo: "FRA" }), JSON.stringify({ t: 0, url: "/ok" })].join("\n"), { colos: COLOS });
    expect(requests).toHaveLength(1);
    expect(skipped).toBe(2);
  });
});

describe("the importers", () => {
  it("reads a Cloudflare Logpush http_requests record", () => {
    const record = {
      EdgeStartTimestamp: "2026-03-01T12:00:00.250Z",
      EdgeColoCode: "fra",
      ClientCountry: "de",
      ClientRequestMethod: "HEAD",
      ClientRequestHost: "www.example.com",
      ClientRequestURI: "/img/1.webp?w=2",
      ClientRequestUserAgent: "Mozilla/5.0",
      ClientRequestReferer: "",
    };
    expect(importLogpush(record)).toEqual({ time: Date.parse("2026-03-01T12:00:00.250Z"), colo: "FRA", country: "DE", method: "HEAD", url: "/img/1.webp?w=2", headers: { "user-agent": "Mozilla/5.0" } });
  });

  it("reads Logpush timestamps in unix nanoseconds and seconds", () => {
    expect(importLogpush({ EdgeStartTimestamp: 1_772_366_400_250_000_000, ClientRequestURI: "/" }).time).toBe(1_772_366_400_250);
    expect(importLogpush({ EdgeStartTimestamp: 1_772_366_400, ClientRequestURI: "/" }).time).toBe(1_772_366_400_000);
  });

  it("reads a combined log line, time zone included", () => {
    const line = '203.0.113.9 - - [10/Oct/2026:13:55:36 -0700] "GET /c/page/3?a=b HTTP/1.1" 200 2326 "https://ref.example/" "curl/8.0"';
    expect(importCombined(line)).toEqual({ time: Date.UTC(2026, 9, 10, 20, 55, 36), client: "203.0.113.9", method: "GET", url: "/c/page/3?a=b", headers: { referer: "https://ref.example/", "user-agent": "curl/8.0" } });
  });

  it("recognises each format by the line's shape", () => {
    expect(parseLine(JSON.stringify({ EdgeStartTimestamp: 1, ClientRequestURI: "/lp" })).url).toBe("/lp");
    expect(parseLine(JSON.stringify({ t: 1, url: "/nd" })).url).toBe("/nd");
    expect(parseLine('1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET /cl HTTP/1.1" 200 1 "-" "-"').url).toBe("/cl");
  });

  it("spreads lines without geography over the locations by client", () => {
    const lines = Array.from({ length: 30 }, (_, index) => `10.0.0.${index} - - [01/Jan/2026:00:00:${String(index).padStart(2, "0")} +0000] "GET /x HTTP/1.1" 200 1 "-" "-"`);
    const colos = new Set(planReplay(lines.join("\n"), { colos: COLOS }).requests.map((request: { colo: string }) => request.colo));
    expect(colos.size).toBe(3);
  });
});

describe("a 10,000-line replay", () => {
  it("plans every line into a request, in order, from a file", () => {
    const lines = Array.from({ length: 10_000 }, (_, index) =>
      JSON.stringify({ t: index * 0.01, colo: COLOS[index % 3], method: "GET", url: `/c/asset/${index % 500}`, headers: { "user-agent": "replay" } }),
    );
    const path = join(folder, "replay.ndjson");
    writeFileSync(path, `${lines.join("\n")}\n`);
    const { requests, skipped } = readReplay(path, { colos: COLOS, scale: 2 });
    expect(skipped).toBe(0);
    expect(requests).toHaveLength(10_000);
    expect(requests.at(-1).at).toBeCloseTo(49_995, 3);
    expect(requests.every((request: { at: number }, index: number) => index === 0 || request.at >= requests[index - 1].at)).toBe(true);
  });
});
