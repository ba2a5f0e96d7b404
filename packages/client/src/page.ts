import type { Lifecycle } from "./options.js";

/** Options of {@link pageLifecycle}. */
export interface PageLifecycleOptions {
  /**
   * Once the page has been hidden this many ms, close the connection (state `paused`) and
   * reconnect, resuming, when it is visible again. @default undefined (stay connected)
   */
  hiddenTimeoutMs?: number;
}

/**
 * Page life for a browser client: when the page becomes visible again or the network comes back,
 * the client probes its link at once (or stops waiting to reconnect); with `hiddenTimeoutMs`, a
 * hidden page lets go of its connection. Where there is no page (Node, workerd) it does nothing.
 * @example const client = createClient({ url, lifecycle: pageLifecycle({ hiddenTimeoutMs: 60_000 }) });
 */
export function pageLifecycle(options: PageLifecycleOptions = {}): Lifecycle {
  return (control) => {
    const page = globalThis as {
      document?: { visibilityState: string } & EventTarget;
    } & Partial<EventTarget>;
    const doc = page.document;
    if (!doc || !page.addEventListener) return () => {};
    const after = options.hiddenTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hidden = (isHidden: boolean): void => {
      clearTimeout(timer);
      if (after === undefined) return;
      if (isHidden) timer = setTimeout(control.pause, after);
      else control.resume();
    };
    const visibility = (): void => {
      const isHidden = doc.visibilityState === "hidden";
      hidden(isHidden);
      if (!isHidden) control.wake();
    };
    if (doc.visibilityState === "hidden") hidden(true);
    doc.addEventListener("visibilitychange", visibility);
    page.addEventListener("online", control.wake);
    return () => {
      clearTimeout(timer);
      doc.removeEventListener("visibilitychange", visibility);
      page.removeEventListener?.("online", control.wake);
    };
  };
}
