// The bins run dist/<name>.js, which a published package always has. In this repository before
// `make build` there is no dist/: run src/<name>.ts instead (Node 24 strips the types), with the
// workspace's packages resolved to their sources too (their "@task-helper/source" export), in this
// same process, so a signal reaches the helper directly (no child to forward it to).
import { existsSync } from 'node:fs';
import module from 'node:module';

export async function runBuiltOrSources(binUrl, name) {
  const built = new URL(`../dist/${name}.js`, binUrl);
  if (existsSync(built)) return import(built.href);
  const source = new URL(`../src/${name}.ts`, binUrl);
  if (!existsSync(source) || typeof module.registerHooks !== 'function') {
    process.stderr.write(
      existsSync(source)
        ? `task-helper: the sources need Node 24 (this is ${process.version}); run make setup, then node_modules/.bin/${name === 'cli' ? 'task-helper' : name}, or make build\n`
        : `task-helper: ${built.pathname} is missing: reinstall the package (in its repository: make build)\n`,
    );
    process.exit(1);
  }
  module.registerHooks({
    resolve: (specifier, context, nextResolve) =>
      nextResolve(specifier, { ...context, conditions: [...context.conditions, '@task-helper/source'] }),
  });
  return import(source.href);
}
