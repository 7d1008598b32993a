// Properties of the cache key: it never throws, always fits KV, normalising twice changes nothing,
// and two requests share a key only where the route says they may (reordered, tracking, denied or
// not-allowed query parameters; headers, cookies and countries the route does not key on).
// Fixed seeds keep CI stable; a failure prints the seed and the shrunk counterexample.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ambiguousKeyedCookie, buildCacheKey, describeCacheKey, isKeyedByUrlOnly, normalizeQuery, type CacheKeyInput } from "../../../src/cache/cache-key.ts";
import { cachePolicySchema, type CachePolicy } from "../../../src/config/schema.ts";

const RUNS = { seed: 9111, numRuns: 500 };
const MAX_KEY_BYTES = 400;

// --- generators ---------------------------------------------------------------------------------

const TRACKING = ["utm_source", "utm_medium", "UTM_Campaign", "gclid", "fbclid", "msclkid", "_ga", "mc_eid"];
/** Characters that stress query parsing: separators, escapes, plus, non-ASCII, the key's own separator. */
const queryText = (maxLength: number) => fc.string({ unit: fc.constantFrom("a", "b", "Z", "1", "=", "&", "%", "2", "F", "+", " ", "?", "é", "|", ";", "/", ":"), maxLength });
/** Parameter names that no policy below filters out. */
const keptName = fc.stringMatching(/^[a-k][a-z0-9_\-[\]]{0,6}$/);
const paramValue = fc.oneof(queryText(8), fc.constantFrom("", "%ZZ", "%FF", "%EF%BF%BD", "a b", "a+b", "<x>"));
const keptParams = fc.array(fc.tuple(keptName, paramValue), { maxLength: 6 });

const policyArb: fc.Arbitrary<CachePolicy> = fc
  .record({
    sort: fc.boolean(),
    strip_tracking: fc.boolean(),
    deny: fc.subarray(["sessionid", "token", "z"]),
    allow: fc.option(fc.subarray(["a", "b", "q", "sessionid"]), { nil: undefined }),
    headers: fc.subarray(["x-variant", "accept-language"]),
    cookies: fc.subarray(["lang", "currency"]),
    country: fc.boolean(),
  })
  .map(({ sort, strip_tracking, deny, allow, headers, cookies, country }) =>
    cachePolicySchema.parse({ query: { sort, strip_tracking, deny, ...(allow ? { allow } : {}) }, key: { headers, cookies, country } }),
  );

/** Path segments with dot segments, odd and broken percent-encodings, path parameters. */
const segment = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{0,10}$/),
  fc.constantFrom(".", "..", "%2e", "%2E%2e", "%2F", "%", "%zz", "%00", ";x.css", "a|b", "é", "\\", "L".repeat(300)),
);
const pathArb = fc.array(segment, { maxLength: 5 }).map((segments) => `/${segments.join("/")}`);
const hostArb = fc.oneof(fc.domain(), fc.constantFrom("www.example.com", "WWW.EXAMPLE.COM", "127.0.0.1", "[::1]", "example.com:8443", "xn--bcher-kva.example"));
const urlArb = fc.tuple(fc.constantFrom("https", "http"), hostArb, pathArb, queryText(40)).map(([scheme, host, path, query]) => new URL(`${scheme}://${host}${path}?${query}`));
/** Header values as a client may send them (";" separates cookies, so it is left out). */
const dimensionValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)).filter((c) => c !== ";"), maxLength: 12 });

function input(url: URL, policy: CachePolicy, extra: Partial<CacheKeyInput> = {}): CacheKeyInput {
  return { url, headers: new Headers(), country: undefined, routeName: "site", cacheVersion: "1", policy, ...extra };
}

async function keyOf(keyInput: CacheKeyInput): Promise<string> {
  return await buildCacheKey(keyInput);
}

function withQuery(params: Array<[string, string]>): URL {
  const url = new URL("https://www.example.com/p");
  url.search = new URLSearchParams(params).toString();
  return url;
}

// --- properties ---------------------------------------------------------------------------------

describe("normalizeQuery", () => {
  it("never throws and never keeps the leading ?", () => {
    fc.assert(
      fc.property(queryText(60), policyArb, (search, policy) => {
        expect(normalizeQuery(search, policy.query).startsWith("?")).toBe(false);
      }),
      RUNS,
    );
  });

  it("is idempotent: normalising a normalised query gives it back", () => {
    fc.assert(
      fc.property(queryText(60), policyArb, (search, policy) => {
        const once = normalizeQuery(search, policy.query);
        expect(normalizeQuery(`?${once}`, policy.query)).toBe(once);
      }),
      RUNS,
    );
  });
});

