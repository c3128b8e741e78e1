import { createApp } from "vue";

import { whenSignedOut } from "./api";
import App from "./App.vue";
import { loadConfig } from "./config";
import { router } from "./router";
import { restore } from "./session";
import "./style.css";

restore();
whenSignedOut(() => {
  const here = router.currentRoute.value.fullPath;
  router.push({ path: "/sign-in", query: { next: here, expired: "1" } });
});
loadConfig()
  .then(() => createApp(App).use(router).mount("#app"))
  .catch((error: unknown) => {
    document.getElementById("app")!.textContent = `The console cannot start: ${String(error)}`;
  });
