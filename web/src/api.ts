// The one client of the HTTP API (docs/openapi.json): every page calls it, so sign-in, errors, waits and
// retries are handled alike everywhere.
import { config } from "./config";
import type { components } from "./generated/openapi";
import { session, signOut } from "./session";

// Generated from docs/openapi.json before every type check and build (`npm run types`), so a page that
// reads a field the API no longer has fails `make lint`, not a driver.
type Schemas = components["schemas"];
export type Status = Schemas["Status"];
export type Question = Schemas["Question"];
export type Connection = Schemas["ConnectionForDriver"];
export type Membership = Schemas["Membership"];
export type MembershipRequest = Schemas["MembershipRequest"];
export type Card = Schemas["Card"];
export type StationDelivery = Schemas["StationDelivery"];
export type StationOnMap = Schemas["StationOnMap"];
export type StationsNearby = Schemas["StationsNearby"];
export type AccessCheck = Schemas["AccessCheck"];
export type Organization = Schemas["Organization"];
export type Admin = Schemas["Admin"];
export type AlertSettings = Schemas["AlertSettings"];
export type AdminConnection = Schemas["ConnectionForAdmin"];
export type NewConnection = Schemas["NewConnection"];
// Only the fields present are changed: none is required, whatever the generator makes of their defaults.
export type ConnectionChanges = Partial<Schemas["ConnectionChanges"]>;
export type MemberRequest = Schemas["MemberRequest"];
export type Decision = Schemas["Decision"];
export type DecisionResults = Schemas["DecisionResults"];
// The organization admins' access policies and stations.
export type Policy = Schemas["Policy"];
export type NewPolicy = Schemas["NewPolicy"];
export type PolicyChanges = Schemas["PolicyChanges"];
export type GroupRule = Schemas["GroupRule-Input"];
export type OrgStation = Schemas["Station"];
export type OrgStations = Schemas["Stations"];
export type SyncStatus = Schemas["SyncStatus"];
export type NewStation = Schemas["NewStation"];
export type StationChanges = Schemas["StationChanges"];
export type AccessPreview = Schemas["AccessPreview"];
// Charging sessions, a driver's and an organization's.
export type ChargingSession = Schemas["Session"];
export type ChargingSessions = Schemas["Sessions"];
export type SessionTotals = Schemas["Totals"];
/** The admins' filter of their sessions; times as ISO 8601, empty fields left out. */
export type SessionFilter = { from?: string; to?: string; station_id?: string; connection_id?: string };
type Page<T> = { items: T[]; next_cursor: string | null };

/** An answer other than 2xx, as the API words it: `{error, message, fields}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: Record<string, string> = {},
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

/** Called when the API no longer accepts the token (401): the app sends the person to sign in again. */
let onSignedOut: () => void = () => {};
export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

const BUSY_TRIES = 3;

function wait(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

/** The API's successful answer to a request, or its error as an ApiError (401 signs out, busy is retried). */
async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  // One key for every try of this write, so a retry after a lost answer is not a second request.
  if (method === "POST") headers["idempotency-key"] = crypto.randomUUID();
  for (let attempt = 1; ; attempt++) {
    const answer = await fetch(config().api_base_url + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (answer.ok) return answer;
    const text = await answer.text();
    let problem: { error?: string; message?: string; fields?: Record<string, string> } = {};
    try {
      problem = JSON.parse(text);
    } catch {
      // A gateway's own answer (HTML or empty): the status says enough.
    }
    const retryAfter = Number(answer.headers.get("retry-after")) || null;
    if (answer.status === 401) {
      signOut();
      onSignedOut();
      throw new ApiError(401, "unauthorized", "Your sign-in has expired: please sign in again.");
    }
    // Busy (409/503 `busy`): nobody's fault, and the same request a moment later succeeds.
    if (problem.error === "busy" && attempt < BUSY_TRIES) {
      await wait(retryAfter ?? 1);
      continue;
    }
    throw new ApiError(
      answer.status,
      problem.error ?? `http_${answer.status}`,
      problem.message ?? `The service answered ${answer.status}; please try again.`,
      problem.fields ?? {},
      answer.status === 429 ? retryAfter : null,
    );
  }
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await (await send(method, path, body)).json()) as T;
}

/** A file the API makes (a CSV export), fetched with the sign-in's token, which a plain link cannot send. */
export async function download(path: string): Promise<Blob> {
  return (await send("GET", path)).blob();
}

const q = encodeURIComponent;

function query(values: Record<string, string | null | undefined>): string {
  const given = Object.entries(values).filter((entry): entry is [string, string] => !!entry[1]);
  return given.length ? `?${new URLSearchParams(given).toString()}` : "";
}

