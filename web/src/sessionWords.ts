// How a charging session reads on a page, shared by the driver's and the admins' sessions pages.
import type { ChargingSession } from "./api";

export function priceWords(s: ChargingSession): string {
  const group = s.group_name ? `${s.group_name}'s price` : "Everyone's price";
  const p = s.price;
  if (!p) return `${group}: free`;
  const parts = [
    [p.session_fee, "per session"],
    [p.per_kwh, "per kWh"],
    [p.per_hour, "per hour"],
  ].filter(([amount]) => Number(amount) !== 0);
  const money = parts.map(([amount, unit]) => `${amount} ${p.currency ?? ""} ${unit}`.replace("  ", " "));
  return `${group}: ${money.length ? money.join(" + ") : "free"}`;
}

export function costWords(s: ChargingSession): string {
  if (s.status !== "ended" || s.cost === null) return "Charging…";
  return Number(s.cost) === 0 ? "Free" : `${s.cost} ${s.currency ?? ""}`.trim();
}

const FLAGS: Record<string, string> = {
  unknown_card: "card nobody registered",
  no_start: "its start was never reported",
};

export function flagWords(s: ChargingSession): string {
  return s.flags.map((f) => FLAGS[f] ?? f).join(", ");
}
