// The authorization code flow with PKCE (S256) against Cognito's hosted UI, by oidc-client-ts: it finds the
// endpoints in the user pool's discovery document, makes the verifier and the state, and checks the answer.
// Loaded on demand by signin.ts, in `cognito` mode only.
import { InMemoryWebStorage, UserManager, WebStorageStateStore } from "oidc-client-ts";

import type { CognitoSignIn } from "./config";
import { signIn } from "./session";

function manager(settings: CognitoSignIn): UserManager {
  return new UserManager({
    authority: settings.authority,
    client_id: settings.client_id,
    redirect_uri: settings.redirect_uri,
    response_type: "code",
    scope: "openid email",
    loadUserInfo: false,
    // session.ts keeps the ID token, as it keeps the local one; the library keeps only the round trip's
    // state and verifier (in sessionStorage, its default), not the tokens.
    userStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
  });
}

export async function startSignIn(settings: CognitoSignIn, next: string): Promise<void> {
  await manager(settings).signinRedirect({ state: next });
}

export async function finishSignIn(settings: CognitoSignIn, url: string): Promise<string> {
  const user = await manager(settings).signinRedirectCallback(url);
  if (!user.id_token) throw new Error("the sign-in returned no ID token");
  signIn(user.id_token);
  const next = user.state;
  return typeof next === "string" && next.startsWith("/") ? next : "/";
}