export const api = {
  connections: (name: string) =>
    call<Page<Connection>>("GET", `/connections${name ? `?name=${q(name)}` : ""}`),
  connection: (id: string) => call<Connection>("GET", `/connections/${q(id)}`),
  connectionByCode: (code: string) => call<Connection>("GET", `/connections/by-code/${q(code.trim())}`),
  request: (id: string, body: MembershipRequest) =>
    call<Membership>("POST", `/connections/${q(id)}/memberships`, body),
  memberships: () => call<Page<Membership>>("GET", "/me/memberships"),
  leave: (id: string) => call<Membership>("DELETE", `/me/memberships/${q(id)}`),
  delivery: (id: string) => call<StationDelivery>("GET", `/me/memberships/${q(id)}/stations`),
  verify: (id: string, code: string) =>
    call<Membership>("POST", `/me/memberships/${q(id)}/verification`, { code }),
  cards: () => call<Card[]>("GET", "/me/cards"),
  addCard: (id_tag: string, label: string) =>
    call<Card>("POST", "/me/cards", { id_tag, label: label || null }),
  removeCard: (id_tag: string) => call<object>("DELETE", `/me/cards/${q(id_tag)}`),
  stationsNear: (lat: number, lng: number, radiusKm: number) =>
    call<StationsNearby>("GET", `/stations?lat=${lat}&lng=${lng}&radius_km=${radiusKm}`),
  station: (id: string) => call<StationOnMap>("GET", `/stations/${q(id)}`),
  access: (id: string) => call<AccessCheck>("GET", `/stations/${q(id)}/access`),

  // Organization admins: organizations, admins, connections, requests and members.
  organizations: () => call<Organization[]>("GET", "/organizations"),
  organization: (org: string) => call<Organization>("GET", `/organizations/${q(org)}`),
  createOrganization: (name: string) => call<Organization>("POST", "/organizations", { name }),
  admins: (org: string) => call<Admin[]>("GET", `/organizations/${q(org)}/admins`),
  addAdmin: (org: string, email: string) => call<Admin>("POST", `/organizations/${q(org)}/admins`, { email }),
  removeAdmin: (org: string, email: string) =>
    call<object>("DELETE", `/organizations/${q(org)}/admins/${q(email)}`),
  myAlerts: (org: string) => call<AlertSettings>("GET", `/organizations/${q(org)}/admins/me/alerts`),
  setMyAlerts: (org: string, settings: AlertSettings) =>
    call<AlertSettings>("PUT", `/organizations/${q(org)}/admins/me/alerts`, settings),
  // 100 a page: a policy names at most 20 connections, so its form offers the first 100 to choose from.
  orgConnections: (org: string, cursor?: string | null) =>
    call<Page<AdminConnection>>(
      "GET",
      `/organizations/${q(org)}/connections?limit=100${cursor ? `&cursor=${q(cursor)}` : ""}`,
    ),
  orgConnection: (org: string, id: string) =>
    call<AdminConnection>("GET", `/organizations/${q(org)}/connections/${q(id)}`),
  createConnection: (org: string, body: NewConnection) =>
    call<AdminConnection>("POST", `/organizations/${q(org)}/connections`, body),
  changeConnection: (org: string, id: string, changes: ConnectionChanges) =>
    call<AdminConnection>("PATCH", `/organizations/${q(org)}/connections/${q(id)}`, changes),
  requests: (org: string, id: string, cursor?: string | null) =>
    call<Page<MemberRequest>>(
      "GET",
      `/organizations/${q(org)}/connections/${q(id)}/requests?status=pending${cursor ? `&cursor=${q(cursor)}` : ""}`,
    ),
  approve: (org: string, id: string, driver: string) =>
    call<MemberRequest>("POST", `/organizations/${q(org)}/connections/${q(id)}/requests/${q(driver)}/approve`),
  deny: (org: string, id: string, driver: string, message: string) =>
    call<MemberRequest>("POST", `/organizations/${q(org)}/connections/${q(id)}/requests/${q(driver)}/deny`, {
      message: message || null,
    }),
  decide: (org: string, id: string, decisions: Decision[]) =>
    call<DecisionResults>("POST", `/organizations/${q(org)}/connections/${q(id)}/requests/decisions`, {
      decisions,
    }),
  members: (org: string, id: string, cursor?: string | null) =>
    call<Page<MemberRequest>>(
      "GET",
      `/organizations/${q(org)}/connections/${q(id)}/members${cursor ? `?cursor=${q(cursor)}` : ""}`,
    ),
  removeMember: (org: string, id: string, driver: string) =>
    call<MemberRequest>("DELETE", `/organizations/${q(org)}/connections/${q(id)}/members/${q(driver)}`),

  // Organization admins: access policies, stations, the preview.
  policies: (org: string) => call<Policy[]>("GET", `/organizations/${q(org)}/policies`),
  policy: (org: string, id: string) => call<Policy>("GET", `/organizations/${q(org)}/policies/${q(id)}`),
  createPolicy: (org: string, body: NewPolicy) => call<Policy>("POST", `/organizations/${q(org)}/policies`, body),
  changePolicy: (org: string, id: string, body: PolicyChanges) =>
    call<Policy>("PATCH", `/organizations/${q(org)}/policies/${q(id)}`, body),
  orgStations: (org: string, cursor: string | null) =>
    call<OrgStations>("GET", `/organizations/${q(org)}/stations${cursor ? `?cursor=${q(cursor)}` : ""}`),
  orgStation: (org: string, id: string) =>
    call<OrgStation>("GET", `/organizations/${q(org)}/stations/${q(id)}`),
  registerStation: (org: string, body: NewStation) =>
    call<OrgStation>("POST", `/organizations/${q(org)}/stations`, body),
  changeStation: (org: string, id: string, body: StationChanges) =>
    call<OrgStation>("PATCH", `/organizations/${q(org)}/stations/${q(id)}`, body),
  // Charging sessions: a driver's own, and the organization's for its admins.
  mySessions: (cursor: string | null) => call<ChargingSessions>("GET", `/me/sessions${query({ cursor })}`),
  orgSessions: (org: string, filter: SessionFilter, cursor: string | null) =>
    call<ChargingSessions>("GET", `/organizations/${q(org)}/sessions${query({ ...filter, cursor })}`),
  orgSessionTotals: (org: string, from: string, to: string) =>
    call<SessionTotals>("GET", `/organizations/${q(org)}/sessions/totals${query({ from, to })}`),
  orgSessionsCsv: (org: string, filter: SessionFilter) =>
    download(`/organizations/${q(org)}/sessions.csv${query(filter)}`),
  preview: (org: string, id: string, email: string) =>
    call<AccessPreview>("GET", `/organizations/${q(org)}/stations/${q(id)}/preview?email=${q(email.trim())}`),
};
