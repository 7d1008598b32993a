import { describe, expect, it } from "vitest";
import { appendToList, headersOf, sfString, withoutHopByHop } from "../../../src/lib/headers.ts";

describe("withoutHopByHop", () => {
  it("drops the fixed hop-by-hop fields (RFC 9110 §7.6.1)", () => {
    const headers = new Headers({
      connection: "keep-alive",
      "keep-alive": "timeout=5",
      "proxy-connection": "keep-alive",
      te: "trailers",
      trailer: "x-checksum",
      upgrade: "websocket",
      "proxy-authorization": "Basic x",
      "proxy-authenticate": "Basic",
      "content-type": "text/html",
    });
    expect([...withoutHopByHop(headers).keys()]).toEqual(["content-type"]);
  });

  it("drops every field the Connection header names, whatever its case and spacing", () => {
    const headers = new Headers({ connection: " X-Secret ,x-other,, ", "x-secret": "1", "x-other": "2", "x-kept": "3" });
    expect([...withoutHopByHop(headers).entries()]).toEqual([["x-kept", "3"]]);
  });

  it("leaves the input untouched", () => {
    const headers = new Headers({ connection: "close", "x-a": "1" });
    withoutHopByHop(headers);
    expect(headers.get("connection")).toBe("close");
  });
});

describe("headersOf", () => {
  it("keeps every stored field, repeated names included, in order", () => {
    const headers = headersOf([
      ["content-type", "text/html"],
      ["link", "</a.css>; rel=preload"],
      ["link", "</b.js>; rel=preload"],
    ]);
    expect([...headers]).toEqual([
      ["content-type", "text/html"],
      ["link", "</a.css>; rel=preload, </b.js>; rel=preload"],
    ]);
    expect(headers.get("link")).toBe(new Headers([["link", "</a.css>; rel=preload"], ["link", "</b.js>; rel=preload"]]).get("link"));
  });
});

describe("list and structured-field helpers", () => {
  it("appends to an existing list or starts one", () => {
    const headers = new Headers({ via: "1.1 a" });
    appendToList(headers, "via", "1.1 outpost");
    appendToList(headers, "x-forwarded-for", "203.0.113.1");
    expect(headers.get("via")).toBe("1.1 a, 1.1 outpost");
    expect(headers.get("x-forwarded-for")).toBe("203.0.113.1");
  });

  it("escapes quotes and backslashes in sf-strings", () => {
    expect(sfString('a"b\\c')).toBe('"a\\"b\\\\c"');
  });
});
