// Scenarios: who sends how much from where, and what happens when (times in simulated seconds).
// `world` is the default run; `quick` is the CI variant (3 locations, ~30 s); `sparse-outage` is shared
// health's case (many quiet locations whose first pool loses its origin). A scenario may name its
// locations (`--locations` overrides them). A replay uses the
// scenario's events too unless `--no-events`. Events with `requires` run only when the run has what
// they need: "shield" (`--shield`) or "coordination+shield" (`--coordination --shield`); the others
// run in every mode, so a run with the flags keeps the same traffic and events as one without.

/** Requests per real second for the whole world, shared by the locations' weights. */
export const WORLD_RATE = 60;
export const QUICK_RATE = 30;

export function worldScenario() {
  return {
    name: "world",
    durationSimSeconds: 1200,
    scale: 8,
    catalogueSize: 2000,
    totalRate: WORLD_RATE,
    events: [
      { at: 240, kind: "purge", purge: "url", soft: false, probeRank: 0 },
      { at: 480, kind: "purge", purge: "tag", soft: true, probeRank: 1 },
      { at: 600, kind: "origin", origin: "eu-1", state: "down" },
      { at: 660, kind: "origin", origin: "eu-1", state: "up" },
      { at: 780, kind: "purge", purge: "everything", soft: false, probeRank: 2 },
      { at: 960, kind: "kv-fail", location: -1, seconds: 60 },
      // The shield fails: answers 500, then hangs (longer than the shield's 5 s timeout in real time at
      // scale 8), then is unreachable (its stub rejects); with the coordinator, the whole instance is down.
      // Windows are at least 2 s (real) apart: a location skips a failed shard for 2 s.
      { at: 300, kind: "shield-fault", mode: "error", seconds: 60, requires: "shield" },
      { at: 380, kind: "shield-fault", mode: "hang", seconds: 60, requires: "shield" },
      { at: 700, kind: "shield-fault", mode: "throw", seconds: 40, requires: "shield" },
      { at: 1080, kind: "coordinator-down", seconds: 60, requires: "coordination+shield" },
    ],
  };
}

export function quickScenario() {
  return {
    name: "quick",
    durationSimSeconds: 300,
    scale: 10,
    catalogueSize: 300,
    totalRate: QUICK_RATE,
    events: [
      { at: 60, kind: "purge", purge: "url", soft: false, probeRank: 0 },
      { at: 130, kind: "origin", origin: "eu-1", state: "down" },
      { at: 190, kind: "origin", origin: "eu-1", state: "up" },
      { at: 220, kind: "kv-fail", location: -1, seconds: 30 },
      // The shield answers 500, then (after eu-1 is back) hangs. The windows are apart: after a failure a
      // location skips the shard for 2 s (real time), so a window right after another would see no call.
      { at: 80, kind: "shield-fault", mode: "error", seconds: 25, requires: "shield" },
      { at: 195, kind: "shield-fault", mode: "hang", seconds: 20, requires: "shield" },
      { at: 260, kind: "coordinator-down", seconds: 25, requires: "coordination+shield" },
    ],
  };
}

/**
 * Shared health's case: the eu pool's only origin goes down for 120 s (sim) while eight quiet
 * locations steer to it first (seven in Europe, one in Africa; each sends about 1.5 requests a
 * second, most of them hits). A location's own circuit opens only after 5 connection failures in a
 * row (circuit_breaker.consecutive_failures), so each one keeps trying the dead origin first for
 * several of its misses; with shared health the first two circuits demote it everywhere. IAD, steered
 * to the us pool, shows that a location that never tried it learns the demotion too.
 */
export function sparseOutageScenario() {
  return {
    name: "sparse-outage",
    durationSimSeconds: 360,
    scale: 8,
    catalogueSize: 2000,
    totalRate: 14,
    locations: ["FRA", "LHR", "CDG", "AMS", "MAD", "WAW", "JNB", "IAD"],
    events: [
      { at: 120, kind: "origin", origin: "eu-1", state: "down" },
      { at: 240, kind: "origin", origin: "eu-1", state: "up" },
    ],
  };
}

export const SCENARIOS = { world: worldScenario, quick: quickScenario, "sparse-outage": sparseOutageScenario };
