// Every date and time the console shows, worded one way: Intl's medium date and short time, in the
// browser's locale and time zone (a station's page may name the station's zone, which it says it uses);
// and the days of date inputs, in the browser's calendar, so that a period matches the times shown.
const WORDING = { dateStyle: "medium", timeStyle: "short" } as const;
const HERE = new Intl.DateTimeFormat(undefined, WORDING);

/** The moment `at` (ISO 8601) for a person to read; `empty` when there is none. */
export function when(
  at: string | null | undefined,
  { empty = "", timeZone }: { empty?: string; timeZone?: string } = {},
): string {
  if (!at) return empty;
  const format = timeZone ? new Intl.DateTimeFormat(undefined, { ...WORDING, timeZone }) : HERE;
  return format.format(new Date(at));
}

/** The day `after` days from `at` in the browser's calendar, as a date input holds it (yyyy-mm-dd). */
export function dayOf(at: Date, after = 0): string {
  const day = new Date(at.getFullYear(), at.getMonth(), at.getDate() + after);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${two(day.getMonth() + 1)}-${two(day.getDate())}`;
}

/** When the day `day` (yyyy-mm-dd) begins, `after` days later, in the browser's time zone: ISO 8601, UTC. */
export function dayStarts(day: string, after = 0): string {
  const [year, month, date] = day.split("-").map(Number);
  return new Date(year, month - 1, date + after).toISOString();
}
