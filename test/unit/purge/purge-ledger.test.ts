import { describe, expect, it } from "vitest";
import { isLedgerDocument, LEDGER_ITEM_LIFETIME_MS, MAX_LEDGER_ITEMS, PurgeLedger, type PurgeTarget } from "../../../src/purge/purge-ledger.ts";

const T = 1_000_000;
const target = (overrides: Partial<PurgeTarget> = {}): PurgeTarget => ({
  storedAt: T - 1,
  host: "shop.example.com",
  path: "/products/1/photo.jpg",
  file: () => "shop.example.com/products/1/photo.jpg",
  tags: ["product-1"],
  ...overrides,
});

describe("PurgeLedger.verdict", () => {
  it.each([
    ["everything", { everything: true }, "hard"],
    ["its host", { hosts: ["shop.example.com"] }, "hard"],
    ["another host", { hosts: ["blog.example.com"] }, "none"],
    ["the host as a prefix", { prefixes: ["shop.example.com"] }, "hard"],
    ["a parent directory", { prefixes: ["shop.example.com/products"] }, "hard"],
    ["a deeper directory", { prefixes: ["shop.example.com/products/1"] }, "hard"],
    ["the file itself as a prefix", { prefixes: ["shop.example.com/products/1/photo.jpg"] }, "hard"],
    ["a sibling sharing letters", { prefixes: ["shop.example.com/prod"] }, "none"],
    ["its URL", { files: ["shop.example.com/products/1/photo.jpg"] }, "hard"],
    ["another URL", { files: ["shop.example.com/products/2/photo.jpg"] }, "none"],
    ["its tag", { tags: ["product-1"] }, "hard"],
    ["another tag", { tags: ["product-2"] }, "none"],
  ])("purging %s -> %s", (_name, items, expected) => {
    const ledger = new PurgeLedger();
    ledger.add(items, T, false);
    expect(ledger.verdict(target()).kind).toBe(expected);
  });

  it("covers only entries stored strictly before the purge", () => {
    const ledger = new PurgeLedger();
    ledger.add({ tags: ["product-1"] }, T, false);
    expect(ledger.verdict(target({ storedAt: T - 1 })).kind).toBe("hard");
    expect(ledger.verdict(target({ storedAt: T })).kind).toBe("none");
  });

  it("says soft for a soft purge, with its time, and hard wins over an older soft", () => {
    const ledger = new PurgeLedger();
    ledger.add({ hosts: ["shop.example.com"] }, T, true);
    expect(ledger.verdict(target())).toEqual({ kind: "soft", at: T });
    ledger.add({ tags: ["product-1"] }, T - 10, false);
    expect(ledger.verdict(target({ storedAt: T - 20 }))).toEqual({ kind: "hard", at: T - 10 });
    expect(ledger.verdict(target({ storedAt: T - 5 }))).toEqual({ kind: "soft", at: T });
  });

  it("computes the file identity only when URL purges exist", () => {
    const ledger = new PurgeLedger();
    ledger.add({ tags: ["other"] }, T, false);
    let computed = 0;
    ledger.verdict(target({ file: () => (computed++, "x") }));
    expect(computed).toBe(0);
  });

  it("needs no checks for entries stored after the latest purge", () => {
    const ledger = new PurgeLedger();
    ledger.add({ files: ["shop.example.com/products/1/photo.jpg"] }, T, false);
    expect(ledger.verdict(target({ storedAt: T + 1, file: () => { throw new Error("not needed"); } })).kind).toBe("none");
  });
});

describe("PurgeLedger sharing", () => {
  it("merges documents idempotently, keeping the latest marks", () => {
    const a = new PurgeLedger();
    a.add({ tags: ["x"] }, T, false);
    const b = new PurgeLedger();
    b.add({ tags: ["x"] }, T + 5, true);
    b.add({ hosts: ["h.example.com"] }, T + 1, false);
    a.merge(b.toDocument());
    a.merge(b.toDocument());
    expect(a.toDocument()).toEqual({ v: 1, everything: [0, 0], items: { hosts: { "h.example.com": [T + 1, 0] }, prefixes: {}, files: {}, tags: { x: [T, T + 5] } } });
    expect(a.newestAt).toBe(T + 5);
  });

  it("round-trips through JSON and rejects malformed documents", () => {
    const ledger = new PurgeLedger();
    ledger.add({ prefixes: ["a.example.com/b"] }, T, false);
    const document = JSON.parse(JSON.stringify(ledger.toDocument()));
    expect(isLedgerDocument(document)).toBe(true);
    for (const bad of [null, 1, {}, { v: 2, everything: [0, 0], items: {} }, { v: 1, everything: [0], items: {} }, { v: 1, everything: [0, 0], items: { tags: { x: ["a", 1] } } }]) {
      expect(isLedgerDocument(bad)).toBe(false);
    }
  });
});

describe("PurgeLedger.prune", () => {
  it("forgets items older than any entry can be", () => {
    const ledger = new PurgeLedger();
    ledger.add({ tags: ["old"] }, T, false);
    ledger.add({ tags: ["new"] }, T + LEDGER_ITEM_LIFETIME_MS, false);
    ledger.prune(T + LEDGER_ITEM_LIFETIME_MS + 1);
    expect([...ledger.items.tags.keys()]).toEqual(["new"]);
  });

  it("folds the oldest items into everything when over capacity: over-purging, never under-purging", () => {
    const ledger = new PurgeLedger();
    for (let i = 0; i < MAX_LEDGER_ITEMS + 2; i++) ledger.add({ files: [`h/${i}`] }, T + i, false);
    ledger.prune(T + MAX_LEDGER_ITEMS + 2);
    expect(ledger.size).toBe(MAX_LEDGER_ITEMS);
    expect(ledger.everything).toEqual([T + 1, 0]);
    // The folded item's entry is still purged (through "everything").
    expect(ledger.verdict(target({ storedAt: T, file: () => "h/0" })).kind).toBe("hard");
  });
});
