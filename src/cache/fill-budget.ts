// The bytes every fill of this isolate may hold at once. A fill keeps the whole object in memory while
// it reads it for storing (readRecord): sixteen concurrent misses of an 8 MB object once allocated
// 16 x 8 MB up front, in isolates that have 128 MB. A fill reserves its declared size when the
// origin's answer arrives (its Content-Length, or nothing), then grows as its body does; a fill that
// cannot reserve is not stored: its response streams to the client uncached (Cache-Status
// `detail=fill-budget`), and one that cannot grow stops storing (the client's stream goes on).
import type { ByteReservation } from "./entry.ts";

/** All fills of one isolate together. Leaves room under 128 MB for the hot tier and everything else (see the memory table in the docs). */
export const FILL_BUDGET_BYTES = 32 * 1024 * 1024;

export class FillBudget {
  readonly maxBytes: number;
  private used = 0;
  private fills = 0;
  /** The most ever held at once in this isolate (admin status, bench). */
  private peak = 0;

  constructor(maxBytes = FILL_BUDGET_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** A reservation of `bytes`, or undefined when the budget has not that much left. */
  reserve(bytes: number): FillReservation | undefined {
    if (!(bytes >= 0) || this.used + bytes > this.maxBytes) return undefined;
    this.used += bytes;
    this.fills += 1;
    this.peak = Math.max(this.peak, this.used);
    return new FillReservation(this, bytes);
  }

  /** Called by a reservation changing by `delta` bytes; false when growing would exceed the budget. */
  adjust(delta: number): boolean {
    if (delta > 0 && this.used + delta > this.maxBytes) return false;
    this.used += delta;
    this.peak = Math.max(this.peak, this.used);
    return true;
  }

  /** Called once by a released reservation. */
  ended(bytes: number): void {
    this.used -= bytes;
    this.fills -= 1;
  }

  /** What the fills in flight hold (admin status, bench, tests). */
  get usage(): { fills: number; bytes: number; peak_bytes: number; max_bytes: number } {
    return { fills: this.fills, bytes: this.used, peak_bytes: this.peak, max_bytes: this.maxBytes };
  }
}

export class FillReservation implements ByteReservation {
  private readonly budget: FillBudget;
  private held: number;
  private released = false;

  constructor(budget: FillBudget, bytes: number) {
    this.budget = budget;
    this.held = bytes;
  }

  get bytes(): number {
    return this.held;
  }

  resize(bytes: number): boolean {
    if (this.released || !this.budget.adjust(bytes - this.held)) return false;
    this.held = bytes;
    return true;
  }

  /** Returns the bytes to the budget; later calls do nothing. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.ended(this.held);
  }
}
