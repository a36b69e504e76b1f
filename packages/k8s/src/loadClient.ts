/**
 * The one place that loads `@kubernetes/client-node`.
 *
 * Every Juju hook is a fresh Node process, and a machine charm never talks to Kubernetes, so the client (and its
 * dependency tree) must not be loaded just because this package is imported. Everything else in the package
 * refers to the client by type only (`import type`, erased at compile time) and calls {@link loadClient} when it
 * first sends a request. A test spawns a Node process that records every module it resolves and fails if the
 * client shows up before a request is made.
 *
 * @module
 */
import type * as KubernetesClient from "@kubernetes/client-node";

/** The namespace object of `@kubernetes/client-node`, as `loadClient()` resolves it. */
export type KubernetesClientModule = typeof KubernetesClient;

let loading: Promise<KubernetesClientModule> | undefined;

/**
 * Load `@kubernetes/client-node` on first call (a dynamic `import()`), and return the same module afterwards.
 *
 * A failed load is not cached, so a later call tries again.
 */
export function loadClient(): Promise<KubernetesClientModule> {
  loading ??= import("@kubernetes/client-node").catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}
