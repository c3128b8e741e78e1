// A station's sync state in an admin's words, for the stations list and a station's page alike.
import type { SyncStatus } from "../../api";
import { when } from "../../dates";

export type SyncWords = { state: "in-sync" | "sending" | "failing" | "stale" | "online-only"; label: string; detail: string };

export function syncWords(sync: SyncStatus): SyncWords {
  if (sync.online_only)
    return { state: "online-only", label: "Online only", detail: "No local list: every card is checked online." };
  if (sync.failing)
    return {
      state: "failing",
      label: "Failing",
      detail:
        `Refusing its list since ${when(sync.failing_since)}; it last answered: ${sync.last_refusal ?? "nothing"}.` +
        " Its whole list is sent again at least every 15 minutes until it accepts.",
    };
  if (sync.in_sync)
    return {
      state: "in-sync",
      label: "In sync",
      detail: `Holds its list (version ${sync.list_version}${sync.acknowledged_at ? `, acknowledged ${when(sync.acknowledged_at)}` : ""}).`,
    };
  const behind = `holds change ${sync.held_sequence} of ${sync.wanted_sequence}`;
  if (sync.awaiting)
    return {
      state: sync.stale_since ? "stale" : "sending",
      label: sync.stale_since ? `Stale since ${when(sync.stale_since)}` : "Sending",
      detail: `Awaiting its answer to ${sync.awaiting}; it ${behind}.`,
    };
  return {
    state: "stale",
    label: sync.stale_since ? `Stale since ${when(sync.stale_since)}` : "Out of sync",
    detail: `Not sent yet (is it offline?); it ${behind}.`,
  };
}
