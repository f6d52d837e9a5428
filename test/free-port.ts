/** A port nobody listens on right now: the testkit's (a reader's API must not collide with parallel suites). */
export { freePort } from '../firmware/testkit/reader';
