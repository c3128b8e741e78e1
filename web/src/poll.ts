import { onUnmounted } from "vue";

// How often a page that watches something changing (a queue, a station's sync, a pending request) looks
// again while it is shown.
export const POLL_MS = 3000;

/** Looks again after POLL_MS, or after the wait a 429 asked for if longer, until the page is left. */
export function usePoll(look: () => unknown) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let shown = true;
  onUnmounted(() => {
    shown = false;
    clearTimeout(timer);
  });
  return {
    stop: () => clearTimeout(timer),
    later(waitSeconds = 0): void {
      clearTimeout(timer);
      if (shown) timer = setTimeout(look, Math.max(POLL_MS, waitSeconds * 1000));
    },
  };
}
