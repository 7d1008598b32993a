import { describe, expect, it } from "vitest";
import { distanceKm, visitorCoordinates } from "../../../src/steering/proximity.ts";
import { regionOf } from "../../../src/steering/regions.ts";
import { chosenFirst, hashString, pickWeighted } from "../../../src/steering/weighted.ts";

describe("regionOf", () => {
  it.each([
    ["DE", undefined, "WEU"],
    ["pl", undefined, "EEU"],
    ["JP", undefined, "NEAS"],
    ["SG", undefined, "SEAS"],
    ["IN", undefined, "SAS"],
    ["AU", undefined, "OC"],
    ["BR", undefined, "NSAM"],
    ["AR", undefined, "SSAM"],
    ["AE", undefined, "ME"],
    ["EG", undefined, "NAF"],
    ["ZA", undefined, "SAF"],
    ["US", "CA", "WNAM"],
    ["US", "NY", "ENAM"],
    ["US", undefined, "ENAM"],
    ["CA", "BC", "WNAM"],
    ["MX", undefined, "WNAM"],
    ["T1", undefined, undefined],
    ["XX", undefined, undefined],
  ])("maps %s/%s to %s", (country, subdivision, region) => {
    expect(regionOf(country, subdivision)).toBe(region);
  });
});

describe("distanceKm", () => {
  it("measures Frankfurt to Tokyo as about 9,350 km", () => {
    expect(distanceKm({ latitude: 50.11, longitude: 8.68 }, { latitude: 35.68, longitude: 139.69 })).toBeCloseTo(9350, -2);
  });

  it("is zero for the same point and symmetric", () => {
    const a = { latitude: 10, longitude: 20 };
    const b = { latitude: -33.9, longitude: 151.2 };
    expect(distanceKm(a, a)).toBe(0);
    expect(distanceKm(a, b)).toBeCloseTo(distanceKm(b, a), 6);
  });
});

describe("visitorCoordinates", () => {
  it("parses request.cf's string coordinates", () => {
    expect(visitorCoordinates({ latitude: "52.52", longitude: "13.40" })).toEqual({ latitude: 52.52, longitude: 13.4 });
  });

  it.each([[undefined], [{}], [{ latitude: "x", longitude: "1" }], [{ latitude: "91", longitude: "0" }], [{ latitude: "1" }]])(
    "gives nothing for unusable input %j",
    (cf) => {
      expect(visitorCoordinates(cf as never)).toBeUndefined();
    },
  );
});

describe("pickWeighted", () => {
  it.each([
    [[1, 1], 0, 0],
    [[1, 1], 0.49, 0],
    [[1, 1], 0.5, 1],
    [[1, 1], 0.999, 1],
    [[0, 1], 0, 1],
    [[0.9, 0.1], 0.89, 0],
    [[0.9, 0.1], 0.9, 1],
    [[0, 0], 0.5, -1],
  ])("picks from weights %j with random %d -> %d", (weights, random, index) => {
    expect(pickWeighted(weights, () => random)).toBe(index);
  });

  it("puts the chosen item first and keeps the rest in order", () => {
    expect(chosenFirst(["a", "b", "c", "d"], 2)).toEqual(["c", "a", "b", "d"]);
    expect(chosenFirst(["a", "b"], -1)).toEqual(["a", "b"]);
  });

  it("hashes stably", () => {
    expect(hashString("203.0.113.7")).toBe(hashString("203.0.113.7"));
    expect(hashString("203.0.113.7")).not.toBe(hashString("203.0.113.8"));
  });
});
