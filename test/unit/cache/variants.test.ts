import { describe, expect, it } from "vitest";
import { normalizeFieldValue, variantKey, variantValues, varyHeaderNames } from "../../../src/cache/variants.ts";

const marker = { headers: ["accept-language", "cookie"], generation: "g1" };
const keyFor = (fields: Record<string, string>) => variantKey("k", marker, new Headers(fields));

describe("variant selection (RFC 9111 §4.1)", () => {
  it.each([
    ["a cookie differing only in case", { cookie: "sid=secrettoken42" }, { cookie: "sid=SeCrEtToKeN42" }],
    ["a language differing only in case", { "accept-language": "en" }, { "accept-language": "EN" }],
    ["an absent field and an empty one", {}, { cookie: "" }],
    ["different spacing inside a value", { cookie: "a=1  b" }, { cookie: "a=1 b" }],
    ["spacing around a comma inside a quoted string", { "accept-language": '"a , b"' }, { "accept-language": '"a,b"' }],
  ])("tells apart %s", async (_case, one, other) => {
    expect(await keyFor(one)).not.toBe(await keyFor(other));
  });

  it.each([
    ["leading and trailing whitespace", { "accept-language": " en " }, { "accept-language": "en" }],
    ["optional whitespace around list commas", { "accept-language": "en , de;q=0.5" }, { "accept-language": "en,de;q=0.5" }],
  ])("treats %s as the same value (RFC 9110 §5.5, §5.6.1)", async (_case, one, other) => {
    expect(await keyFor(one)).toBe(await keyFor(other));
  });

  it("writes an absent field as its name alone and a present one as name:value", () => {
    expect(variantValues(["a", "b"], new Headers({ b: "" }))).toBe("a\nb:");
  });

  it("normalises only outside quoted strings, escapes included", () => {
    expect(normalizeFieldValue('x , "a , \\" , b" ,y')).toBe('x,"a , \\" , b",y');
  });

  it("leaves Accept-Encoding to the runtime and sorts names", () => {
    expect(varyHeaderNames("Cookie, accept-encoding, Accept-Language, cookie")).toEqual(["accept-language", "cookie"]);
  });
});

describe("variant key format", () => {
  it("never finds a variant stored under the v1 (case-folded) key, which a differently cased value may have stored", async () => {
    const { sha256Hex } = await import("../../../src/cache/cache-key.ts");
    const v1 = `k|g:g1|${(await sha256Hex("accept-language:\ncookie:sid=secrettoken42")).slice(0, 32)}`;
    expect(await keyFor({ cookie: "sid=secrettoken42" })).not.toBe(v1);
  });
});
