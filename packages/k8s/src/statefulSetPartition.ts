/**
 * The StatefulSet rolling-update partition: the one Kubernetes knob a rolling upgrade turns.
 *
 * On Kubernetes, `juju refresh` changes the StatefulSet's pod template; the StatefulSet controller then restarts
 * every pod whose ordinal is at least `spec.updateStrategy.rollingUpdate.partition`. The core lowers the partition
 * one unit at a time (its `setPartition` effect); this module carries that out against the API server, reads it
 * back, and checks beforehand whether the charm is allowed to.
 *
 * The Kubernetes client is loaded lazily (see `loadClient.ts`): creating a setter costs nothing, and a machine
 * charm that imports this package never loads the client.
 *
 * @module
 */
import type { ConfigurationOptions, KubeConfig, ObservableMiddleware } from "@kubernetes/client-node";
import { KubernetesClientError } from "@charm-upgrade/core";
import { type KubernetesClientModule, loadClient } from "./loadClient.js";
import {
  ClientConfigurationError,
  type FailedRequest,
  httpStatusOf,
  isRetryable,
  redactSecrets,
  RequestTimeoutError,
  toKubernetesClientError,
} from "./toKubernetesClientError.js";
import { realSleep, type Sleep, withRetries } from "./withRetries.js";

/** A log line's level, as in the core's `log` effect. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/** Options of {@link createPartitionSetter}. */
export interface PartitionSetterOptions {
  /** The namespace of the StatefulSet: the Juju model's name. */
  readonly namespace: string;
  /** The StatefulSet's name: the Juju application's name. */
  readonly statefulSet: string;
  /**
   * The Kubernetes configuration to use. By default `KubeConfig.loadFromDefault()` of the client: the file(s) in
   * `KUBECONFIG`, else `~/.kube/config`, else the pod's service account (in-cluster), which is what a charm has.
   */
  readonly kubeConfig?: KubeConfig;
  /** How long one request may take before it is abandoned (default 10 000 ms). */
  readonly requestTimeoutMs?: number;
  /** Attempts per operation when the API server answers 5xx (default 3, the first included). */
  readonly attempts?: number;
  /** Wait before the second attempt, doubled before each later one (default 500 ms). */
  readonly retryDelayMs?: number;
  /** How to wait between attempts (tests and the simulator pass one that does not really wait). */
  readonly sleep?: Sleep;
  /** Where retries are reported; never given a credential. */
  readonly log?: (level: LogLevel, message: string) => void;
}

/** The answer of {@link PartitionSetter.canPatch}. */
export interface PatchPermission {
  /** Whether the charm's credentials may patch the StatefulSet. */
  readonly allowed: boolean;
  /** Why not (from the API server's authorizer when it says, else a hint); present only when not allowed. */
  readonly reason?: string;
}

/** Moves and reads one StatefulSet's rolling-update partition. Every method throws only `KubernetesClientError`. */
export interface PartitionSetter {
  /** The namespace (Juju model) this setter works in. */
  readonly namespace: string;
  /** The StatefulSet (Juju application) this setter works on. */
  readonly statefulSet: string;
  /**
   * Set `spec.updateStrategy.rollingUpdate.partition` with a JSON merge patch; pods with an ordinal at least
   * `partition` are then restarted on the new revision.
   */
  setPartition(partition: number): Promise<void>;
  /** The current partition, or `null` when the StatefulSet has none set. */
  getPartition(): Promise<number | null>;
  /**
   * Ask the API server (SelfSubjectAccessReview) whether the charm may patch the StatefulSet, so that the
   * pre-upgrade check can tell the operator to `juju trust` the application before anything moves.
   */
  canPatch(): Promise<PatchPermission>;
}

interface Connection {
  readonly client: KubernetesClientModule;
  readonly apps: InstanceType<KubernetesClientModule["AppsV1Api"]>;
  readonly authorization: InstanceType<KubernetesClientModule["AuthorizationV1Api"]>;
  readonly server: string;
}

