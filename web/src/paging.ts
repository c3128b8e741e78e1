import { computed, ref, shallowRef } from "vue";

type Paged = { next_cursor: string | null };

/** A list read page by page with the API's cursors: the page shown, and turning to the next or back.
 * The cursors walked through are kept, as the API only gives the next one. A turn asked for while the
 * last one still loads is ignored (a double press would skip a page, or push one cursor twice), and a load
 * started later wins over one still under way; a turn whose page fails to load is undone (the page shown
 * keeps its own cursors). A turn runs `load`, or `reload` instead when given (a page that polls turns
 * through its refresh). */
export function usePages<P extends Paged>(
  fetch: (cursor: string | null) => Promise<P | undefined>,
  reload?: () => unknown,
) {
  const page = shallowRef<P | null>(null);
  const cursors = ref<(string | null)[]>([null]); // the last one is the page shown
  let latest = 0;
  let turning = false;
  let undo: (string | null)[] | null = null; // the cursors before the turn under way

  /** Loads the page at the current cursor; false when a later load has taken over. */
  async function load(): Promise<boolean> {
    const mine = ++latest;
    const found = await fetch(cursors.value.at(-1) ?? null);
    if (mine !== latest) return false;
    turning = false;
    if (found) page.value = found;
    else if (undo) cursors.value = undo;
    undo = null;
    return true;
  }

  function turn(to: "next" | "previous"): void {
    if (turning) return;
    const before = [...cursors.value];
    if (to === "next" && page.value?.next_cursor) cursors.value.push(page.value.next_cursor);
    else if (to === "previous" && cursors.value.length > 1) cursors.value.pop();
    else return;
    turning = true;
    undo = before;
    (reload ?? load)();
  }

  return {
    page,
    load,
    turn,
    hasPrevious: computed(() => cursors.value.length > 1),
    hasNext: computed(() => Boolean(page.value?.next_cursor)),
    /** Back to the first page (new filters), loaded. */
    restart(): Promise<boolean> {
      cursors.value = [null];
      undo = null;
      return load();
    },
  };
}

export type Pages = ReturnType<typeof usePages<Paged>>;
