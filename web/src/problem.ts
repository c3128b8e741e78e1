import { onUnmounted, reactive } from "vue";

import { ApiError } from "./api";

/** What went wrong with a page's last call, for a person: the message, each field's error beside its
 * field, and for 429 the seconds left to wait (counted down; actions stay disabled until then). */
export function useProblem() {
  const state = reactive({ message: "", fields: {} as Record<string, string>, waitSeconds: 0, busy: false });
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => clearInterval(timer);
  onUnmounted(stop);

  function countDown(seconds: number): void {
    stop();
    state.waitSeconds = seconds;
    timer = setInterval(() => {
      state.waitSeconds = Math.max(0, state.waitSeconds - 1);
      if (state.waitSeconds === 0) stop();
    }, 1000);
  }

  /** Runs an API call; its error, if any, fills the state instead of escaping. */
  async function run<T>(action: () => Promise<T>): Promise<T | undefined> {
    state.message = "";
    state.fields = {};
    state.busy = true;
    try {
      return await action();
    } catch (error) {
      if (error instanceof ApiError) {
        state.message = error.message;
        state.fields = error.fields;
        if (error.retryAfter) countDown(error.retryAfter);
      } else {
        state.message = "The service could not be reached; check your connection and try again.";
      }
      return undefined;
    } finally {
      state.busy = false;
    }
  }

  return { problem: state, run };
}

/** The API's error for one field or anything inside it: `questions.1` also finds `questions.1.choices.0`,
 * so a nested error shows beside the input that holds it. */
export function fieldError(fields: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(fields).find((k) => k === name || k.startsWith(`${name}.`));
  return key === undefined ? undefined : fields[key];
}
