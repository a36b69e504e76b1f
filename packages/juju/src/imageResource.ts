/**
 * The image an OCI image resource names, from the file `resource-get` gives its path to: the registry path only.
 * The file may also hold the registry's credentials (a private image): they are never read out of it, returned or
 * logged.
 *
 * Juju writes that file in one of the two forms its `DockerImageDetails` (juju/juju `core/resources/dockerresource.go`)
 * takes: YAML (`registrypath: …`, `username: …`, `password: …`: `yaml:"registrypath"`, as the state of Juju 2.9
 * serves it, `dockerMetadataStorage.Get` with `yaml.Marshal`) or JSON (`{"ImageName":"…","username":"…",…}`:
 * `json:"ImageName"`, as Juju 3's `json.Marshal`). `UnmarshalDockerResource` tries JSON, then YAML; so does this
 * (`dockerresource_test.go` has both shapes). Go's JSON decoder matches field names without regard to case.
 *
 * @returns the registry path (`registry.example/db@sha256:…`), or `null` when the file names none
 * @example
 * ```ts
 * readImageResource("registrypath: registry.example/db@sha256:1111\nusername: ''\npassword: ''\n");
 * // "registry.example/db@sha256:1111"
 * ```
 */
export function readImageResource(text: string): string | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (json !== undefined) {
    if (!json || typeof json !== "object" || Array.isArray(json)) return null;
    const entry = Object.entries(json).find(([key]) => key.toLowerCase() === "imagename");
    return imagePath(entry?.[1]);
  }
  // YAML: only a top-level `registrypath:` scalar is read (plain, or in single or double quotes).
  for (const line of text.split(/\r?\n/)) {
    const match = /^registrypath:[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!match) continue;
    const value = match[1] ?? "";
    const quoted = /^'(.*)'$/.exec(value) ?? /^"(.*)"$/.exec(value);
    return imagePath(quoted ? quoted[1] : value);
  }
  return null;
}

/** An image reference as a command may carry it (no spaces, quotes or shell characters), or `null`. */
function imagePath(value: unknown): string | null {
  return typeof value === "string" && /^[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}$/.test(value) ? value : null;
}
