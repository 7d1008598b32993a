// HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, plus the two obsolete formats a recipient must still
// accept (rfc850-date and asctime-date), and nothing else. `Date.parse` is not used: it also takes
// ISO dates, dashes, missing commas, extra spaces and one-digit hours, so a value the RFC calls
// invalid (an Expires that means "already expired", an If-Modified-Since that must be ignored)
// would silently become a time.
//
//   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
//   rfc850-date  Sunday, 06-Nov-94 08:49:37 GMT
//   asctime-date Sun Nov  6 08:49:37 1994
//
// Names are matched case-insensitively, as RFC 9111 §4.2 asks of caches; any zone but GMT is invalid
// (RFC 9111 §4.2). The day name is redundant and not checked against the date.

const DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const LONG_DAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

const IMF_FIXDATE = /^([a-z]{3}), (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const RFC850_DATE = /^([a-z]{6,9}), (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
/** date3 = month SP ( 2DIGIT / ( SP DIGIT ) ) */
const ASCTIME_DATE = /^([a-z]{3}) ([a-z]{3}) (\d{2}| \d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i;

/** RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is the most recent such year in the past. */
const RFC850_FUTURE_LIMIT_YEARS = 50;

/**
 * The time an HTTP-date names, in ms since the epoch, or undefined when the value is not one.
 * `now` is needed only for rfc850-date's two-digit years.
 */
export function parseHttpDate(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  // Leading and trailing white space is not part of a field value (RFC 9110 §5.5).
  const text = value.replace(/^[ \t]+|[ \t]+$/g, "");
  let match = IMF_FIXDATE.exec(text);
  if (match) {
    const [, day, date, month, year, hour, minute, second] = match;
    return DAY_NAMES.includes(day!.toLowerCase()) ? toTime(Number(year), month!, date!, hour!, minute!, second!) : undefined;
  }
  match = RFC850_DATE.exec(text);
  if (match) {
    const [, day, date, month, year, hour, minute, second] = match;
    if (!LONG_DAY_NAMES.includes(day!.toLowerCase())) return undefined;
    return withTwoDigitYear(Number(year), now, (fullYear) => toTime(fullYear, month!, date!, hour!, minute!, second!));
  }
  match = ASCTIME_DATE.exec(text);
  if (match) {
    const [, day, month, date, hour, minute, second, year] = match;
    return DAY_NAMES.includes(day!.toLowerCase()) ? toTime(Number(year), month!, date!.trim(), hour!, minute!, second!) : undefined;
  }
  return undefined;
}

function toTime(year: number, monthName: string, date: string, hour: string, minute: string, second: string): number | undefined {
  const month = MONTHS.indexOf(monthName.toLowerCase());
  const [day, h, m, s] = [Number(date), Number(hour), Number(minute), Number(second)];
  // 23:59:60 is a leap second (RFC 9110 §5.6.7): kept as :59, the nearest earlier time (RFC 9111 §4.2).
  if (month < 0 || day < 1 || day > daysInMonth(year, month) || h > 23 || m > 59 || s > 60) return undefined;
  return utc(year, month, day, h, m, Math.min(s, 59));
}

function daysInMonth(year: number, month: number): number {
  return new Date(utc(year, month + 1, 1, 0, 0, 0) - 1).getUTCDate();
}

/** Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear takes every year literally. */
function utc(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

/**
 * rfc850-date's two-digit year (RFC 9110 §5.6.7): a time that appears to be more than 50 years in
 * the future is the most recent year in the past with the same last two digits. Among the centuries,
 * the latest time not beyond that limit is the one meant.
 */
function withTwoDigitYear(twoDigits: number, now: number, timeIn: (year: number) => number | undefined): number | undefined {
  const current = new Date(now);
  const limit = utc(current.getUTCFullYear() + RFC850_FUTURE_LIMIT_YEARS, current.getUTCMonth(), current.getUTCDate(), current.getUTCHours(), current.getUTCMinutes(), current.getUTCSeconds());
  let year = current.getUTCFullYear() - (current.getUTCFullYear() % 100) + 100 + twoDigits;
  // At most three tries: a century ahead, this century, the one before.
  for (let tries = 0; tries < 3; tries += 1, year -= 100) {
    const time = timeIn(year); // undefined: no such day that year (29 Feb), try the century before
    if (time !== undefined && time <= limit) return time;
  }
  return undefined;
}
