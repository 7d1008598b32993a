// Shared health's figures (`npm run sim -- --shared-health`, and the same figures without it: the
// baseline): while an origin is down everywhere, how long each location kept sending requests to it
// first, and when it stopped. Two sources:
//   - the traffic's answers: Outpost-Upstream names the pool that answered and the attempts it took; at
//     a location whose first pool is the dead origin's, attempts > 1 means the dead origin was tried
//     first ("dead first"), and attempts = 1 from another pool means it was skipped;
//   - each location's GET /__outpost/status, read every HEALTH_WATCH_INTERVAL_MS while the origin is
//     down: the origin's circuit (opened_at, as the isolate's clock wrote it), `shared_demoted` (the
//     pool health object's demotion, as this location learned it) and `available` (false: ordered last).
// Times are real milliseconds after the outage began. A location has one isolate here (one Miniflare
// instance), so its status is its whole view.

/** How often each location's status is read during an outage (the figures' resolution). */
export const HEALTH_WATCH_INTERVAL_MS = 200;
/** The check's margin: a report's and a poll's round trips and a shared machine's scheduling. */
export const HEALTH_BOUND_MARGIN_MS = 500;

/**
 * How late a location may show a demotion after the miss that must teach it (one status read and the
 * margin). Which miss that is: a location looks at most once per poll interval, on a miss (its memo is
 * its own last answer), so its first miss a poll interval (and the margin, for the report to land) after
 * the second circuit opened either looks itself or comes after a look made since the report landed.
 */
export function healthBoundMs() {
  return HEALTH_WATCH_INTERVAL_MS + HEALTH_BOUND_MARGIN_MS;
}

/**
 * Reads every location's status for `origin` until stop(): the first time its circuit was seen open
 * (opened_at), the first time it was seen demoted by shared health, and the first time it was seen
 * unavailable (ordered last for either reason, or a health check). `readStatus(colo)` answers the
 * status's `result`.
 */
export function watchOriginHealth({ colos, origin, readStatus, intervalMs = HEALTH_WATCH_INTERVAL_MS }) {
  const startedAt = Date.now();
  let stopped = false;
  const seen = Object.fromEntries(colos.map((colo) => [colo, { reads: 0, failedReads: 0 }]));
  const loop = async (colo) => {
    const view = seen[colo];
    while (!stopped) {
      const readAt = Date.now();
      try {
        const status = await readStatus(colo);
        view.reads += 1;
        const entry = (status.health?.pools ?? []).flatMap((pool) => pool.origins ?? []).find((candidate) => candidate.origin === origin);
        const now = Date.now();
        if (entry?.circuit?.state === "open") view.circuitOpenAt ??= Date.parse(entry.circuit.opened_at) || now;
        if (entry?.shared_demoted) view.sharedDemotedAt ??= now;
        // A demotion that ended while the origin was still down (it lasts open_seconds after the second newest report).
        if (view.wasDemoted && entry && !entry.shared_demoted) view.demotionLapses = (view.demotionLapses ?? 0) + 1;
        if (entry) view.wasDemoted = entry.shared_demoted === true;
        if (entry && entry.available === false) view.unavailableAt ??= now;
        if (status.shared_health) view.sharedStats = { polls: status.shared_health.polls, reports: status.shared_health.reports, failures: status.shared_health.failures };
      } catch {
        view.failedReads += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - (Date.now() - readAt))));
    }
  };
  const loops = Promise.all(colos.map(loop));
  return {
    startedAt,
    seen,
    async stop() {
      stopped = true;
      await loops;
    },
  };
}

const basePool = (pool) => String(pool ?? "").replace(/-direct$/, "");

function percentile95(values) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))];
}

/**
 * One outage's figures per location. `outage`: { origin, pool, downAt, upAt, watch }; `answers`: the
 * traffic's ({ colo, sentAt, latencyMs, pool?, attempts? }); `expectedPoolOf(colo)`: the pool steering
 * picks first there.
 */
