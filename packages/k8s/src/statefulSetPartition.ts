/**
 * The StatefulSet rolling-update partition: the one Kubernetes knob a rolling upgrade turns.
 *
 * On Kubernetes, `juju refresh` changes the StatefulSet's pod template; the StatefulSet controller then restarts
 * every pod whose ordinal is at least `spec.updateStrategy.rollingUpdate.partition`. The core lowers the partition
 * one unit at a time (its `setPartition` effect); this module carries that out against the API server, reads it
 * back (the partition, and which revision each pod runs), and checks beforehand whether the charm is allowed to.
 *
 * The Kubernetes client is loaded lazily (see `loadClient.ts`): creating a setter costs nothing, and a machine
 * charm that imports this package never loads the client.
 *
 * @module
 */
import type { ConfigurationOptions, KubeConfig, ObservableMiddleware } from "@kubernetes/client-node";
import { KubernetesRequestError } from "./kubernetesRequestError.js";
import { type KubernetesClientModule, loadClient } from "./loadClient.js";
import { retryAfterMs } from "./retryAfter.js";
import {
  labelSelectorOf,
  type PodListObject,
  PodListSchema,
  parseResponse,
  partitionOf,
  type StatefulSetObject,
  StatefulSetSchema,
} from "./statefulSetSchema.js";
import {
  ClientConfigurationError,
  type FailedRequest,
  httpStatusOf,
  isRetryable,
  PartitionRewrittenError,
  RequestTimeoutError,
  redactSecrets,
  toKubernetesClientError,
  UnexpectedResponseError,
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
  /** Attempts per operation when the API server answers 408, 409, 429 or 5xx (default 3, the first included). */
  readonly attempts?: number;
  /** Wait before the second attempt, doubled before each later one, unless the server asks for a wait (default 500 ms). */
  readonly retryDelayMs?: number;
  /**
   * The most one call sleeps between its attempts, all waits together (default 5 000 ms): a hook must stay short. A
   * wait that does not fit — e.g. a `Retry-After: 32` — is not made: the call fails as `transient` at once, and the
   * next hook tries again.
   */
  readonly maxRetryWaitMs?: number;
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

/** One pod of the StatefulSet, as {@link PartitionSetter.readRollout} sees it. */
export interface PodRevision {
  /** The pod's name, `<statefulSet>-<ordinal>`. */
  readonly name: string;
  /** The pod's ordinal (the Juju unit number), from its name; `null` if the name has none. */
  readonly ordinal: number | null;
  /** Its `controller-revision-hash` label: the StatefulSet revision it was created from; `null` when unlabelled. */
  readonly revision: string | null;
  /**
   * Whether it runs the StatefulSet's update revision: its revision equals `updateRevision` and the controller has
   * seen the latest spec (`observed`). `false` while unknown: a stale `updateRevision` proves nothing.
   */
  readonly updated: boolean;
  /** Whether its `Ready` condition is `True`. */
  readonly ready: boolean;
  /** Whether it is being deleted (`metadata.deletionTimestamp` is set). */
  readonly terminating: boolean;
  /** Each container's image (`spec.containers[].image`), by container name: what the pod was created to run. */
  readonly images: Readonly<Record<string, string>>;
}

/** The rollout state of the StatefulSet: what {@link PartitionSetter.readRollout} returns. */
export interface StatefulSetRollout {
  /** `spec.updateStrategy.rollingUpdate.partition`, 0 when absent (the API's default). */
  readonly partition: number;
  /** `spec.replicas` (1 when absent, the API's default). */
  readonly replicas: number;
  /** `spec.updateStrategy.type`: `RollingUpdate` (the partition applies) or `OnDelete` (it does not). */
  readonly updateStrategy: string;
  /** `metadata.generation`: bumped by the API server on every change of the spec (e.g. `juju refresh`). */
  readonly generation: number | null;
  /** `status.observedGeneration`: the generation the StatefulSet controller has acted on. */
  readonly observedGeneration: number | null;
  /** Whether the controller has seen the latest spec, so that the revisions below describe it. */
  readonly observed: boolean;
  /** `status.currentRevision`: the revision of pods `[0, currentReplicas)`; `null` when not reported. */
  readonly currentRevision: string | null;
  /** `status.updateRevision`: the revision pods at or above the partition are moved to; `null` when not reported. */
  readonly updateRevision: string | null;
  /** The StatefulSet's pods (those it controls), by ordinal. */
  readonly pods: readonly PodRevision[];
}

/**
 * Moves and reads one StatefulSet's rolling-update partition. Every method throws only {@link KubernetesRequestError}
 * (a `KubernetesClientError` of the core) whose `failure` says whether to retry at the next hook.
 */
export interface PartitionSetter {
  /** The namespace (Juju model) this setter works in. */
  readonly namespace: string;
  /** The StatefulSet (Juju application) this setter works on. */
  readonly statefulSet: string;
  /**
   * Set `spec.updateStrategy.rollingUpdate.partition` with a JSON merge patch; pods with an ordinal at least
   * `partition` are then restarted on the new revision.
   *
   * Resolves only when the API server's answer to the patch shows it holds exactly `partition`; record it then. When
   * it throws, the partition the server holds is unknown (a timed-out or 504 patch may still be applied): read it
   * back with {@link PartitionSetter.getPartition} before trusting any value.
   */
  setPartition(partition: number): Promise<void>;
  /** The partition the API server holds: `spec.updateStrategy.rollingUpdate.partition`, 0 when absent (the API's default). */
  getPartition(): Promise<number>;
  /**
   * The partition, the StatefulSet's current and update revisions, and each pod's revision (`controller-revision-hash`),
   * so that a unit can tell whether its pod really runs the new revision. Two requests: the StatefulSet, then its pods
   * by its label selector.
   */
  readRollout(): Promise<StatefulSetRollout>;
  /**
   * Ask the API server (SelfSubjectAccessReview) whether the charm may patch the StatefulSet, so that the
   * pre-upgrade check can tell the operator to `juju trust` the application before anything moves.
   */
  canPatch(): Promise<PatchPermission>;
}

interface Connection {
  readonly client: KubernetesClientModule;
  readonly apps: InstanceType<KubernetesClientModule["AppsV1Api"]>;
  readonly core: InstanceType<KubernetesClientModule["CoreV1Api"]>;
  readonly authorization: InstanceType<KubernetesClientModule["AuthorizationV1Api"]>;
  readonly server: string;
}

/** The address `KubeConfig.loadFromDefault()` falls back to when it finds no configuration at all. */
const FALLBACK_SERVER = "http://localhost:8080";

/**
 * Create a {@link PartitionSetter} for the StatefulSet `statefulSet` in `namespace`.
 *
 * Nothing is loaded or sent until a method is called: the first call imports `@kubernetes/client-node`, loads the
 * configuration and keeps both for later calls. Answers that say "try again" (408, 409, 429, 5xx) are retried
 * `attempts` times, waiting what the server asks (`Retry-After`) or backing off exponentially, never more than
 * `maxRetryWaitMs` in all; every failure becomes a {@link KubernetesRequestError} whose text never contains a
 * credential.
 *
 * @example
 * ```ts
 * const partitions = createPartitionSetter({ namespace: model, statefulSet: app });
 * if (!(await partitions.canPatch()).allowed) throw new ClusterNotReadyError("…", "the charm is not trusted", `juju trust ${app} --scope=cluster`);
 * await partitions.setPartition(2); // lets unit 2 (and above) restart on the new revision; resolved: the server holds 2
 * ```
 */
export function createPartitionSetter(options: PartitionSetterOptions): PartitionSetter {
  const { namespace, statefulSet } = options;
  if (!isName(namespace) || !isName(statefulSet)) {
    throw new KubernetesRequestError(
      `Invalid StatefulSet ${JSON.stringify(statefulSet)} in namespace ${JSON.stringify(namespace)}`,
      "both must be non-empty Kubernetes names (lower-case letters, digits, '-' and '.')",
      "pass the Juju application name as statefulSet and the model name as namespace",
      { failure: "invalid" },
    );
  }
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const attempts = options.attempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 500;
  const maxRetryWaitMs = options.maxRetryWaitMs ?? 5_000;
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
          core: kubeConfig.makeApiClient(client.CoreV1Api),
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
  const requestOptions = (
    client: KubernetesClientModule,
    signal: AbortSignal,
    patch: boolean,
  ): ConfigurationOptions => {
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
    let refusedWaitMs: number | undefined;
    const what = `${operation === "listPods" ? "list the pods of" : operation} StatefulSet "${statefulSet}" in namespace "${namespace}"`;
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
          maxTotalDelayMs: maxRetryWaitMs,
          sleep,
          retryable: isRetryable,
          requestedDelayMs: (error) => retryAfterMs(error),
          onRetry: (error, attempt, delayMs) => {
            log?.(
              "warning",
              redactSecrets(
                `Kubernetes API answered ${httpStatusOf(error) ?? "an error"} to ${what}; retrying in ${delayMs} ms (attempt ${attempt + 1} of ${attempts})`,
                secrets,
              ),
            );
          },
          onOverBudget: (error, attempt, delayMs) => {
            refusedWaitMs = delayMs;
            log?.(
              "warning",
              redactSecrets(
                `Kubernetes API answered ${httpStatusOf(error) ?? "an error"} to ${what} (attempt ${attempt} of ${attempts}) and asked to wait ${delayMs} ms, more than a hook waits; the next hook tries again`,
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
          ...(refusedWaitMs === undefined ? {} : { refusedWaitMs }),
        },
        secrets,
      );
    }
  };

  const unexpected = (what: string) => (summary: string) =>
    new UnexpectedResponseError(what, redactSecrets(summary, secrets));

  /** GET the StatefulSet, validated; `then` derives what the caller needs inside the request (its errors are the request's). */
  const readStatefulSet = <T>(then: (found: StatefulSetObject) => T): Promise<T> =>
    send("read", undefined, async ({ apps }, requestOptions) =>
      then(
        parseResponse(
          StatefulSetSchema,
          await apps.readNamespacedStatefulSet({ name: statefulSet, namespace }, requestOptions),
          unexpected("a StatefulSet"),
        ),
      ),
    );

  return {
    namespace,
    statefulSet,
    async setPartition(partition) {
      if (!Number.isSafeInteger(partition) || partition < 0) {
        throw new KubernetesRequestError(
          `Invalid partition ${String(partition)} for StatefulSet "${statefulSet}" in namespace "${namespace}"`,
          "a partition is a whole number from 0 to the number of units",
          "this is a bug in the charm or in charm-upgrade: report it with this message",
          { failure: "invalid" },
        );
      }
      await send("patch", partition, async ({ apps }, requestOptions) => {
        const patched = parseResponse(
          StatefulSetSchema,
          await apps.patchNamespacedStatefulSet(
            { name: statefulSet, namespace, body: { spec: { updateStrategy: { rollingUpdate: { partition } } } } },
            requestOptions,
          ),
          unexpected("a StatefulSet"),
        );
        // The answer to a patch is the object as stored: if it holds another partition, something rewrote ours.
        const held = partitionOf(patched);
        if (held !== partition) throw new PartitionRewrittenError(partition, held);
      });
    },
    async getPartition() {
      return readStatefulSet(partitionOf);
    },
    async readRollout() {
      const { found, labelSelector } = await readStatefulSet((found) => ({
        found,
        labelSelector: labelSelectorOf(found, unexpected("a StatefulSet")),
      }));
      const pods: PodListObject = await send("listPods", undefined, async ({ core }, requestOptions) =>
        parseResponse(
          PodListSchema,
          await core.listNamespacedPod({ namespace, ...(labelSelector ? { labelSelector } : {}) }, requestOptions),
          unexpected("a list of pods"),
        ),
      );
      return rolloutOf(statefulSet, found, pods);
    },
    async canPatch() {
      const review = await send("review", undefined, ({ authorization }, requestOptions) =>
        authorization.createSelfSubjectAccessReview(
          {
            body: {
              apiVersion: "authorization.k8s.io/v1",
              kind: "SelfSubjectAccessReview",
              spec: {
                resourceAttributes: {
                  verb: "patch",
                  group: "apps",
                  resource: "statefulsets",
                  name: statefulSet,
                  namespace,
                },
              },
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

/** The rollout state from a validated StatefulSet and the pods its selector matched (only those it controls). */
function rolloutOf(name: string, found: StatefulSetObject, podList: PodListObject): StatefulSetRollout {
  const generation = found.metadata.generation ?? null;
  const observedGeneration = found.status?.observedGeneration ?? null;
  const observed = generation !== null && observedGeneration !== null && observedGeneration >= generation;
  const updateRevision = found.status?.updateRevision || null;
  const ordinalPattern = new RegExp(`^${name.replace(/[.]/g, "\\.")}-(0|[1-9][0-9]{0,8})$`);
  const pods = podList.items
    .filter((pod) =>
      (pod.metadata.ownerReferences ?? []).some(
        (owner) => owner.controller === true && owner.kind === "StatefulSet" && owner.name === name,
      ),
    )
    .map((pod): PodRevision => {
      const match = ordinalPattern.exec(pod.metadata.name);
      const revision = pod.metadata.labels?.["controller-revision-hash"] || null;
      return {
        name: pod.metadata.name,
        ordinal: match ? Number(match[1]) : null,
        revision,
        updated: observed && revision !== null && revision === updateRevision,
        ready: (pod.status?.conditions ?? []).some(
          (condition) => condition.type === "Ready" && condition.status === "True",
        ),
        terminating: pod.metadata.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null,
        images: Object.fromEntries(
          (pod.spec?.containers ?? []).flatMap((container) =>
            container.image ? [[container.name, container.image]] : [],
          ),
        ),
      };
    })
    .sort(
      (a, b) =>
        (a.ordinal ?? Number.MAX_SAFE_INTEGER) - (b.ordinal ?? Number.MAX_SAFE_INTEGER) || a.name.localeCompare(b.name),
    );
  return {
    partition: partitionOf(found),
    replicas: found.spec.replicas ?? 1,
    updateStrategy: found.spec.updateStrategy?.type ?? "RollingUpdate",
    generation,
    observedGeneration,
    observed,
    currentRevision: found.status?.currentRevision || null,
    updateRevision,
    pods,
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
  if (
    cluster?.server === FALLBACK_SERVER &&
    kubeConfig.getCurrentUser()?.name === "user" &&
    kubeConfig.clusters.length === 1
  ) {
    throw new ClientConfigurationError(
      "no Kubernetes configuration was found: KUBECONFIG is unset, there is no ~/.kube/config, and this is not a pod with a service account",
    );
  }
  return kubeConfig;
}

function isName(value: unknown): value is string {
  return typeof value === "string" && /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(value);
}
