// A station's form as an admin types it (the register form and a station's page share it), and the body
// the API takes from it.
import type { OrgStation } from "../../api";

export type StationForm = {
  name: string;
  latitude: string;
  longitude: string;
  time_zone: string;
  policy_id: string;
  ocpp_version: OrgStation["ocpp_version"];
  local_list_supported: boolean;
  local_auth_list_max_length: string;
  send_local_list_max_length: string;
  bytes_per_message: string;
};

export function stationForm(station?: OrgStation): StationForm {
  const text = (value: number | null | undefined) => (value == null ? "" : String(value));
  const capabilities = station?.capabilities;
  return {
    name: station?.name ?? "",
    latitude: text(station?.latitude),
    longitude: text(station?.longitude),
    time_zone: station?.time_zone ?? "UTC",
    policy_id: station?.policy_id ?? "",
    ocpp_version: station?.ocpp_version ?? "1.6",
    local_list_supported: capabilities?.local_list_supported ?? true,
    local_auth_list_max_length: text(capabilities?.local_auth_list_max_length),
    send_local_list_max_length: text(capabilities?.send_local_list_max_length ?? 25),
    bytes_per_message: text(capabilities?.bytes_per_message),
  };
}

// What an admin typed in a number field: empty is "not given"; anything else goes as a number, or as typed
// when it is none, so the API's error lands beside that field.
function typed(value: string): number | string | null {
  const text = value.trim();
  if (!text) return null;
  const number = Number(text);
  return Number.isFinite(number) ? number : text;
}

/** The fields both a new station and a change take (a change also says when no policy is wanted). */
export function stationBody(form: StationForm) {
  return {
    name: form.name,
    latitude: typed(form.latitude),
    longitude: typed(form.longitude),
    time_zone: form.time_zone.trim(),
    policy_id: form.policy_id || null,
    ocpp_version: form.ocpp_version,
    local_list_supported: form.local_list_supported,
    local_auth_list_max_length: typed(form.local_auth_list_max_length),
    send_local_list_max_length: typed(form.send_local_list_max_length),
    bytes_per_message: typed(form.bytes_per_message),
  };
}
