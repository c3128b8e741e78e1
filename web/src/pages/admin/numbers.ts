// What an admin typed in a number field, for the API: empty is "not given"; anything else goes as a number,
// or as typed when it is none, so the API's error lands beside that field.
export function typed(value: string): number | string | null {
  const text = value.trim();
  if (!text) return null;
  const number = Number(text);
  return Number.isFinite(number) ? number : text;
}
