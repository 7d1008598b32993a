import { describe, expect, it } from "vitest";
import { isDeliverableStatus } from "../../../src/origin/fetch-with-failover.ts";

describe("isDeliverableStatus", () => {
  it.each([
    [100, false], // interim (RFC 9110 §15.2): fetch never returns it as final
    [101, true], // a WebSocket upgrade
    [199, false],
    [200, true],
    [599, true],
    [600, false],
    [999, false],
  ])("%i -> %s", (status, deliverable) => {
    expect(isDeliverableStatus(status)).toBe(deliverable);
  });
});
