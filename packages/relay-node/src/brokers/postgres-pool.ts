/**
 * The PostgreSQL broker's connection pool: its settings, and the first answer a starting broker
 * waits for, so that a server that is down fails start with a clear error.
 */
import pg from "pg";
import { firstConnect } from "./shared.js";

/** A pool of up to 4 connections; each statement may take `queryTimeoutMs`. */
export function createPool(url: string, connectTimeoutMs: number, queryTimeoutMs: number): pg.Pool {
  return new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: connectTimeoutMs,
    query_timeout: queryTimeoutMs,
    keepAlive: true,
  });
}

/** Resolves once the server answered; otherwise ends the pool and fails with a clear error. */
export async function firstAnswer(pool: pg.Pool, url: string, timeoutMs: number): Promise<void> {
  const check = "that PostgreSQL runs there and accepts the URL's user, password and database";
  try {
    await firstConnect(url, timeoutMs, pool.query("select 1"), check);
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
}
