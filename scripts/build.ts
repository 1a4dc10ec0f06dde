// `make build`: bundles the CLI and the public packages into dist/task-helper, the folder the
// Docker image ships as /opt/task-helper (and the image test runs from). One bundle instead of
// node_modules: measured in bench/footprint.ts (startup and idle memory).
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import corePackage from '../packages/core/package.json' with { type: 'json' };

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, 'dist/task-helper');
const core = path.join(out, 'node_modules/@task-helper/core');

rmSync(out, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: {
    cli: 'packages/core/src/cli.ts',
    core: 'packages/core/src/index.ts',
    'plugin-delay': 'packages/plugin-delay/src/index.ts',
    'plugin-envoy': 'packages/plugin-envoy/src/index.ts',
  },
  outdir: path.join(core, 'dist'),
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  // One copy of each module shared by the CLI and the packages a team's config imports, so a
  // ConfigError thrown by their plugin is the CLI's ConfigError.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  // cosmiconfig and pino are CommonJS and require Node's built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});

/** A package folder whose entry points re-export a bundle entry, so `import '@task-helper/…'` works from a team's config. */
function writePackage(dir: string, name: string, exports: Record<string, string>, extra: object = {}): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name, version: corePackage.version, type: 'module', exports, ...extra }, null, 2)}\n`);
}
writePackage(core, '@task-helper/core', { '.': './dist/core.mjs' }, { bin: { 'task-helper': './dist/cli.mjs' } });
// The image links it as /usr/local/bin/task-helper, for the container healthCheck.
chmodSync(path.join(core, 'dist/cli.mjs'), 0o755);
for (const plugin of ['plugin-delay', 'plugin-envoy']) {
  const dir = path.join(out, 'node_modules/@task-helper', plugin);
  writePackage(dir, `@task-helper/${plugin}`, { '.': './index.mjs' });
  writeFileSync(path.join(dir, 'index.mjs'), `export * from '../core/dist/${plugin}.mjs';\nexport { default } from '../core/dist/${plugin}.mjs';\n`);
}
mkdirSync(path.join(out, 'config'), { recursive: true });
console.log(`built ${path.relative(root, out)}`);
