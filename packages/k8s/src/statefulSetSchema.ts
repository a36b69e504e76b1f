/**
 * What this package reads from the API server, validated: the API server is input like any other, and a proxy, a
 * wrong address or a buggy server can answer anything.
 *
 * The client deserialises JSON into its model classes (`ObjectSerializer.deserialize`), which copies known fields as
 * they are (a JSON `null` stays `null`, unknown fields are dropped, nothing is type-checked): so every optional field
 * here is `nullish`, objects are loose, and numbers are checked to be whole and non-negative.
 *
 * Field meanings, from the Kubernetes API reference (apps/v1 StatefulSet, core/v1 Pod):
 * - `spec.updateStrategy.rollingUpdate.partition` — "Partition indicates the ordinal at which the StatefulSet should
 *   be partitioned for updates … The default value is 0." The API server defaults it to 0 when the strategy is
 *   RollingUpdate (`SetDefaults_StatefulSet`, `pkg/apis/apps/v1/defaults.go`), so it is absent only for `OnDelete` or
 *   an explicit `RollingUpdate` without `rollingUpdate`.
 * - `status.updateRevision` — "if not empty, indicates the version of the StatefulSet used to generate Pods in the
 *   sequence [replicas-updatedReplicas,replicas)"; `status.currentRevision` — "… in the sequence [0,currentReplicas)".
 * - `status.observedGeneration` — "the most recent generation observed for this StatefulSet"; until it reaches
 *   `metadata.generation`, the status (and so `updateRevision`) may describe an older spec.
 * - a pod's `controller-revision-hash` label — the revision it was created from (`StatefulSetRevisionLabel =
 *   ControllerRevisionHashLabelKey = "controller-revision-hash"`, `k8s.io/api/apps`).
 * - a pod's `spec.containers[].image` — "Container image name" (core/v1 Container; optional in the API, required by
 *   the workload controllers), the image the pod was created to run.
 *
 * @module
 */
import * as v from "valibot";

const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const text = v.string();

const LabelSelectorSchema = v.looseObject({
  matchLabels: v.nullish(v.record(v.string(), v.string())),
  matchExpressions: v.nullish(
    v.array(
      v.looseObject({
        key: v.string(),
        operator: v.string(),
        values: v.nullish(v.array(v.string())),
      }),
    ),
  ),
});

/** The fields of an apps/v1 StatefulSet this package reads. */
export const StatefulSetSchema = v.looseObject({
  metadata: v.looseObject({
    name: text,
    generation: v.nullish(count),
  }),
  spec: v.looseObject({
    replicas: v.nullish(count),
    selector: v.nullish(LabelSelectorSchema),
    updateStrategy: v.nullish(
      v.looseObject({
        type: v.nullish(text),
        rollingUpdate: v.nullish(v.looseObject({ partition: v.nullish(count) })),
      }),
    ),
  }),
  status: v.nullish(
    v.looseObject({
      observedGeneration: v.nullish(count),
      currentRevision: v.nullish(text),
      updateRevision: v.nullish(text),
    }),
  ),
});

/** A validated StatefulSet. */
export type StatefulSetObject = v.InferOutput<typeof StatefulSetSchema>;

/** The fields of a core/v1 PodList this package reads. */
export const PodListSchema = v.looseObject({
  items: v.array(
    v.looseObject({
      metadata: v.looseObject({
        name: text,
        labels: v.nullish(v.record(v.string(), v.string())),
        // A Date after the client's deserialisation; only its presence matters.
        deletionTimestamp: v.nullish(v.unknown()),
        ownerReferences: v.nullish(
          v.array(v.looseObject({ kind: text, name: text, controller: v.nullish(v.boolean()) })),
        ),
      }),
      spec: v.nullish(
        v.looseObject({
          containers: v.nullish(v.array(v.looseObject({ name: text, image: v.nullish(text) }))),
        }),
      ),
      status: v.nullish(
        v.looseObject({
          conditions: v.nullish(v.array(v.looseObject({ type: text, status: text }))),
        }),
      ),
    }),
  ),
});

/** A validated PodList. */
export type PodListObject = v.InferOutput<typeof PodListSchema>;

/**
 * Validate `value` against `schema`; on failure, `fail` is called with a one-line summary of the issues (at most
 * three, each with the path of the offending field) and its result thrown.
 */
export function parseResponse<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  fail: (summary: string) => Error,
): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const summary = result.issues
    .slice(0, 3)
    .map((issue) => `${v.getDotPath(issue) ?? "(the answer)"}: ${issue.message}`)
    .join("; ");
  throw fail(summary);
}

/** The partition the StatefulSet holds: `spec.updateStrategy.rollingUpdate.partition`, 0 when absent (the API's default). */
export function partitionOf(statefulSet: StatefulSetObject): number {
  return statefulSet.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
}

/**
 * The label selector of a StatefulSet in the query syntax of `labelSelector` (`k=v`, `k in (a,b)`, `k notin (a)`,
 * `k`, `!k`), or `undefined` when it has none; an operator other than the four the API defines is thrown as `fail`.
 */
export function labelSelectorOf(statefulSet: StatefulSetObject, fail: (summary: string) => Error): string | undefined {
  const selector = statefulSet.spec.selector;
  if (!selector) return undefined;
  const terms: string[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) terms.push(`${key}=${value}`);
  for (const expression of selector.matchExpressions ?? []) {
    const values = (expression.values ?? []).join(",");
    switch (expression.operator) {
      case "In":
        terms.push(`${expression.key} in (${values})`);
        break;
      case "NotIn":
        terms.push(`${expression.key} notin (${values})`);
        break;
      case "Exists":
        terms.push(expression.key);
        break;
      case "DoesNotExist":
        terms.push(`!${expression.key}`);
        break;
      default:
        throw fail(`spec.selector.matchExpressions: unknown operator ${JSON.stringify(expression.operator)}`);
    }
  }
  return terms.length > 0 ? terms.join(",") : undefined;
}
