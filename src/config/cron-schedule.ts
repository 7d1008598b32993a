// How often a cron trigger fires, for the deploy-time lint (lint.ts). Only the minute and hour fields
// decide it for the schedules health checks use; a trigger restricted by day, month or weekday is
// treated as if it ran every day (the lint then errs on the side of silence).

const MINUTES_PER_DAY = 24 * 60;

/** The values one cron field allows: "*", "n", "a-b", "* /n" and "a-b/n", comma-separated. Undefined when unreadable. */
function fieldValues(field: string, min: number, max: number): number[] | undefined {
  const values = new Set<number>();
  for (const part of field.split(",")) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part.trim());
    if (!match) return undefined;
    const from = match[1] === "*" ? min : Number(match[2]);
    const to = match[1] === "*" ? max : match[3] !== undefined ? Number(match[3]) : match[4] !== undefined ? max : from;
    const step = match[4] !== undefined ? Number(match[4]) : 1;
    if (from < min || to > max || from > to || step < 1) return undefined;
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return [...values];
}

/**
 * The longest wait, in seconds, between two firings of any of `crons` over a day (wrapping around
 * midnight): the best interval a monitor can have. Undefined when no trigger can be read.
 */
export function longestCronGapSeconds(crons: ReadonlyArray<string>): number | undefined {
  const firings = new Set<number>();
  for (const cron of crons) {
    const fields = cron.trim().split(/\s+/);
    if (fields.length !== 5) continue;
    const minutes = fieldValues(fields[0]!, 0, 59);
    const hours = fieldValues(fields[1]!, 0, 23);
    if (!minutes || !hours) continue;
    for (const hour of hours) for (const minute of minutes) firings.add(hour * 60 + minute);
  }
  if (firings.size === 0) return undefined;
  const sorted = [...firings].sort((a, b) => a - b);
  let longest = sorted[0]! + MINUTES_PER_DAY - sorted[sorted.length - 1]!;
  for (let index = 1; index < sorted.length; index++) longest = Math.max(longest, sorted[index]! - sorted[index - 1]!);
  return longest * 60;
}
