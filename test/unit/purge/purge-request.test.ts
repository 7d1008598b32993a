import { describe, expect, it } from "vitest";
import { validateConfig, type CompiledConfig } from "../../../src/config/validate-config.ts";
import { parsePurgeRequest } from "../../../src/purge/purge-request.ts";

const validation = validateConfig({
  pools: [{ name: "main", origins: [{ name: "a", address: "https://origin.example.net" }] }],
  routes: [
    { name: "shop", hosts: ["shop.example.com"], default_pools: ["main"], cache: { query: { allow: ["page"] } } },
    { name: "rest", hosts: ["*"], default_pools: ["main"] },
  ],
});
if (!validation.ok) throw new Error(validation.problems.join("\n"));
const config: CompiledConfig = validation.config;

describe("parsePurgeRequest", () => {
  it("makes each kind canonical: tags lower-case, hosts lower-case, prefixes without scheme or trailing slash", () => {
    expect(parsePurgeRequest({ tags: [" Product-1 "] }, config)).toEqual({ ok: true, items: { tags: ["product-1"] }, soft: false, count: 1 });
    expect(parsePurgeRequest({ hosts: ["Shop.Example.com."] }, config)).toMatchObject({ items: { hosts: ["shop.example.com"] } });
    expect(parsePurgeRequest({ prefixes: ["https://Shop.example.com/a/b/", "shop.example.com/"] }, config)).toMatchObject({
      items: { prefixes: ["shop.example.com/a/b", "shop.example.com"] },
      count: 2,
    });
    expect(parsePurgeRequest({ purge_everything: true, soft: true }, config)).toEqual({ ok: true, items: { everything: true }, soft: true, count: 1 });
  });

  it("normalises a URL's query with the policy of the route that serves it", () => {
    expect(parsePurgeRequest({ files: ["https://shop.example.com/list?sort=new&page=2"] }, config)).toMatchObject({ items: { files: ["shop.example.com/list?page=2"] } });
    expect(parsePurgeRequest({ files: [{ url: "https://other.example.com/x?b=1&a=2&utm_medium=x" }] }, config)).toMatchObject({ items: { files: ["other.example.com/x?a=2&b=1"] } });
  });

  it("reports every problem with its path", () => {
    const result = parsePurgeRequest({ files: ["https://shop.example.com/ok", "mailto:x@example.com", "not a url"] }, config);
    expect(result).toEqual({ ok: false, problems: ["files[1]: must be an absolute http(s) URL", "files[2]: must be an absolute http(s) URL"] });
    expect(parsePurgeRequest({ prefixes: ["shop.example.com/a?b=1"] }, config)).toEqual({ ok: false, problems: ['prefixes[0]: must be a host and path such as "www.example.com/assets" (no query)'] });
  });

  it("accepts at most 100 items per call, as Cloudflare does", () => {
    const result = parsePurgeRequest({ tags: Array.from({ length: 101 }, (_, i) => `t${i}`) }, config);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems[0]).toMatch(/^tags: /);
  });
});