describe("buildCacheKey", () => {
  it("never throws and always fits a KV key with room for variant suffixes", async () => {
    await fc.assert(
      fc.asyncProperty(urlArb, policyArb, fc.string({ maxLength: 2000 }), async (url, policy, value) => {
        const key = await keyOf(input(url, policy, { headers: new Headers({ "x-variant": value.replace(/[^\x20-\x7e]/g, "") }), country: "DE" }));
        expect(new TextEncoder().encode(key).byteLength).toBeLessThanOrEqual(MAX_KEY_BYTES);
        expect(key.startsWith("outpost:v2:1:site|")).toBe(true);
      }),
      RUNS,
    );
  });

  it("is idempotent: the URL rebuilt with its normalised query has the same key", async () => {
    await fc.assert(
      fc.asyncProperty(urlArb, policyArb, async (url, policy) => {
        const normalised = new URL(url);
        normalised.search = normalizeQuery(url.search, policy.query);
        expect(await keyOf(input(normalised, policy))).toBe(await keyOf(input(url, policy)));
      }),
      RUNS,
    );
  });

  it("gives one key to every order of the same parameters when sorting is on", async () => {
    const paramsAndShuffle = keptParams.chain((params) => fc.tuple(fc.constant(params), fc.shuffledSubarray(params, { minLength: params.length })));
    await fc.assert(
      fc.asyncProperty(paramsAndShuffle, policyArb, async ([params, shuffled], policy) => {
        const sorted = { ...policy, query: { ...policy.query, sort: true } };
        expect(await keyOf(input(withQuery(shuffled), sorted))).toBe(await keyOf(input(withQuery(params), sorted)));
      }),
      RUNS,
    );
  });

  it("ignores tracking, denied and not-allowed parameters wherever they appear", async () => {
    const ignoredName = fc.oneof(fc.constantFrom(...TRACKING), fc.constantFrom("sessionid", "token", "z"), fc.stringMatching(/^[l-y][a-z]{0,5}$/));
    const mixed = fc.tuple(keptParams, fc.array(fc.tuple(ignoredName, paramValue), { maxLength: 4 }), fc.infiniteStream(fc.boolean()));
    await fc.assert(
      fc.asyncProperty(mixed, async ([kept, ignored, coin]) => {
        // Interleave the ignored parameters among the kept ones, keeping the kept ones' order.
        const all: Array<[string, string]> = [];
        const pending = [...ignored];
        for (const param of kept) {
          if (pending.length > 0 && coin.next().value) all.push(pending.shift()!);
          all.push(param);
        }
        all.push(...pending);
        for (const sort of [true, false]) {
          const policy = cachePolicySchema.parse({ query: { sort, strip_tracking: true, deny: ["sessionid", "token", "z"], allow: [...new Set(kept.map(([name]) => name))] } });
          expect(await keyOf(input(withQuery(all), policy))).toBe(await keyOf(input(withQuery(kept), policy)));
        }
      }),
      RUNS,
    );
  });

  it("keeps kept parameters apart: different values, or a different order without sorting, give different keys", async () => {
    await fc.assert(
      fc.asyncProperty(keptParams, keptParams, fc.boolean(), async (a, b, sort) => {
        // strip_tracking off: a generated name may happen to be a tracking one (gclid, fbclid).
        const policy = cachePolicySchema.parse({ query: { sort, strip_tracking: false } });
        const canonical = (params: Array<[string, string]>) => {
          const list = params.map(([name, value]) => JSON.stringify([name, value]));
          return JSON.stringify(sort ? list.sort() : list);
        };
        fc.pre(canonical(a) !== canonical(b));
        expect(await keyOf(input(withQuery(a), policy))).not.toBe(await keyOf(input(withQuery(b), policy)));
      }),
      RUNS,
    );
  });

  it("gives different paths, hosts and schemes different keys", async () => {
    await fc.assert(
      fc.asyncProperty(urlArb, urlArb, policyArb, async (a, b, policy) => {
        fc.pre(a.protocol !== b.protocol || a.host !== b.host || a.pathname !== b.pathname);
        const sameQuery = new URL(b);
        sameQuery.search = a.search;
        expect(await keyOf(input(a, policy))).not.toBe(await keyOf(input(sameQuery, policy)));
      }),
      RUNS,
    );
  });

  it("keys on exactly the configured headers, cookies and country", async () => {
    const visitor = fc.record({ variant: dimensionValue, language: dimensionValue, lang: dimensionValue, currency: dimensionValue, other: dimensionValue, country: fc.constantFrom("DE", "US", "JP", "") });
    await fc.assert(
      fc.asyncProperty(visitor, visitor, policyArb, urlArb, async (a, b, policy, url) => {
        const keyFor = (v: typeof a) =>
          keyOf(
            input(url, policy, {
              headers: new Headers({ "x-variant": v.variant, "accept-language": v.language, "x-other": v.other, cookie: `lang=${v.lang}; currency=${v.currency}; other=${v.other}` }),
              country: v.country || undefined,
            }),
          );
        const differs = (field: string, x: string, y: string) => x.trim() !== y.trim() && (policy.key.headers.includes(field) || policy.key.cookies.includes(field));
        const keyedDifference =
          differs("x-variant", a.variant, b.variant) ||
          differs("accept-language", a.language, b.language) ||
          differs("lang", a.lang, b.lang) ||
          differs("currency", a.currency, b.currency) ||
          (policy.key.country && a.country !== b.country);
        if (keyedDifference) expect(await keyFor(a)).not.toBe(await keyFor(b));
        else expect(await keyFor(a)).toBe(await keyFor(b));
      }),
      RUNS,
    );
  });

  it("gives different cache versions and routes different keys", async () => {
    await fc.assert(
      fc.asyncProperty(urlArb, policyArb, fc.stringMatching(/^[A-Za-z0-9._-]{1,32}$/), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/), async (url, policy, version, route) => {
        fc.pre(version !== "1" || route !== "site");
        expect(await keyOf(input(url, policy, { cacheVersion: version, routeName: route }))).not.toBe(await keyOf(input(url, policy)));
      }),
      RUNS,
    );
  });

  it("hashes only keys too long for KV, and hashes them whole", async () => {
    await fc.assert(
      fc.asyncProperty(urlArb, policyArb, async (url, policy) => {
        const plain = describeCacheKey(input(url, policy));
        const key = await keyOf(input(url, policy));
        if (new TextEncoder().encode(plain).byteLength <= MAX_KEY_BYTES) expect(key).toBe(plain);
        else expect(key).toMatch(/^outpost:v2:1:site\|sha256:[0-9a-f]{64}$/);
      }),
      RUNS,
    );
  });
});

