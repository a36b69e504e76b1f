/**
 * `@charm-upgrade/k8s/testing` — a real, in-process Kubernetes API server for tests and the simulator, with
 * scripted failures (statuses with the bodies and headers the real API server sends, hung requests, dropped
 * connections) and changes made outside the library.
 *
 * Kept out of the main entry point so that charms never load test code.
 *
 * @packageDocumentation
 */
export type {
  FakeAccessVerdict,
  FakeApiServer,
  FakeApiServerOptions,
  FakeFailure,
  FakeFault,
  FakePodInput,
  FakeRequestKind,
  FakeResourceAttributes,
  FakeStatefulSetChange,
  FakeStatefulSetInput,
  FakeStatefulSetState,
  FakeStatusDetails,
  RecordedRequest,
} from "./fakeApiServer.js";
export { fakeKubeconfig, startFakeApiServer, statusObject } from "./fakeApiServer.js";
export { podRevision, rolloutOf } from "./rolloutFixture.js";