export function describeHealthOutage(outage, answers, colos, { expectedPoolOf, boundMs }) {
  const { downAt } = outage;
  const upAt = outage.upAt ?? Date.now();
  const after = (at) => (at === undefined ? null : Math.max(0, at - downAt));
  const perLocation = {};
  for (const colo of colos) {
    const during = answers.filter((answer) => answer.colo === colo && answer.sentAt >= downAt && answer.sentAt < upAt);
    const forwarded = during.filter((answer) => answer.pool !== undefined);
    const firstPool = expectedPoolOf(colo);
    const deadPoolFirst = basePool(firstPool) === outage.pool;
    const deadFirst = deadPoolFirst ? forwarded.filter((answer) => answer.attempts > 1) : [];
    const skipped = deadPoolFirst ? forwarded.filter((answer) => answer.attempts === 1 && basePool(answer.pool) !== outage.pool) : [];
    const view = outage.watch?.seen[colo] ?? {};
    const firstUnavailable = view.unavailableAt;
    perLocation[colo] = {
      firstPool,
      requests: during.length,
      forwarded: forwarded.length,
      deadFirst: deadFirst.length,
      skipped: skipped.length,
      circuitOpenMs: after(view.circuitOpenAt),
      sharedDemotedMs: after(view.sharedDemotedAt),
      demotionLapses: view.demotionLapses ?? 0,
      /** The first time the location ordered the dead origin last (its circuit, shared health or a health check). */
      stoppedTryingFirstMs: after(firstUnavailable),
      firstSkipMs: skipped.length ? after(skipped[0].sentAt) : null,
      lastDeadFirstMs: deadFirst.length ? after(deadFirst.at(-1).sentAt) : null,
      p95Ms: percentile95(during.map((answer) => answer.latencyMs)),
      forwardedSentMs: forwarded.map((answer) => answer.sentAt - downAt),
      statusReads: view.reads ?? 0,
      failedStatusReads: view.failedReads ?? 0,
      ...(view.sharedStats && { sharedHealthCalls: view.sharedStats }),
    };
  }
  const opened = Object.values(perLocation).map((seen) => seen.circuitOpenMs).filter((ms) => ms !== null).sort((a, b) => a - b);
  const deadPoolFirstColos = colos.filter((colo) => basePool(perLocation[colo].firstPool) === outage.pool);
  return {
    origin: outage.origin,
    pool: outage.pool,
    durationMs: upAt - downAt,
    deadPoolFirst: deadPoolFirstColos,
    circuitsOpened: opened.length,
    /**
     * When the second location's circuit opened: from then on the pool health object demotes the
     * origin, at least until open_seconds after the first opened (the second newest report).
     */
    firstCircuitOpenMs: opened[0] ?? null,
    secondCircuitOpenMs: opened[1] ?? null,
    boundMs,
    totals: {
      deadFirst: deadPoolFirstColos.reduce((sum, colo) => sum + perLocation[colo].deadFirst, 0),
      skipped: deadPoolFirstColos.reduce((sum, colo) => sum + perLocation[colo].skipped, 0),
      forwarded: deadPoolFirstColos.reduce((sum, colo) => sum + perLocation[colo].forwarded, 0),
    },
    perLocation,
  };
}

export const HEALTH_COLUMNS = ["location", "first pool", "forwarded", "dead first", "skipped", "circuit open", "shared demoted", "lapses", "stopped trying", "last dead first", "p95 ms"];

/** The console's and the HTML's rows: one per location, then the total of the dead pool's locations. */
export function healthRows(health) {
  const ms = (value) => (value === null || value === undefined ? "-" : value);
  const rows = Object.entries(health.perLocation).map(([colo, seen]) => [
    colo,
    seen.firstPool,
    seen.forwarded,
    seen.deadFirst,
    seen.skipped,
    ms(seen.circuitOpenMs),
    ms(seen.sharedDemotedMs),
    seen.demotionLapses,
    ms(seen.stoppedTryingFirstMs),
    ms(seen.lastDeadFirstMs),
    seen.p95Ms,
  ]);
  rows.push([`${health.pool}-first`, health.pool, health.totals.forwarded, health.totals.deadFirst, health.totals.skipped, "", "", "", "", "", ""]);
  return rows;
}

/**
 * The `--shared-health` gate, for each outage whose dead pool comes first at two locations or more:
 * at least two circuits opened, and every location with a forwarded request ("the trigger") at least
 * one poll interval and the margin after the second opened showed the demotion within the bound of
 * that request (healthBoundMs), when that is before the demotion may lapse (open_seconds after the
 * first circuit opened: later, the demotion holds only while circuits keep re-opening).
 */
export function checkSharedHealth(result) {
  const problems = [];
  const pollIntervalMs = result.sharedHealth?.pollIntervalMs ?? 1_000;
  const openMs = (result.sharedHealth?.openSeconds ?? 30) * 1000;
  for (const { health } of result.outages ?? []) {
    if (!health || health.deadPoolFirst.length < 2) continue;
    const holdsUntil = health.firstCircuitOpenMs + openMs;
    if (health.secondCircuitOpenMs === null) {
      problems.push(`shared health: ${health.origin} down ${health.durationMs} ms, but fewer than 2 locations' circuits opened (${health.circuitsOpened})`);
      continue;
    }
    for (const [colo, seen] of Object.entries(health.perLocation)) {
      const trigger = seen.forwardedSentMs.find((at) => at >= health.secondCircuitOpenMs + pollIntervalMs + HEALTH_BOUND_MARGIN_MS);
      if (trigger === undefined || trigger + health.boundMs > holdsUntil || trigger + health.boundMs > health.durationMs) continue;
      if (seen.sharedDemotedMs === null || seen.sharedDemotedMs > trigger + health.boundMs) {
        problems.push(`shared health: ${colo} learned ${health.origin}'s demotion ${seen.sharedDemotedMs === null ? "never" : `at ${seen.sharedDemotedMs} ms`}; its miss at ${trigger} ms should have taught it within ${health.boundMs} ms (circuits opened at ${health.firstCircuitOpenMs} and ${health.secondCircuitOpenMs} ms)`);
      }
    }
  }
  return problems;
}
