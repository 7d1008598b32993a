// Safety counts for `npm run bench`: hard counts that hold in every run, whatever the machine's
// speed (collapsing and bounded waiters, src/pipeline/fill-from-origin.ts). Not timings to compare:
// a count that is off is a defect.
// - 21 concurrent GETs of one new key, one with Range and one with Cache-Control: no-store (each of
//   them leading once): 1 origin request, and every client its own answer (the range cut from the
//   whole object).
// - A fill whose origin stalls mid-body: every one of 20 collapsed waiters answered (504, nothing
//   stale is stored) within the route's deadline, and the origin asked once.
import { Agent, createServer, request as httpRequest } from "node:http";
import { outpostEnv, startWorker } from "../../scripts/worker-bundle.mjs";

export const SAFETY_REQUESTS = 21;
/** The route's deadline_ms in the stalled-fill count: short, so the count costs two seconds. */
const DEADLINE_MS = 1_500;
/**
 * What the client may see beyond the deadline: the bound is the fill's own deadline timer in workerd,
 * and its answer still crosses a loopback connection and two event loops on a shared 2-core machine
 * (a CI run measured 109 ms past it). A waiter left to the stalled origin would wait the client's 4x.
 */
const TRANSPORT_SLACK_MS = 500;
/** The held origin answers after this; the leader goes first and the others arrive while it waits. */
const HOLD_MS = 300;
const LEAD_MS = 100;
const BODY = Buffer.from("0123456789abcdefghij".repeat(512)); // 10 KiB, every byte's place visible

