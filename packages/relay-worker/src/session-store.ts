import type { SessionSnapshot } from "@pubsubbud/relay-core";
import { readId, storedId } from "./schema.js";

/** A snapshot without its subscriptions: what a socket's attachment holds. */
type Attachment = Omit<SessionSnapshot, "subscriptions">;

/** The attachment of a socket whose `hello` has not completed. */
interface Handshaking {
  acceptedAt: number;
}

/** What this object last stored for a socket, so a change writes only what changed. */
interface Stored {
  session: string;
  /** The attachment as serialized. */
  head: string;
  /** Subscription id → pattern, as in the table. */
  subscriptions: Map<string, string>;
}

/**
 * Where each socket's session survives hibernation. The small part (client id, identity,
 * inbox, address) goes in the socket's attachment (16 KiB at most); the subscriptions go in the
 * object's SQLite table `pubsubbud_subs`, keyed by session, so a connection may hold as many as
 * `limits.maxSubscriptions` (256) whatever their length (ids as JSON, see schema.ts). A change
 * writes only what changed: a subscribe is one INSERT and the attachment is left alone. Until
 * its `hello` completes, a socket's attachment holds only when it was accepted.
 */
export class SessionStore {
  readonly #sql: SqlStorage;
  readonly #stored = new Map<WebSocket, Stored>();

  constructor(sql: SqlStorage) {
    // Its table comes with the log's: createSqliteBroker, made first, migrates them (schema.ts).
    this.#sql = sql;
  }

  /** Notes when `ws` was accepted, so a wake before its `hello` can tell how long it waited. */
  accepted(ws: WebSocket, at: number): void {
    ws.serializeAttachment({ acceptedAt: at } satisfies Handshaking);
  }

  /** When a socket without a session was accepted, or undefined (a session, or not known). */
  acceptedAt(ws: WebSocket): number | undefined {
    const attachment = ws.deserializeAttachment() as Partial<Handshaking> | null;
    return typeof attachment?.acceptedAt === "number" ? attachment.acceptedAt : undefined;
  }

  /** Stores the session of `ws`, writing only the rows and attachment that changed. */
  save(ws: WebSocket, snapshot: SessionSnapshot): void {
    const { subscriptions, ...attachment } = snapshot;
    const head = JSON.stringify(attachment);
    const stored = this.#stored.get(ws) ?? {
      session: snapshot.session,
      head: "",
      subscriptions: new Map(),
    };
    this.#stored.set(ws, stored);
    if (head !== stored.head) {
      ws.serializeAttachment(attachment);
      stored.head = head;
    }
    const now = new Map(subscriptions);
    for (const id of stored.subscriptions.keys())
      if (!now.has(id)) {
        this.#sql.exec(
          `DELETE FROM pubsubbud_subs WHERE session = ? AND id = ?`,
          snapshot.session,
          storedId(id),
        );
        stored.subscriptions.delete(id);
      }
    for (const [id, pattern] of now)
      if (stored.subscriptions.get(id) !== pattern) {
        this.#sql.exec(
          `INSERT OR REPLACE INTO pubsubbud_subs (session, id, pattern) VALUES (?, ?, ?)`,
          snapshot.session,
          storedId(id),
          pattern,
        );
        stored.subscriptions.set(id, pattern);
      }
  }

  /**
   * The stored sessions of the sockets still open, after a wake (a socket whose `hello` had not
   * finished has none). Rows of sessions whose sockets are gone are deleted.
   */
  load(sockets: readonly WebSocket[]): Map<WebSocket, SessionSnapshot> {
    const bySession = new Map<string, Array<[string, string]>>();
    for (const row of this.#sql.exec<{ session: string; id: string; pattern: string }>(
      `SELECT session, id, pattern FROM pubsubbud_subs ORDER BY rowid`,
    )) {
      const list = bySession.get(row.session) ?? [];
      list.push([readId(row.id), row.pattern]);
      bySession.set(row.session, list);
    }
    const found = new Map<WebSocket, SessionSnapshot>();
    for (const ws of sockets) {
      const attachment = ws.deserializeAttachment() as Attachment | null;
      if (!attachment?.session) continue;
      const subscriptions = bySession.get(attachment.session) ?? [];
      bySession.delete(attachment.session);
      found.set(ws, { ...attachment, subscriptions });
      this.#stored.set(ws, {
        session: attachment.session,
        head: JSON.stringify(attachment),
        subscriptions: new Map(subscriptions),
      });
    }
    for (const session of bySession.keys()) this.#drop(session);
    return found;
  }

  /** Forgets the session of a closed socket. */
  forget(ws: WebSocket): void {
    const stored = this.#stored.get(ws);
    if (!stored) return;
    this.#stored.delete(ws);
    this.#drop(stored.session);
  }

  #drop(session: string): void {
    this.#sql.exec(`DELETE FROM pubsubbud_subs WHERE session = ?`, session);
  }
}