describe("cache key separators", () => {
  // Once a bug: key parts were joined with "|" unescaped, so a keyed value could forge a separator.
  it("keeps visitors whose keyed header values contain the separator apart", async () => {
    const policy = cachePolicySchema.parse({ key: { headers: ["x-a", "x-b"] } });
    const url = new URL("https://www.example.com/p");
    const first = await keyOf(input(url, policy, { headers: new Headers({ "x-a": "1|h:x-b=2", "x-b": "" }) }));
    const second = await keyOf(input(url, policy, { headers: new Headers({ "x-a": "1", "x-b": "2|h:x-b=" }) }));
    expect(first).not.toBe(second);
  });
});

describe("isKeyedByUrlOnly", () => {
  it("is true only without header, cookie and country dimensions", () => {
    expect(isKeyedByUrlOnly(cachePolicySchema.parse({}))).toBe(true);
    expect(isKeyedByUrlOnly(cachePolicySchema.parse({ query: { sort: false } }))).toBe(true);
    expect(isKeyedByUrlOnly(cachePolicySchema.parse({ key: { headers: ["x-variant"] } }))).toBe(false);
    expect(isKeyedByUrlOnly(cachePolicySchema.parse({ key: { cookies: ["lang"] } }))).toBe(false);
    expect(isKeyedByUrlOnly(cachePolicySchema.parse({ key: { country: true } }))).toBe(false);
  });
});

describe("ambiguousKeyedCookie", () => {
  it.each([
    ["lang=en; lang=\"><script>\"", "lang"],
    ["lang=en, lang=fr", "lang"], // two Cookie fields, joined by the runtime
    ["lang=en; LANG=fr", "lang"], // frameworks that match names case-insensitively
    ["lang=en; l%61ng=fr", "lang"], // frameworks that decode names
    ["a=1; lang=en; b=2; lang=", "lang"],
  ])("finds the keyed cookie in %s ambiguous", (header, expected) => {
    expect(ambiguousKeyedCookie(header, ["lang"])).toBe(expected);
  });

  it.each([["lang=en"], ["lang=en; lang=en"], ["lang=en; other=1; other=2"], [""], ["lang"]])("finds %s unambiguous", (header) => {
    expect(ambiguousKeyedCookie(header, ["lang"])).toBeUndefined();
  });
});
