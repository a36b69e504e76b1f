/**
 * The value after `name` on the command line (`--runs 1000` → `"1000"`), for the verification commands, which take
 * a few flags each and no library.
 */
export function argument(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}
