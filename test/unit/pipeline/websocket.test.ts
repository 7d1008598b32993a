import { describe, expect, it } from "vitest";
import { isWebSocketUpgrade } from "../../../src/pipeline/websocket.ts";

describe("isWebSocketUpgrade", () => {
  it.each([
    ["websocket", true],
    ["WebSocket", true],
    [" websocket ", true],
    ["h2c", false],
    ["websocket, h2c", false],
  ])("Upgrade: %j -> %s", (upgrade, expected) => {
    expect(isWebSocketUpgrade(new Request("https://example.com/", { headers: { upgrade } }))).toBe(expected);
  });

  it("is false for any method but GET (the handshake is a GET, RFC 6455 §4.1)", () => {
    expect(isWebSocketUpgrade(new Request("https://example.com/", { method: "POST", headers: { upgrade: "websocket" } }))).toBe(false);
  });

  it("is false without an Upgrade header", () => {
    expect(isWebSocketUpgrade(new Request("https://example.com/"))).toBe(false);
  });
});
