#!/usr/bin/env node
// `node sim/make-replay.mjs LINES [SECONDS] > file.ndjson`: a synthetic replay file in the simulator's
// NDJSON format (docs/simulator.md), from the world mix over the default locations, for trying
// `npm run sim -- --replay file.ndjson` (and for checking that a long replay works).
import { DEFAULT_LOCATIONS, LOCATIONS } from "./locations.mjs";
import { buildCatalogue, generateWorldRequests } from "./traffic.mjs";

const lines = Number(process.argv[2] ?? 10_000);
const seconds = Number(process.argv[3] ?? 120);
const weightSum = DEFAULT_LOCATIONS.reduce((sum, colo) => sum + LOCATIONS[colo].weight, 0);
const rates = Object.fromEntries(DEFAULT_LOCATIONS.map((colo) => [colo, ((lines / seconds) * LOCATIONS[colo].weight) / weightSum]));
const requests = generateWorldRequests({ colos: DEFAULT_LOCATIONS, rates, durationMs: seconds * 1000 * 1.2, catalogue: buildCatalogue(2000), seed: 11 }).slice(0, lines);
process.stdout.write(requests.map((request) => JSON.stringify({ t: Number((request.at / 1000).toFixed(3)), colo: request.colo, method: request.method, url: request.url, headers: request.headers })).join("\n") + "\n");
