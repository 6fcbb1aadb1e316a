/**
 * A tiny glob for names (check ids, `suite/check`): `*` is any run of characters except `/`, `?` one
 * character except `/`; everything else stands for itself. No classes, braces or `**`: ids are short
 * and need none. (picomatch is only in node_modules as a dev tool's dependency, and Node 20 has no
 * string glob matcher: `path.matchesGlob` comes with Node 22.)
 */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (const char of glob) {
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'u');
}

/** Whether the whole of `text` matches `glob`. */
export function matchesGlob(text: string, glob: string): boolean {
  return globToRegExp(glob).test(text);
}
