// Every date and time the console shows, worded one way: Intl's medium date and short time, in the
// browser's locale and time zone (a station's page may name the station's zone, which it says it uses).
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