/** The address `KubeConfig.loadFromDefault()` falls back to when it finds no configuration at all. */
const FALLBACK_SERVER = "http://localhost:8080";

/**
 * Create a {@link PartitionSetter} for the StatefulSet `statefulSet` in `namespace`.
 *
 * Nothing is loaded or sent until a method is called: the first call imports `@kubernetes/client-node`, loads the
 * configuration and keeps both for later calls. 5xx answers are retried `attempts` times with exponential
 * back-off; every failure becomes a {@link KubernetesClientError} whose text never contains a credential.
 *
 * @example
 * ```ts
 * const partitions = createPartitionSetter({ namespace: model, statefulSet: app });
 * if (!(await partitions.canPatch()).allowed) throw new ClusterNotReadyError("…", "the charm is not trusted", `juju trust ${app} --scope=cluster`);
 * await partitions.setPartition(2); // lets unit 2 (and above) restart on the new revision
 * ```
 */
export function createPartitionSetter(options: PartitionSetterOptions): PartitionSetter {
  const { namespace, statefulSet } = options;
  if (!isName(namespace) || !isName(statefulSet)) {
    throw new KubernetesClientError(
      `Invalid StatefulSet ${JSON.stringify(statefulSet)} in namespace ${JSON.stringify(namespace)}`,
      "both must be non-empty Kubernetes names (lower-case letters, digits, '-' and '.')",
      "pass the Juju application name as statefulSet and the model name as namespace",
    );
  }
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const attempts = options.attempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 500;
  const sleep = options.sleep ?? realSleep;
  const log = options.log;
  /** Credentials seen in the configuration or on outgoing requests; scrubbed from every text we produce. */
  const secrets = new Set<string>();
  let connecting: Promise<Connection> | undefined;

  const connect = (): Promise<Connection> => {
    connecting ??= (async () => {
      const client = await loadClient();
      const kubeConfig = options.kubeConfig ?? loadDefaultConfig(client);
      const user = kubeConfig.getCurrentUser();
      for (const secret of [user?.token, user?.password, user?.keyData]) if (secret) secrets.add(secret);
      const cluster = kubeConfig.getCurrentCluster();
      if (!cluster) {
        throw new ClientConfigurationError(
          `the kubeconfig has no cluster for its current context ${JSON.stringify(kubeConfig.getCurrentContext())}`,
        );
      }
      try {
        return {
          client,
          apps: kubeConfig.makeApiClient(client.AppsV1Api),
          authorization: kubeConfig.makeApiClient(client.AuthorizationV1Api),
          server: cluster.server,
        };
      } catch (error) {
        throw new ClientConfigurationError(error instanceof Error ? error.message : String(error));
      }
    })().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    return connecting;
  };

  /** Per-request options: abort after the timeout, remember the credential sent, and (for patches) the content type. */
  const requestOptions = (client: KubernetesClientModule, signal: AbortSignal, patch: boolean): ConfigurationOptions => {
    const middleware: ObservableMiddleware = {
      pre: (context) => {
        context.setSignal(signal);
        for (const [name, value] of Object.entries(context.getHeaders())) {
          if (name.toLowerCase() !== "authorization") continue;
          secrets.add(value);
          const credential = value.replace(/^\S+\s+/, "");
          if (credential) secrets.add(credential);
        }
        return new client.Observable(Promise.resolve(context));
      },
      post: (response) => new client.Observable(Promise.resolve(response)),
    };
    const base: ConfigurationOptions = { middleware: [middleware], middlewareMergeStrategy: "append" };
    // The generated client picks the first patch type the API lists, application/json-patch+json; a merge patch
    // must be asked for by overriding the header (middleware runs after the request factory sets it).
    return patch ? client.setHeaderOptions("Content-Type", client.PatchStrategy.MergePatch, base) : base;
  };

  const send = async <T>(
    operation: FailedRequest["operation"],
    partition: number | undefined,
    call: (connection: Connection, requestOptions: ConfigurationOptions) => Promise<T>,
  ): Promise<T> => {
    let server = "(not yet configured)";
    let attemptsMade = 0;
    try {
      const connection = await connect();
      server = connection.server;
      return await withRetries(
        async (attempt) => {
          attemptsMade = attempt;
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(), timeoutMs);
          try {
            return await call(connection, requestOptions(connection.client, controller.signal, operation === "patch"));
          } catch (error) {
            if (controller.signal.aborted) throw new RequestTimeoutError(`no answer within ${timeoutMs} ms`);
            throw error;
          } finally {
            clearTimeout(timer);
          }
        },
        {
          attempts,
          baseDelayMs: retryDelayMs,
          sleep,
          retryable: isRetryable,
          onRetry: (error, attempt, delayMs) => {
            log?.(
              "warning",
              redactSecrets(
                `Kubernetes API answered ${httpStatusOf(error) ?? "an error"} to ${operation} StatefulSet "${statefulSet}" in namespace "${namespace}"; retrying in ${delayMs} ms (attempt ${attempt + 1} of ${attempts})`,
                secrets,
              ),
            );
          },
        },
      );
    } catch (error) {
      throw toKubernetesClientError(
        error,
        {
          operation,
          namespace,
          statefulSet,
          ...(partition === undefined ? {} : { partition }),
          server,
          timeoutMs,
          attempts: Math.max(attemptsMade, 1),
        },
        secrets,
      );
    }
  };

  return {
    namespace,
    statefulSet,
    async setPartition(partition) {
      if (!Number.isSafeInteger(partition) || partition < 0) {
        throw new KubernetesClientError(
          `Invalid partition ${String(partition)} for StatefulSet "${statefulSet}" in namespace "${namespace}"`,
          "a partition is a whole number from 0 to the number of units",
          "report a bug in the charm or in charm-upgrade",
        );
      }
      await send("patch", partition, ({ apps }, requestOptions) =>
        apps.patchNamespacedStatefulSet(
          { name: statefulSet, namespace, body: { spec: { updateStrategy: { rollingUpdate: { partition } } } } },
          requestOptions,
        ),
      );
    },
    async getPartition() {
      const found = await send("read", undefined, ({ apps }, requestOptions) =>
        apps.readNamespacedStatefulSet({ name: statefulSet, namespace }, requestOptions),
      );
      return found.spec?.updateStrategy?.rollingUpdate?.partition ?? null;
    },
    async canPatch() {
      const review = await send("review", undefined, ({ authorization }, requestOptions) =>
        authorization.createSelfSubjectAccessReview(
          {
            body: {
              apiVersion: "authorization.k8s.io/v1",
              kind: "SelfSubjectAccessReview",
              spec: { resourceAttributes: { verb: "patch", group: "apps", resource: "statefulsets", name: statefulSet, namespace } },
            },
          },
          requestOptions,
        ),
      );
      if (review.status?.allowed === true) return { allowed: true };
      const reason = review.status?.reason
        ? redactSecrets(review.status.reason, secrets)
        : `the charm may not patch StatefulSet "${statefulSet}" in namespace "${namespace}": run \`juju trust ${statefulSet} --scope=cluster\``;
      return { allowed: false, reason };
    },
  };
}

/** `KubeConfig.loadFromDefault()`, refusing the client's silent fall-back to an unauthenticated localhost:8080. */
function loadDefaultConfig(client: KubernetesClientModule): KubeConfig {
  const kubeConfig = new client.KubeConfig();
  try {
    kubeConfig.loadFromDefault();
  } catch (error) {
    throw new ClientConfigurationError(
      `the kubeconfig could not be read: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster?.server === FALLBACK_SERVER && kubeConfig.getCurrentUser()?.name === "user" && kubeConfig.clusters.length === 1) {
    throw new ClientConfigurationError(
      "no Kubernetes configuration was found: KUBECONFIG is unset, there is no ~/.kube/config, and this is not a pod with a service account",
    );
  }
  return kubeConfig;
}

function isName(value: unknown): value is string {
  return typeof value === "string" && /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(value);
}
