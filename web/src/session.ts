import { reactive } from "vue";

// The signed-in person: their ID token, kept for this tab only (sessionStorage), so closing the tab signs
// out and another tab can be someone else.
const KEY = "connections.id_token";

interface Claims {
  sub: string;
  email?: string;
  exp?: number;
}

export const session = reactive<{ token: string | null; claims: Claims | null }>({
  token: null,
  claims: null,
});

function decode(token: string): Claims | null {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)) as Claims;
  } catch {
    return null;
  }
}

export function signIn(token: string): void {
  const claims = decode(token);
  if (!claims) throw new Error("not an ID token");
  session.token = token;
  session.claims = claims;
  sessionStorage.setItem(KEY, token);
}

export function signOut(): void {
  session.token = null;
  session.claims = null;
  sessionStorage.removeItem(KEY);
}

export function restore(): void {
  const token = sessionStorage.getItem(KEY);
  const claims = token ? decode(token) : null;
  if (token && claims && (!claims.exp || claims.exp * 1000 > Date.now())) {
    session.token = token;
    session.claims = claims;
  } else {
    signOut();
  }
}
