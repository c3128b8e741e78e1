import { createRouter, createWebHashHistory } from "vue-router";

import { session } from "./session";

// Hash history: the console's routes live after '#', so they never meet the API's paths on one origin.
// Pages past the first load on demand, which keeps the first page small.
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: "/", redirect: "/connections" },
    { path: "/sign-in", component: () => import("./pages/SignIn.vue"), meta: { public: true, title: "Sign in" } },
    { path: "/connections", component: () => import("./pages/Connections.vue"), meta: { title: "Connections" } },
    {
      path: "/connections/:id",
      component: () => import("./pages/ConnectionRequest.vue"),
      props: true,
      meta: { title: "Request access" },
    },
    { path: "/memberships", component: () => import("./pages/Memberships.vue"), meta: { title: "My memberships" } },
    {
      // The link in the email-domain confirmation email: opens the console and confirms.
      path: "/memberships/:id/verify",
      component: () => import("./pages/Verify.vue"),
      props: (route) => ({ id: route.params.id, code: route.query.code ?? "" }),
      meta: { title: "Confirm your address" },
    },
    { path: "/cards", component: () => import("./pages/Cards.vue"), meta: { title: "My cards" } },
    { path: "/stations", component: () => import("./pages/Stations.vue"), meta: { title: "Stations near a place" } },
    {
      path: "/stations/:id",
      component: () => import("./pages/Station.vue"),
      props: true,
      meta: { title: "Station" },
    },
    { path: "/:rest(.*)", redirect: "/connections" },
  ],
});

router.beforeEach((to) => {
  if (!to.meta.public && !session.token) return { path: "/sign-in", query: { next: to.fullPath } };
});

router.afterEach((to) => {
  document.title = `${(to.meta.title as string) ?? "Connections"} · Connections`;
});
