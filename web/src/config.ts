// The stack this build talks to, read at run time from config.json next to index.html, so one build
// serves the local stack and every deployed one (decision record 0031).

export interface LocalSignIn {
  mode: "local";
}

// Cognito's hosted UI, authorization code flow with PKCE (the deploy step fills these in). `authority` is
// the user pool's issuer, whose OpenID discovery document names the hosted UI's endpoints; `domain` is the
// hosted UI's, for signing out (Cognito's /logout is not in that document).
export interface CognitoSignIn {
  mode: "cognito";
  authority: string;
  domain: string;
  client_id: string;
  redirect_uri: string;
}

export interface Config {
  api_base_url: string; // "" means the origin that served the console
  sign_in: LocalSignIn | CognitoSignIn;
}

let loaded: Config | null = null;

export async function loadConfig(): Promise<Config> {
  const answer = await fetch("config.json", { cache: "no-store" });
  if (!answer.ok) throw new Error(`config.json: HTTP ${answer.status}`);
  loaded = (await answer.json()) as Config;
  return loaded;
}

export function config(): Config {
  if (!loaded) throw new Error("config.json is not loaded yet");
  return loaded;
}
