/**
 * Envoy matches `/stats?filter=` with RE2, which differs from JavaScript's RegExp both ways: it
 * has no lookaround or backreferences, and it has `(?P<name>…)`, leading `(?i)`-style flags and
 * `\A`/`\z`. This compiles the RE2 subset a stats filter uses into a RegExp, or returns the reason
 * RE2 would reject it.
 */
export function compileRe2(pattern: string): RegExp | { error: string } {
  let source = pattern;
  let flags = '';
  const leading = /^\(\?([imsU]+)\)/.exec(source);
  if (leading) {
    flags = [...new Set(leading[1]!.replace('U', ''))].join('');
    source = source.slice(leading[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i += 1) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (/[1-9k]/.test(next)) return { error: `invalid escape sequence: \\${next}` };
      if (!inClass && next === 'A') out += '^';
      else if (!inClass && next === 'z') out += '(?![\\s\\S])';
      else out += c + next;
      i += 1;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (source[i + 1] === ']') out += source[++i]!;
      continue;
    }
    if (c === '(' && source[i + 1] === '?') {
      const op = /^\(\?(<=|<!|=|!)/.exec(source.slice(i));
      if (op) return { error: `invalid perl operator: ${op[0]}` };
      if (source.startsWith('(?P<', i)) {
        out += '(?<';
        i += 3;
        continue;
      }
    }
    out += c;
  }
  try {
    return new RegExp(out, flags);
  } catch (error) {
    return { error: (error as Error).message.replace(/^Invalid regular expression: /, '') };
  }
}
