// A group's rule (hours and price) as an admin's form holds it, and back to what the API takes.
import type { components } from "../generated/openapi";

type Schemas = components["schemas"];
type Day = Schemas["HoursWindow"]["days"][number];
export const DAYS: [Day, string][] = [
  ["mon", "Mon"],
  ["tue", "Tue"],
  ["wed", "Wed"],
  ["thu", "Thu"],
  ["fri", "Fri"],
  ["sat", "Sat"],
  ["sun", "Sun"],
];

export type WindowForm = { days: Day[]; start: string; end: string };
export type GroupForm = {
  always: boolean;
  hours: WindowForm[];
  currency: string;
  per_kwh: string;
  per_hour: string;
  session_fee: string;
};

export function groupForm(rule?: Schemas["GroupRule-Output"] | null): GroupForm {
  const price = rule?.price;
  // "0" is what the API answers for an amount not given: shown empty, as it was typed.
  const amount = (value?: string) => (value && Number(value) !== 0 ? value : "");
  return {
    always: !rule?.hours,
    hours: (rule?.hours ?? []).map((w) => ({ days: [...w.days], start: w.start, end: w.end })),
    currency: price?.currency ?? "",
    per_kwh: amount(price?.per_kwh),
    per_hour: amount(price?.per_hour),
    session_fee: amount(price?.session_fee),
  };
}

/** Amounts go as the strings typed, so "0.30" stays exact (the API takes a number or a string). */
export function groupRule(form: GroupForm): Schemas["GroupRule-Input"] {
  const amounts = { per_kwh: form.per_kwh.trim(), per_hour: form.per_hour.trim(), session_fee: form.session_fee.trim() };
  const priced = form.currency.trim() || Object.values(amounts).some(Boolean);
  return {
    hours: form.always ? null : form.hours.map((w) => ({ days: w.days, start: w.start.trim(), end: w.end.trim() })),
    price: priced
      ? {
          currency: form.currency.trim().toUpperCase() || null,
          per_kwh: amounts.per_kwh || "0",
          per_hour: amounts.per_hour || "0",
          session_fee: amounts.session_fee || "0",
        }
      : null,
  };
}
