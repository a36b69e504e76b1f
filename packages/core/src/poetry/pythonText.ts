/**
 * The few pieces of Python's text semantics that poetry-core's parsers lean on and that JavaScript spells
 * differently: what counts as whitespace, what `$` matches, and what `int()` accepts.
 *
 * poetry-core runs its regexes with Python's `re` module. Porting the patterns character for character is not
 * enough to reproduce its answers on odd input, because `\s`, `str.strip()`, `$` and `\d` mean slightly different
 * things in the two languages. Everything here exists so the constraint parser agrees with poetry-core on *every*
 * string, not only on well-formed ones.
 *
 * @module
 */

/**
 * The characters for which Python's `str.isspace()` is true, as the body of a regex character class.
 *
 * Python's `\s` and `str.strip()` use this set; JavaScript's `\s` and `trim()` use a different one (JS adds U+FEFF,
 * Python adds U+001C–U+001F and U+0085). Using JS's own would make `"\x1c>=1.0"` parse here and fail in Python.
 */
export const PY_WHITESPACE_CLASS =
  "\\t\\n\\x0B\\f\\r\\x1C-\\x1F \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";

/**
 * Python's `$` (without `re.MULTILINE`) as a JavaScript lookahead: it matches at the very end *or just before a
 * final newline*. A piece such as `"1.0\n"` produced by the AND split is accepted by poetry-core because of this.
 */
export const PY_END = "(?=\\n?$)";

const PY_WS_SET = new Set<string>();
for (const range of [
  [0x09, 0x0d],
  [0x1c, 0x20],
  [0x85, 0x85],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
] as const) {
  for (let code = range[0]; code <= range[1]; code++) PY_WS_SET.add(String.fromCharCode(code));
}

/** Python's `text.strip()` (no argument): removes Python whitespace at both ends, not JavaScript's `trim()` set. */
export function pyStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && PY_WS_SET.has(text[start] as string)) start++;
  while (end > start && PY_WS_SET.has(text[end - 1] as string)) end--;
  return text.slice(start, end);
}

/** Python's `text.rstrip()` (no argument), for the same reason as {@link pyStrip}. */
export function pyRstrip(text: string): string {
  let end = text.length;
  while (end > 0 && PY_WS_SET.has(text[end - 1] as string)) end--;
  return text.slice(0, end);
}

/** Python's `text.rstrip(chars)` for a single character: poetry-core drops trailing commas this way. */
export function pyRstripChar(text: string, char: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === char) end--;
  return text.slice(0, end);
}

const DECIMAL_DIGIT = /^\p{Nd}$/u;

/**
 * Python's `int()` on a run of `\d` characters, which in Python 3 includes every Unicode decimal digit
 * (`int("١٢")` is 12). poetry-core's X-range pattern uses `\d`, so `١.*` means `1.*` there.
 *
 * Unicode guarantees that decimal digits are encoded in contiguous runs of ten, 0 to 9, so a digit's value is its
 * offset from the start of its run, modulo ten (some runs, like the mathematical digits, sit back to back).
 */
export function pyIntFromDigits(digits: string): bigint {
  if (/^[0-9]+$/.test(digits)) return BigInt(digits);
  let value = 0n;
  for (const char of digits) {
    const code = char.codePointAt(0) as number;
    let offset = 0;
    while (offset < code && DECIMAL_DIGIT.test(String.fromCodePoint(code - offset - 1))) offset++;
    value = value * 10n + BigInt(offset % 10);
  }
  return value;
}
