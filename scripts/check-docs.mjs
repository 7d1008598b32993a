#!/usr/bin/env node
// `npm run docs:check` (also in CI): the commands and files README.md and docs/*.md name must exist.
// - every `npm run <name>` must be a script in package.json (npm start / npm test / npm ci are npm's own);
// - every relative Markdown link must point at a file or folder of the repository;
// - every path in backticks that starts with a top-level folder of the project (src/, scripts/, docs/,
//   test/, bench/, drills/, conformance/, schema/, .ci/) or names a root file must exist.
// Placeholders (<name>, *, {a,b}) are skipped. Exits 1 listing every miss as file:line.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const TOP_FOLDERS = ["src/", "scripts/", "docs/", "test/", "bench/", "drills/", "conformance/", "schema/", ".ci/"];
const ROOT_FILES = new Set(["wrangler.toml", "package.json", "package-lock.json", "README.md", "CHANGELOG.md", "tsconfig.json", "vitest.config.ts", "worker-configuration.d.ts", ".dev.vars.example"]);
const NPM_BUILTINS = new Set(["start", "test", "stop", "restart"]);

export function documentsToCheck(projectRoot = root) {
  const docs = existsSync(join(projectRoot, "docs")) ? readdirSync(join(projectRoot, "docs")).filter((name) => name.endsWith(".md")).map((name) => join("docs", name)) : [];
  return ["README.md", ...docs].filter((file) => existsSync(join(projectRoot, file)));
}

const isPlaceholder = (text) => /[<>*{}$]|\.\.\./.test(text);

/** Every miss in one Markdown document: { line, message }. */
export function checkDocument(file, text, { scripts, exists }) {
  const problems = [];
  const lines = text.split("\n");
  lines.forEach((line, index) => {
    const at = index + 1;
    for (const match of line.matchAll(/\bnpm run(?:-script)? ([A-Za-z0-9_-](?:[A-Za-z0-9:_-]*[A-Za-z0-9_-])?)/g)) {
      const name = match[1];
      if (!NPM_BUILTINS.has(name) && !scripts.has(name)) problems.push({ line: at, message: `npm run ${name}: no such script in package.json` });
    }
    const prose = line.replace(/`[^`]*`/g, "``"); // a link inside inline code is code, not a link
    for (const match of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue;
      const path = target.split("#")[0];
      if (!path || isPlaceholder(path)) continue;
      const absolute = resolve(dirname(join(root, file)), decodeURIComponent(path));
      if (!exists(absolute)) problems.push({ line: at, message: `link ${target}: ${relative(root, absolute)} does not exist` });
    }
    for (const match of line.matchAll(/`([^`\s]+)`/g)) {
      const token = match[1].replace(/[:,.;]+$/, "").replace(/:\d+(:\d+)?$/, "");
      if (isPlaceholder(token)) continue;
      const isProjectPath = TOP_FOLDERS.some((folder) => token.startsWith(folder)) || ROOT_FILES.has(token);
      if (!isProjectPath) continue;
      if (!exists(join(root, token))) problems.push({ line: at, message: `${token}: no such file or folder` });
    }
  });
  return problems;
}

function main() {
  const scripts = new Set(Object.keys(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts ?? {}));
  let total = 0;
  for (const file of documentsToCheck()) {
    const problems = checkDocument(file, readFileSync(join(root, file), "utf8"), { scripts, exists: existsSync });
    for (const problem of problems) console.error(`${file}:${problem.line}: ${problem.message}`);
    total += problems.length;
  }
  if (total > 0) {
    console.error(`\n${total} command(s) or path(s) named in the docs do not exist.`);
    return 1;
  }
  console.log(`ok    README.md and docs/*.md: every npm run name and file path exists`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main();
