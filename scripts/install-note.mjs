// Runs after `npm install` / `npm ci` (package.json "postinstall"). On a Node older than 22.12, npm
// prints one EBADENGINE warning per tool that needs Node 22 (wrangler, vitest, miniflare, ...): those
// tools never run on this Node, so the install is fine. Say so in one line instead of leaving the
// warnings to read as a failed install.
import { isRecentEnough } from "./node22.mjs";

if (!isRecentEnough(process.versions.node)) {
  process.stderr.write(
    `outpost: installed. The EBADENGINE warnings are expected on Node ${process.version}: wrangler and vitest need Node >= 22.12, ` +
      "which npm start / npm test fetch from the npm registry once and use for those tools only.\n",
  );
}
