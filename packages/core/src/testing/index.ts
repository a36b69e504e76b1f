/**
 * `@charm-upgrade/core/testing` — sample charm revisions (DEPENDENCIES a test deploys and upgrades to) and a seeded
 * random generator, for tests here and in other packages. Whole upgrades are tested on the one model of Juju, in
 * `@charm-upgrade/sim` and `packages/verify`, through the adapter that ships.
 *
 * @packageDocumentation
 */
export type { Random } from "./random.js";
export { createRandom } from "./random.js";
export type { Revision } from "./revisions.js";
export { INCOMPATIBLE, NEW, OLD } from "./revisions.js";
