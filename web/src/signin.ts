// Signing in and out in `cognito` mode (decision records 0031, 0035): Cognito's hosted UI, authorization
// code flow with PKCE. The OpenID Connect library is loaded only then (cognito.ts), so the local stack's
// first page does not carry it.
import type { CognitoSignIn } from "./config";

// The hosted UI sends people back to the console's root with `?code=&state=` (or `?error=`): in the query
// string, which the hash router neither reads nor changes.
export function returnedFromSignIn(): boolean {
  const query = new URLSearchParams(window.location.search);
  return query.has("state") && (query.has("code") || query.has("error"));
}

/** Off to the hosted UI; back at `next` (a console route) once signed in. */
export async function startSignIn(settings: CognitoSignIn, next: string): Promise<void> {
  const { startSignIn } = await import("./cognito");
  await startSignIn(settings, next);
}

/** The code exchanged for the ID token (session.ts keeps it); the route the person set off from. The code
 * and state then leave the address bar (and the history), used or not. */
export async function finishSignIn(settings: CognitoSignIn): Promise<string> {
  const { finishSignIn } = await import("./cognito");
  try {
    return await finishSignIn(settings, window.location.href);
  } finally {
    window.history.replaceState(window.history.state, "", window.location.pathname + window.location.hash);
  }
}

/** Cognito's /logout (not in its discovery document) ends the hosted UI's session too, then comes back. */
export function signOutUrl(settings: CognitoSignIn): string {
  const query = new URLSearchParams({ client_id: settings.client_id, logout_uri: settings.redirect_uri });
  return `${settings.domain.replace(/\/$/, "")}/logout?${query}`;
}
