// The docs cannot drift: the generated schema and reference match src/config/schema.ts, and the
// commands and paths the docs name exist (scripts/check-docs.mjs, run by `npm run docs:check` in CI).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { checkDocument } from "../../scripts/check-docs.mjs";

const run = promisify(execFile);

describe("npm run docs:config --check", () => {
  it("finds schema/*.json and docs/configuration.md up to date with the zod schema", { timeout: 30_000 }, async () => {
    const { stdout } = await run(process.execPath, ["scripts/generate-config-docs.mjs", "--check"]);
    expect(stdout).toContain("ok    schema/*.json and docs/configuration.md match src/config/schema.ts");
  });

  it("puts each key's schema.ts comment, default and enum into the JSON Schema Taplo reads", () => {
    const schema = JSON.parse(readFileSync("schema/wrangler.schema.json", "utf8"));
    const route = schema.definitions.outpost.properties.routes.items.properties;
    expect(schema.$schema).toBe("http://json-schema.org/draft-04/schema#");
    expect(schema.properties.vars.properties.OUTPOST).toEqual({ $ref: "#/definitions/outpost" });
    expect(route.steering_policy).toMatchObject({ default: "off", enum: ["off", "geo", "proximity", "random"], description: expect.stringContaining("How the first pool is chosen") });
    expect(schema.definitions.outpost.properties.routes.items.additionalProperties).toBe(false);
  });
});

describe("checkDocument", () => {
  const context = { scripts: new Set(["check", "docs:config"]), exists: (path: string) => path.endsWith("/README.md") || path.endsWith("/src/app.ts") };

  it("accepts existing scripts, npm's own commands, existing files, URLs and placeholders", () => {
    const text = [
      "Run `npm start`, then `npm test`, `npm run check -- --env production` and `npm run docs:config`.",
      "See [the readme](../README.md) and [Hono](https://hono.dev), [a section](#caching), `src/app.ts`.",
      "Tests mirror `test/unit/<folder>/<file>.test.ts`; a link in code: `[x](nowhere.md)`.",
    ].join("\n");
    expect(checkDocument("docs/x.md", text, context)).toEqual([]);
  });

  it("names a missing script, a broken link and a missing path with their line", () => {
    const text = ["Run `npm run bench:full`.", "", "See [deploying](deploying.md) and `scripts/gone.mjs`."].join("\n");
    expect(checkDocument("docs/x.md", text, context)).toEqual([
      { line: 1, message: "npm run bench:full: no such script in package.json" },
      { line: 3, message: "link deploying.md: docs/deploying.md does not exist" },
      { line: 3, message: "scripts/gone.mjs: no such file or folder" },
    ]);
  });
});
