// Private copies of CommonJS modules that take functions from another module when they load (mailauth's internals).

/**
 * Loads fresh copies of the modules at `paths` while `patch` is in force, then undoes the patch and puts the module
 * cache back as it was. Why: mailauth's modules destructure what they use from lib/tools.js (and the body module,
 * nodemailer's addressparser) at load, so there is no option to hand them a faster or caching function; a copy
 * loaded while the function is patched keeps it, and every other user of mailauth keeps mailauth's own.
 * `patch` applies the patch and returns its undo; `load` requires what the caller wants from the fresh copies.
 */
export function loadPrivateCopies<T>(
  require: NodeJS.Require,
  paths: readonly string[],
  patch: () => () => void,
  load: () => T,
): T {
  const saved = new Map(paths.map((path) => [path, require.cache[path]] as const));
  const unpatch = patch();
  try {
    for (const path of paths) delete require.cache[path];
    return load();
  } finally {
    unpatch();
    for (const [path, mod] of saved) {
      if (mod) require.cache[path] = mod;
      else delete require.cache[path];
    }
  }
}
