/**
 * Where the host API listens by default: its own module so a client (`reader-sim host`)
 * learns the defaults without loading the server.
 */

/** Default port of the host API (`reader-sim start --api-port`). */
export const DEFAULT_API_PORT = 8080;
/** The API listens on loopback unless told otherwise: the LAN must opt in. */
export const DEFAULT_API_HOST = '127.0.0.1';
