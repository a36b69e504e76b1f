/**
 * `@charm-upgrade/k8s/testing` — a real, in-process Kubernetes API server for tests and the simulator.
 *
 * Kept out of the main entry point so that charms never load test code.
 *
 * @packageDocumentation
 */
export type {
  FakeAccessVerdict,
  FakeApiServer,
  FakeApiServerOptions,
  FakeFault,
  FakeRequestKind,
  FakeResourceAttributes,
  FakeStatefulSetState,
  RecordedRequest,
} from "./fakeApiServer.js";
export { fakeKubeconfig, startFakeApiServer } from "./fakeApiServer.js";
