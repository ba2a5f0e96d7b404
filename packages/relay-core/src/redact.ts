/** Query parameters that carry credentials, whatever a client or an integration put in a URL. */
const SECRET_PARAM =
  /([?&](?:token|access_token|jwt|auth|authorization|password|secret|key)=)[^&#\s"'\\]+/gi;
const BEARER = /(Bearer\s+)[^\s"'\\]+/gi;
/** A compact JWS: three base64url parts, the header starting `{"` (`eyJ`). */
const JWT = /eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g;
const USERINFO_PASSWORD = /(\/\/[^/\s:@"']+:)[^@/\s"']+@/g;

/**
 * Masks credentials in a log line: query parameters such as `token=`, `Bearer` values, anything
 * shaped like a JWT, and URL passwords. The relays pass every log line through it, so a token
 * that reaches a log by any path (a URL, an error message) is never written.
 * @example redactSecrets("GET /ns/a?token=eyJ…") // "GET /ns/a?token=***"
 */
export function redactSecrets(line: string): string {
  return line
    .replace(SECRET_PARAM, "$1***")
    .replace(BEARER, "$1***")
    .replace(JWT, "***")
    .replace(USERINFO_PASSWORD, "$1***@");
}
