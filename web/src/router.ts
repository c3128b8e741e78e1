import { createRouter, createWebHashHistory, type RouteComponent, type RouteRecordRaw } from "vue-router";

import { session } from "./session";

// Vite makes one chunk per page it can see by name, so the pages are listed, not built from strings.
const ADMIN_PAGES = import.meta.glob("./pages/admin/*.vue");

function orgPages(pages: [string, string, string][]): RouteRecordRaw[] {
  return pages.map(([path, page, title]) => ({
    path: `/organizations/:org/${path}`,
    component: ADMIN_PAGES[`./pages/admin/${page}.vue`] as RouteComponent,
    props: true,
    meta: { title },
  }));
}

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
    { path: "/sessions", component: () => import("./pages/Sessions.vue"), meta: { title: "My sessions" } },
    { path: "/cards", component: () => import("./pages/Cards.vue"), meta: { title: "My cards" } },
    { path: "/stations", component: () => import("./pages/Stations.vue"), meta: { title: "Stations near a place" } },
    {
      path: "/stations/:id",
      component: () => import("./pages/Station.vue"),
      props: true,
      meta: { title: "Station" },
    },
    // Organization admins' pages: every one under its organization, so a link in an email names it.
    { path: "/organizations", component: () => import("./pages/admin/Organizations.vue"), meta: { title: "Organizations" } },
    { path: "/organizations/:org", redirect: (to) => `/organizations/${String(to.params.org)}/connections` },
    ...orgPages([
      ["connections", "OrgConnections", "Connections"],
      ["connections/:id", "ConnectionEdit", "Connection"],
      ["connections/:id/requests", "Requests", "Requests"],
      ["connections/:id/members", "Members", "Members"],
      ["policies", "Policies", "Access policies"],
      ["policies/:id", "PolicyEdit", "Access policy"],
      ["stations", "OrgStations", "Stations"],
      ["stations/:id", "StationEdit", "Station"],
      ["sessions", "OrgSessions", "Sessions"],
      ["admins", "Admins", "Admins"],
    ]),
    { path: "/:rest(.*)", redirect: "/connections" },
  ],
});

router.beforeEach((to) => {
  if (!to.meta.public && !session.token) return { path: "/sign-in", query: { next: to.fullPath } };
});

router.afterEach((to) => {
  document.title = `${(to.meta.title as string) ?? "Connections"} · Connections`;
});
