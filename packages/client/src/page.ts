/**
 * Watches the browser page, where there is one (not in Node or workerd): `wake` when the page
 * becomes visible again or the network comes back (time to check the link at once), `hidden`
 * on every visibility change, and once at the start if the page is hidden already. Returns what
 * stops watching.
 */
export function watchPage(wake: () => void, hidden: (hidden: boolean) => void): () => void {
  const page = globalThis as {
    document?: { visibilityState: string } & EventTarget;
  } & Partial<EventTarget>;
  const doc = page.document;
  if (!doc || !page.addEventListener) return () => {};
  const visibility = (): void => {
    const isHidden = doc.visibilityState === "hidden";
    hidden(isHidden);
    if (!isHidden) wake();
  };
  if (doc.visibilityState === "hidden") hidden(true);
  doc.addEventListener("visibilitychange", visibility);
  page.addEventListener("online", wake);
  return () => {
    doc.removeEventListener("visibilitychange", visibility);
    page.removeEventListener?.("online", wake);
  };
}
