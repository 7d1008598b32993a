// Properties of the header rules every hop applies (src/lib/headers.ts) and of the Cache-Control
// parser (src/cache/cache-control.ts): no exceptions on any input, hop-by-hop fields never survive,
// everything else survives untouched, and parsing recovers what was written.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deltaSeconds, parseDirectives } from "../../../src/cache/cache-control.ts";
import { appendToList, sfString, withoutHopByHop } from "../../../src/lib/headers.ts";

const RUNS = { seed: 7230, numRuns: 500 };

const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"];

/** A header name in random case: a hop-by-hop one, a common end-to-end one, or any token. */
const headerName = fc
  .tuple(
    fc.oneof(fc.constantFrom(...HOP_BY_HOP), fc.constantFrom("cache-control", "content-type", "x-secret", "x-kept", "set-cookie", "authorization"), fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{1,12}$/)),
    fc.infiniteStream(fc.boolean()),
  )
  .map(([name, upper]) => [...name].map((char) => (upper.next().value ? char.toUpperCase() : char)).join(""));
/** Visible ASCII, spaces and tabs inside: what a field value may hold. */
const fieldValue = fc.string({ unit: fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) }, { weight: 2, arbitrary: fc.constantFrom(" ", "\t", ",") }), maxLength: 30 });
/** A Connection value naming some fields, with odd spacing, case and empty list members. */
const connectionValue = fc
  .tuple(fc.array(fc.oneof(headerName, fc.constantFrom("", " ", "close", "keep-alive")), { maxLength: 5 }), fc.constantFrom(",", ", ", " ,", ",,"))
  .map(([names, separator]) => names.join(separator));
/** Field lists (readable counterexamples), turned into Headers by `toHeaders`. */
const fieldList = fc
  .tuple(fc.array(fc.tuple(headerName, fieldValue), { maxLength: 12 }), fc.option(connectionValue, { nil: undefined }))
  .map(([list, connection]) => (connection === undefined ? list : [...list, ["connection", connection] as [string, string]]));

function toHeaders(list: Array<[string, string]>): Headers {
  const headers = new Headers();
  for (const [name, value] of list) headers.append(name, value);
  return headers;
}

/** Names the Connection field lists, as withoutHopByHop must read them. */
function namedByConnection(headers: Headers): Set<string> {
  return new Set((headers.get("connection") ?? "").split(",").map((token) => token.trim().toLowerCase()).filter(Boolean));
}

describe("withoutHopByHop", () => {
  it("removes every hop-by-hop field and every field Connection names", () => {
    fc.assert(
      fc.property(fieldList, (list) => {
        const headers = toHeaders(list);
        const named = namedByConnection(headers);
        const names = [...withoutHopByHop(headers).keys()];
        for (const name of names) {
          expect(HOP_BY_HOP).not.toContain(name);
          expect(named.has(name)).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it("keeps every other field with its value, and leaves the input as it was", () => {
    fc.assert(
      fc.property(fieldList, (list) => {
        const headers = toHeaders(list);
        const before = [...headers];
        const named = namedByConnection(headers);
        // Repeated fields come out combined (", "), and a combined value is trimmed like any other.
        const kept = before.filter(([name]) => !HOP_BY_HOP.includes(name) && !named.has(name)).map(([name, value]) => [name, value.trim()]);
        expect([...withoutHopByHop(headers)]).toEqual(kept);
        expect([...headers]).toEqual(before);
      }),
      RUNS,
    );
  });

  it("is idempotent", () => {
    fc.assert(
      fc.property(fieldList, (list) => {
        const once = withoutHopByHop(toHeaders(list));
        expect([...withoutHopByHop(once)]).toEqual([...once]);
      }),
      RUNS,
    );
  });
});

describe("appendToList", () => {
  it("adds the value as the last list member and changes no other field", () => {
    fc.assert(
      fc.property(fieldList, headerName, fieldValue.filter((v) => v.trim() !== ""), (list, name, value) => {
        const headers = toHeaders(list);
        const before = headers.get(name);
        const others = [...headers].filter(([field]) => field !== name.toLowerCase());
        appendToList(headers, name, value.trim());
        expect(headers.get(name)).toBe(before ? `${before}, ${value.trim()}` : value.trim());
        expect([...headers].filter(([field]) => field !== name.toLowerCase())).toEqual(others);
      }),
      RUNS,
    );
  });
});

describe("structured-field and Via helpers", () => {
  /** Reads one RFC 8941 sf-string back (§4.2.5). */
  function parseSfString(text: string): string | undefined {
    if (!text.startsWith('"') || !text.endsWith('"') || text.length < 2) return undefined;
    let out = "";
    for (let i = 1; i < text.length - 1; i += 1) {
      const char = text[i]!;
      if (char === '"') return undefined;
      if (char === "\\") {
        const next = text[i + 1];
        if (next !== '"' && next !== "\\") return undefined;
        out += next;
        i += 1;
      } else out += char;
    }
    return out;
  }

  it("quotes any printable string as an sf-string that parses back to it", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }), (value) => {
        expect(parseSfString(sfString(value))).toBe(value);
      }),
      RUNS,
    );
  });
});

describe("parseDirectives", () => {
  const directiveName = fc.oneof(fc.constantFrom("max-age", "s-maxage", "no-cache", "no-store", "private", "public", "stale-while-revalidate", "must-revalidate"), fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/));
  /** An argument as a token, or as a quoted string holding commas, '=', quotes and backslashes. */
  const argument = fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}$/).map((value) => ({ written: value, value })),
    fc.string({ unit: fc.constantFrom("a", "B", "1", ",", "=", " ", '"', "\\", ";"), minLength: 1, maxLength: 10 }).map((value) => ({ written: `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`, value })),
  );
  const directive = fc.tuple(directiveName, fc.option(argument, { nil: undefined }), fc.constantFrom("", " "), fc.boolean());

  it("never throws, and gives lower-case, trimmed, non-empty names", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (field) => {
        const parsed = parseDirectives(field);
        for (const name of parsed.values.keys()) {
          expect(name).toBe(name.trim().toLowerCase());
          expect(name).not.toBe("");
        }
        for (const name of parsed.conflicting) expect(parsed.values.has(name)).toBe(true);
      }),
      RUNS,
    );
  });

  it("recovers the first occurrence of every directive written, in any case and spacing", () => {
    fc.assert(
      fc.property(fc.array(directive, { minLength: 1, maxLength: 6 }), (list) => {
        const field = list.map(([name, arg, space, upper]) => `${space}${upper ? name.toUpperCase() : name}${arg ? `${space}=${space}${arg.written}` : ""}${space}`).join(",");
        const parsed = parseDirectives(field);
        const expected = new Map<string, string | true>();
        for (const [name, arg] of list) if (!expected.has(name)) expected.set(name, arg ? arg.value : true);
        expect(new Map(parsed.values)).toEqual(expected);
      }),
      RUNS,
    );
  });

  it("reads delta-seconds only as a non-negative integer, clamped to 2^31", () => {
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String), fc.string({ maxLength: 12 })), (value) => {
        const seconds = deltaSeconds(parseDirectives(`max-age=${value}`), "max-age");
        if (/^\d+$/.test(value.trim()) && !value.includes(",") && !value.startsWith('"')) expect(seconds).toBe(Math.min(Number(value.trim()), 2 ** 31));
        else if (seconds !== undefined) expect(Number.isInteger(seconds) && seconds >= 0 && seconds <= 2 ** 31).toBe(true);
      }),
      RUNS,
    );
  });
});
