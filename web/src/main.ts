import { createApp } from "vue";

import { whenSignedOut } from "./api";
import App from "./App.vue";
import { loadConfig } from "./config";
import { router } from "./router";
import { restore } from "./session";
import { finishSignIn, returnedFromSignIn } from "./signin";
import "./style.css";

restore();
whenSignedOut(() => {
  const here = router.currentRoute.value.fullPath;
  router.push({ path: "/sign-in", query: { next: here, expired: "1" } });
});
loadConfig()
  .then(async ({ sign_in }) => {
    // Back from Cognito's hosted UI: the code is exchanged before the router's first page, which is then
    // the one the person set off from (or the sign-in page, saying it failed).
    if (sign_in.mode === "cognito" && returnedFromSignIn()) {
      const next = await finishSignIn(sign_in).catch(() => "/sign-in?failed=1");
      await router.replace(next);
    }
    createApp(App).use(router).mount("#app");
  })
  .catch((error: unknown) => {
    document.getElementById("app")!.textContent = `The console cannot start: ${String(error)}`;
  });
