import { describe, expect, it } from "vitest";
import { longestCronGapSeconds } from "../../../src/config/cron-schedule.ts";

describe("longestCronGapSeconds", () => {
  it.each([
    [["* * * * *"], 60],
    [["*/5 * * * *"], 300],
    [["0 * * * *"], 3600],
    [["0,30 * * * *"], 1800],
    [["0,10 * * * *"], 3000],
    [["*/15 8-20 * * *"], (11 * 60 + 15) * 60], // 20:45 to 08:00 the next day
    [["0 0 * * *"], 86_400],
    [["*/5 * * * *", "2-59/5 * * * *"], 180],
  ])("%j fires at most every %i s", (crons, seconds) => {
    expect(longestCronGapSeconds(crons)).toBe(seconds);
  });

  it("gives up on what it cannot read", () => {
    expect(longestCronGapSeconds(["@hourly"])).toBeUndefined();
    expect(longestCronGapSeconds(["61 * * * *"])).toBeUndefined();
    expect(longestCronGapSeconds([])).toBeUndefined();
  });
});
