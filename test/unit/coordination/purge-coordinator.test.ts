// The purge coordinator object on its own (the real SQLite-backed object from wrangler.toml):
// epochs, idempotent recording, the ledger only when newer, what survives a restart, and the
// throttled writes of locations' polls (SQLite rows written are billed).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LOCATION_WRITE_EVERY_MS, PurgeCoordinator, type PurgeToRecord } from "../../../src/coordination/purge-coordinator.ts";
import { SHIELD_COLO } from "../../../src/coordination/shield-protocol.ts";

const T0 = Date.UTC(2026, 11, 3, 1, 0, 0);
const freshObject = () => env.OUTPOST_PURGE_COORDINATOR!.get(env.OUTPOST_PURGE_COORDINATOR!.idFromName(crypto.randomUUID()));
const purge = (id: string, at = T0, extra: Partial<PurgeToRecord> = {}): PurgeToRecord => ({ id, at, soft: false, items: { tags: ["t"] }, kind: "tags", count: 1, ...extra });

describe("PurgeCoordinator", () => {
  it("numbers purges 1, 2, 3 and records the same id once", async () => {
    await runInDurableObject(freshObject(), (coordinator: PurgeCoordinator) => {
      expect(coordinator.record(purge("a")).epoch).toBe(1);
      expect(coordinator.record(purge("b")).epoch).toBe(2);
      expect(coordinator.record(purge("a", T0 + 5))).toEqual({ id: "a", epoch: 1, at: T0 });
      expect(coordinator.poll({ colo: "FRA", seenEpoch: 0, seenAt: 0, now: T0 }).epoch).toBe(2);
    });
  });

  it("sends the ledger only to a location behind the current epoch", async () => {
    await runInDurableObject(freshObject(), (coordinator: PurgeCoordinator) => {
      expect(coordinator.poll({ colo: "FRA", seenEpoch: 0, seenAt: 0, now: T0 })).toEqual({ epoch: 0 });
      coordinator.record(purge("a", T0 + 1, { items: { hosts: ["shop.example.com"] }, kind: "hosts" }));
      const behind = coordinator.poll({ colo: "FRA", seenEpoch: 0, seenAt: 0, now: T0 + 2 });
      expect(behind.epoch).toBe(1);
      expect(behind.ledger?.items.hosts).toEqual({ "shop.example.com": [T0 + 1, 0] });
      expect(coordinator.poll({ colo: "FRA", seenEpoch: 1, seenAt: T0 + 2, now: T0 + 3 })).toEqual({ epoch: 1 });
    });
  });

  it("leaves origin shields out of receipts: they poll for their own ledger, not for visitors", async () => {
    await runInDurableObject(freshObject(), (coordinator: PurgeCoordinator) => {
      coordinator.poll({ colo: "FRA", seenEpoch: 0, seenAt: 0, now: T0 });
      coordinator.poll({ colo: SHIELD_COLO, seenEpoch: 0, seenAt: 0, now: T0 });
      coordinator.record(purge("a", T0 + 1));
      coordinator.poll({ colo: "FRA", seenEpoch: 1, seenAt: T0 + 2, now: T0 + 2 });
      expect(coordinator.receipt("a", T0 + 3, 60_000)?.locations.map((location) => location.colo)).toEqual(["FRA"]);
    });
  });

  it("keeps the ledger, the epoch and the purges across a restart (SQLite storage)", async () => {
    const stub = freshObject();
    await runInDurableObject(stub, (coordinator: PurgeCoordinator) => void coordinator.record(purge("a", T0, { items: { everything: true }, kind: "everything" })));
    await runInDurableObject(stub, (_: PurgeCoordinator, state) => {
      const restarted = new PurgeCoordinator(state, env);
      const answer = restarted.poll({ colo: "NRT", seenEpoch: 0, seenAt: 0, now: T0 + 1 });
      expect(answer.epoch).toBe(1);
      expect(answer.ledger?.everything).toEqual([T0, 0]);
      expect(restarted.record(purge("b", T0 + 2)).epoch).toBe(2);
      expect(restarted.receipt("a", T0 + 3, 60_000)?.epoch).toBe(1);
    });
  });

  it("writes a location's poll at most once a minute unless its epoch advanced", async () => {
    await runInDurableObject(freshObject(), (coordinator: PurgeCoordinator, state) => {
      const stored = () => state.storage.sql.exec<{ polled_at: number }>("SELECT polled_at FROM locations WHERE colo = 'FRA'").one().polled_at;
      coordinator.poll({ colo: "FRA", seenEpoch: 0, seenAt: 0, now: T0 });
      coordinator.poll({ colo: "FRA", seenEpoch: 0, seenAt: 0, now: T0 + LOCATION_WRITE_EVERY_MS - 1 });
      expect(stored()).toBe(T0);
      coordinator.poll({ colo: "FRA", seenEpoch: 0, seenAt: 0, now: T0 + LOCATION_WRITE_EVERY_MS });
      expect(stored()).toBe(T0 + LOCATION_WRITE_EVERY_MS);
      coordinator.record(purge("a", T0 + LOCATION_WRITE_EVERY_MS + 1));
      coordinator.poll({ colo: "FRA", seenEpoch: 1, seenAt: T0 + LOCATION_WRITE_EVERY_MS + 2, now: T0 + LOCATION_WRITE_EVERY_MS + 3 });
      expect(stored()).toBe(T0 + LOCATION_WRITE_EVERY_MS + 3);
      // The receipt still sees polls that are only in memory.
      coordinator.poll({ colo: "FRA", seenEpoch: 1, seenAt: 0, now: T0 + LOCATION_WRITE_EVERY_MS + 10 });
      expect(coordinator.receipt("a", T0 + LOCATION_WRITE_EVERY_MS + 10, 60_000)?.locations).toEqual([
        { colo: "FRA", epoch: 1, last_poll_at: T0 + LOCATION_WRITE_EVERY_MS + 10, observed_at: T0 + LOCATION_WRITE_EVERY_MS + 2 },
      ]);
    });
  });
});