/** /held/*: a storable 10 KiB answer after HOLD_MS; /stall/*: headers and 7 bytes of a declared 1,000, then nothing. */
async function startSafetyOrigin() {
  const hits = new Map();
  const stalled = new Set();
  const server = createServer((req, res) => {
    hits.set(req.url, (hits.get(req.url) ?? 0) + 1);
    if (req.url.startsWith("/stall/")) {
      res.writeHead(200, { "cache-control": "public, max-age=60", "content-length": "1000", "content-type": "text/plain" });
      res.write("partial");
      stalled.add(res);
      return;
    }
    setTimeout(() => {
      res.writeHead(200, { "cache-control": "public, max-age=3600", "content-length": String(BODY.length), "content-type": "text/plain" });
      res.end(BODY);
    }, HOLD_MS);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    hitsFor: (path) => hits.get(path) ?? 0,
    close: async () => {
      for (const res of stalled) res.destroy();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** One GET with `headers`; resolves at the end of the body, or at the headers when `headersOnly` (the body is then dropped). */
function send(url, headers, agent, { headersOnly = false, timeoutMs = DEADLINE_MS * 4 } = {}) {
  return new Promise((resolve) => {
    const startedAt = performance.now();
    const req = httpRequest(url, { headers, agent }, (res) => {
      const answer = (body) => resolve({ status: res.statusCode, cacheStatus: res.headers["cache-status"], contentRange: res.headers["content-range"], body, ms: performance.now() - startedAt, endedAt: performance.now() });
      if (headersOnly) {
        answer(undefined);
        return void res.destroy();
      }
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => answer(Buffer.concat(chunks)));
      res.on("error", () => answer(undefined));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error("no answer")));
    req.on("error", (error) => resolve({ status: 0, error: String(error), ms: performance.now() - startedAt, endedAt: performance.now() }));
    req.end();
  });
}

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A burst of SAFETY_REQUESTS for one new key, `leader` first; what the origin saw and what every client got. */
async function collapseBurst(workerUrl, origin, name, leader, agent) {
  const path = `/held/${name}-${Date.now()}`;
  const others = [{ range: "bytes=100-199" }, { "cache-control": "no-store" }].filter((h) => JSON.stringify(h) !== JSON.stringify(leader));
  while (others.length < SAFETY_REQUESTS - 1) others.push({});
  const first = send(`${workerUrl}${path}`, leader, agent);
  await wait(LEAD_MS);
  const answers = await Promise.all([first, ...others.map((headers) => send(`${workerUrl}${path}`, headers, agent))]);
  const problems = answers.flatMap((answer, i) => {
    const headers = i === 0 ? leader : others[i - 1];
    const expected = headers.range ? BODY.subarray(100, 200) : BODY;
    const status = headers.range ? 206 : 200;
    return answer.status === status && answer.body?.equals(expected) ? [] : [`${JSON.stringify(headers)} got ${answer.status} (${answer.body?.length ?? 0} bytes)`];
  });
  return { name, originRequests: origin.hitsFor(path), problem: problems[0] };
}

/**
 * A stalled fill: the leader gets headers, 20 waiters arrive LEAD_MS later; when the last waiter has
 * its answer, counted from the leader's start (the fill's deadline runs from there).
 */
async function stalledFill(workerUrl, origin, agent) {
  const path = `/stall/${Date.now()}`;
  const leaderStartedAt = performance.now();
  const leader = send(`${workerUrl}${path}`, {}, agent, { headersOnly: true });
  await wait(LEAD_MS);
  const waiters = await Promise.all(Array.from({ length: SAFETY_REQUESTS - 1 }, () => send(`${workerUrl}${path}`, {}, agent)));
  await leader;
  const answered = waiters.filter((w) => w.status === 504);
  const maxMs = Math.max(...waiters.map((w) => w.endedAt - leaderStartedAt));
  const problem = answered.length === waiters.length ? undefined : `answers: ${waiters.map((w) => w.status).join(", ")}`;
  return { waiters: waiters.length, answered: answered.length, maxMs, deadlineMs: DEADLINE_MS, originRequests: origin.hitsFor(path), problem };
}

/** Runs both counts against a fresh Outpost worker (its own origin, a short deadline). */
export async function runSafety(outpostScript) {
  const origin = await startSafetyOrigin();
  const config = {
    pools: [{ name: "origin", origins: [{ name: "origin", address: origin.url }] }],
    routes: [{ name: "safety", default_pools: ["origin"], deadline_ms: DEADLINE_MS, origin_timeout_ms: DEADLINE_MS }],
  };
  const worker = await startWorker("outpost-safety", outpostScript, outpostEnv(config), { handleStructuredLogs: () => {} });
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  try {
    await send(`${worker.url}/warm`, {}, agent);
    const bursts = [await collapseBurst(worker.url, origin, "range-leads", { range: "bytes=100-199" }, agent), await collapseBurst(worker.url, origin, "no-store-leads", { "cache-control": "no-store" }, agent)];
    const stall = await stalledFill(worker.url, origin, agent);
    return { bursts, stall };
  } finally {
    agent.destroy();
    await worker.mf.dispose();
    await origin.close();
  }
}

/** The bench's table rows for runSafety's result (`ctx.safety`), both strict. */
export function safetyMeasurements() {
  return [
    {
      name: `collapsing: origin requests for ${SAFETY_REQUESTS} concurrent GETs, one with Range and one with no-store`,
      target: "1 for each leader",
      met: (x) => x === 1,
      strict: true,
      value: ({ safety }) => {
        const worst = safety.bursts.map((b) => (b.problem ? Number.NaN : b.originRequests)).find((n) => n !== 1) ?? 1;
        return { value: safety.bursts.map((b) => `${b.name}: ${b.originRequests}${b.problem ? ` (${b.problem})` : ""}`).join("; "), baseline: "-", figure: String(worst), number: worst };
      },
    },
    {
      name: `stalled fill: collapsed waiters answered by the route deadline (${DEADLINE_MS} ms from the leader, +${TRANSPORT_SLACK_MS} ms transport)`,
      target: `all ${SAFETY_REQUESTS - 1}, 1 origin request`,
      met: (x) => x === SAFETY_REQUESTS - 1,
      strict: true,
      value: ({ safety: { stall } }) => {
        const inTime = stall.maxMs <= stall.deadlineMs + TRANSPORT_SLACK_MS && stall.originRequests === 1 && !stall.problem ? stall.answered : Math.min(stall.answered, SAFETY_REQUESTS - 2);
        return {
          value: `${stall.answered}/${stall.waiters} answered, the last ${Math.round(stall.maxMs)} ms after the leader's start (bound ${stall.deadlineMs} + ${TRANSPORT_SLACK_MS} ms transport), ${stall.originRequests} origin request(s)${stall.problem ? ` (${stall.problem})` : ""}`,
          baseline: "-",
          figure: String(inTime),
          number: inTime,
        };
      },
    },
  ];
}
