// deliverRangeOfWhole: a client's Range cut from the whole 200 a collapsed fill fetched (RFC 9110 §14).
import { describe, expect, it } from "vitest";
import { deliverRangeOfWhole } from "../../../src/pipeline/deliver.ts";

const BODY = "0123456789abcdefghij";
const whole = (headers: Record<string, string> = { "content-length": "20" }, status = 200) => new Response(BODY, { status, headers });
const asked = (headers: Record<string, string>) => new Headers(headers);
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

describe("deliverRangeOfWhole", () => {
  it("cuts the range from a whole answer of known length", async () => {
    const part = deliverRangeOfWhole(whole({ "content-length": "20", etag: '"v1"' }), asked({ range: "bytes=5-9" }), NOW);
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 5-9/20");
    expect(await part.text()).toBe("56789");
  });

  it("cuts a suffix range", async () => {
    const part = deliverRangeOfWhole(whole(), asked({ range: "bytes=-3" }), NOW);
    expect(part.headers.get("content-range")).toBe("bytes 17-19/20");
    expect(await part.text()).toBe("hij");
  });

  it("answers 416 for a range past the end", async () => {
    const part = deliverRangeOfWhole(whole(), asked({ range: "bytes=20-" }), NOW);
    expect(part.status).toBe(416);
    expect(part.headers.get("content-range")).toBe("bytes */20");
  });

  it.each<{ case: string; response: () => Response; request: Record<string, string> }>([
    { case: "no declared length", response: () => whole({}), request: { range: "bytes=0-1" } },
    { case: "a content coding (the runtime decodes the body)", response: () => whole({ "content-length": "20", "content-encoding": "gzip" }), request: { range: "bytes=0-1" } },
    { case: "an If-Range that does not match", response: () => whole({ "content-length": "20", etag: '"v2"' }), request: { range: "bytes=0-1", "if-range": '"v1"' } },
    { case: "a status other than 200", response: () => whole({ "content-length": "20" }, 404), request: { range: "bytes=0-1" } },
  ])("gives the whole answer for $case (RFC 9110 §14.2 lets Range be ignored)", async ({ response, request }) => {
    const answer = deliverRangeOfWhole(response(), asked(request), NOW);
    expect(answer.headers.get("content-range")).toBeNull();
    expect(await answer.text()).toBe(BODY);
  });
});
