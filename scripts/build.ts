// `make build`: bundles the CLI and the public packages into dist/task-helper, the folder the
// Docker image ships as /opt/task-helper (and the image test runs from). One bundle instead of
// node_modules: measured in bench/footprint.ts (startup and idle memory). It bundles the packages'
// TypeScript sources (their "@task-helper/source" export condition), so it needs no `tsc -b` first.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Script } from 'node:vm';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import cliPackage from '../packages/cli/package.json' with { type: 'json' };

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, 'dist/task-helper');
const scope = path.join(out, 'node_modules/@task-helper');
const cli = path.join(scope, 'cli');

const REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * What pino's dependencies require at load but call only on paths the default helper never takes:
 * sonic-boom and thread-stream each `assert(...)` one condition (node:assert loads a dozen internal
 * modules), and pino's transport code builds a ThreadStream only for a transport. Each becomes a
 * stand-in that loads the real one on first call: about 1.5 ms of start-up CPU and 0.4 MB less
 * (bench/footprint.ts). Only for these importers, whose use of them is a plain call or `new`.
 */
const lazyOnFirstCall: Plugin = {
  name: 'lazy-on-first-call',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^(node:)?assert$/ }, ({ importer }) =>
      /[\\/](sonic-boom|thread-stream)[\\/]/.test(importer) ? { path: 'assert', namespace: 'lazy' } : undefined,
    );
    esbuild.onResolve({ filter: /^thread-stream$/ }, async ({ importer, resolveDir, kind }) => {
      if (!/[\\/]pino[\\/]lib[\\/]transport\.js$/.test(importer)) return undefined;
      const real = await esbuild.resolve('thread-stream', { resolveDir, kind });
      return { path: 'thread-stream', namespace: 'lazy', pluginData: real.path };
    });
    // pino's tools.js reads worker_threads' isMainThread at load, for a SonicBoom of its own (a file
    // or fd destination), which the helper never builds; node:worker_threads loads eight internal
    // modules. Read where it is used instead; a pino whose text differs fails the build here.
    esbuild.onLoad({ filter: /[\\/]pino[\\/]lib[\\/]tools\.js$/ }, ({ path: file }) => {
      const text = readFileSync(file, 'utf8');
      const load = "const { isMainThread } = require('worker_threads')\n";
      const use = '!opts.sync && isMainThread)';
      if (text.split(load).length !== 2 || text.split(use).length !== 2)
        throw new Error(`${file}: not the isMainThread reads scripts/build.ts expects; update its lazy-on-first-call`);
      return {
        contents: text.replace(load, '').replace(use, "!opts.sync && require('worker_threads').isMainThread)"),
        loader: 'js',
      };
    });
    esbuild.onLoad({ filter: /.*/, namespace: 'lazy' }, ({ path: what, pluginData }) => ({
      contents:
        what === 'assert'
          ? "module.exports = (...args) => process.getBuiltinModule('node:assert')(...args);"
          : `let real; module.exports = function ThreadStream(...args) { real ??= require(${JSON.stringify(pluginData)}); return new real(...args); };`,
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/** What a team's config imports: each becomes dist/<name>.mjs, which the package folders below re-export. */
const publicEntries: Record<string, string> = {
  index: 'packages/cli/src/index.ts',
  core: 'packages/core/src/index.ts',
  'core-testing': 'packages/core/src/testing.ts',
  'plugin-app-check': 'packages/plugin-app-check/src/index.ts',
  'plugin-delay': 'packages/plugin-delay/src/index.ts',
  'plugin-envoy': 'packages/plugin-envoy/src/index.ts',
  'plugin-aws': 'packages/plugin-aws/src/index.ts',
  'plugin-aws-cloud-map': 'packages/plugin-aws/src/cloud-map.ts',
  'plugin-aws-target-groups': 'packages/plugin-aws/src/target-groups.ts',
  'plugin-aws-ecs-stop-timeout': 'packages/plugin-aws/src/ecs-stop-timeout.ts',
};
/** The CLI's own dynamic imports on the way to `ready` (and `health`): all answered by the one module below. */
const startImports: Record<string, string[]> = {
  'packages/cli/src/commands/run.ts': ['run'],
  'packages/cli/src/commands/health.ts': ['health'],
  'packages/core/src/host.ts': ['logLevels'],
  'packages/cli/src/default-config.ts': ['defaultPlugins'],
  'packages/plugin-aws/src/ecs-stop-timeout.ts': ['ECS_DEFAULT_STOP_TIMEOUT', 'withEcsStopTimeout'],
};

const common: BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  conditions: ['@task-helper/source'],
  logLevel: 'warning',
};

/** Each public entry's export names, from a bundle of it alone (not written). */
async function exportNames(entry: string): Promise<string[]> {
  const { metafile } = await build({ ...common, entryPoints: [entry], outdir: out, write: false, metafile: true });
  return Object.values(metafile!.outputs).find((o) => o.entryPoint)!.exports;
}
const publicExports: Record<string, string[]> = Object.fromEntries(
  await Promise.all(Object.entries(publicEntries).map(async ([name, entry]) => [name, await exportNames(entry)])),
);
const alias = (entry: string, name: string) => `${entry.replace(/\W/g, '_')}$${name}`;

/**
 * The start path in one module (`start.mjs`): the CLI's dynamic imports above and every public
 * entry (under prefixed names) resolve to it, so esbuild puts what they share in it instead of a
 * chunk per combination of entries that reach a module: each file the ESM loader loads at start
 * costs about 0.7 M instructions (resolve, read, link), and there were 20. A team's config still
 * gets the CLI's own modules (one ConfigError).
 */
const startModule: Plugin = {
  name: 'start-module',
  setup(esbuild) {
    const starts = new Set(Object.keys(startImports).map((file) => path.join(root, file)));
    esbuild.onResolve({ filter: /^task-helper:start$/ }, () => ({ path: 'start', namespace: 'start' }));
    esbuild.onResolve(
      { filter: /.*/ },
      async ({ path: request, kind, importer, resolveDir, namespace, pluginData }) => {
        // pluginData marks this callback's own resolve call, which comes back through here.
        if (kind !== 'dynamic-import' || namespace !== 'file' || pluginData === 'real') return undefined;
        const real = await esbuild.resolve(request, { kind, importer, resolveDir, pluginData: 'real' });
        return starts.has(real.path) ? { path: 'start', namespace: 'start' } : undefined;
      },
    );
    esbuild.onLoad({ filter: /.*/, namespace: 'start' }, () => ({
      contents: [
        ...Object.entries(startImports).map(([file, names]) => `export { ${names.join(', ')} } from './${file}';`),
        ...Object.entries(publicExports).map(
          ([entry, names]) =>
            `export { ${names.map((n) => `${n} as ${alias(entry, n)}`).join(', ')} } from './${publicEntries[entry]}';`,
        ),
      ].join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

rmSync(out, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { cli: 'packages/cli/src/cli.ts', start: 'task-helper:start' },
  outdir: path.join(cli, 'dist'),
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  // One copy of each module shared by the CLI and the packages a team's config imports, so a
  // ConfigError thrown by their plugin is the CLI's ConfigError.
  splitting: true,
  // cosmiconfig and pino are CommonJS and require Node's built-ins (dropped below where unused).
  banner: { js: REQUIRE_BANNER },
  legalComments: 'none',
  // Less for V8 to scan at start (bench/footprint.ts); names stay, so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [lazyOnFirstCall, startModule],
});
for (const [entry, names] of Object.entries(publicExports))
  writeFileSync(
    path.join(cli, 'dist', `${entry}.mjs`),
    `export { ${names.map((n) => `${alias(entry, n)} as ${n}`).join(', ')} } from './start.mjs';\n`,
  );

/**
 * Node writes a module's V8 code cache right after compiling it, when V8 has compiled only the
 * top-level code: a CommonJS dependency's body (esbuild's `__commonJS({"path"(exports,module){…}})`
 * method) was compiled at every start, pino's, tapable's and safe-stable-stringify's among them.
 * Written as a parenthesized function expression, V8 compiles it with the top level (its "likely
 * called" hint), so the warmed cache holds it: about 4.5 M instructions less to `ready` against
 * 93 M for an empty node (callgrind), RSS the same. The body's end is the first `}})` after which
 * the method parses whole (an earlier one would cut it unbalanced).
 */
function eagerCommonJsBodies(text: string, file: string): string {
  const head = /__commonJS\(\{("(?:[^"\\]|\\.)*")\(exports,module\)\{/g;
  const parses = (code: string) => {
    try {
      new Script(code);
      return true;
    } catch {
      return false;
    }
  };
  let out = '';
  let at = 0;
  for (let m = head.exec(text); m; m = head.exec(text)) {
    const body = m.index + m[0].length;
    let end = text.indexOf('}})', body);
    while (end >= 0 && !parses(`({${m[1]}(exports,module){${text.slice(body, end)}}})`))
      end = text.indexOf('}})', end + 1);
    if (end < 0) throw new Error(`${file}: no end found for the CommonJS body of ${m[1]}`);
    out += `${text.slice(at, m.index)}__commonJS({${m[1]}:(function(exports,module){${text.slice(body, end)}})})`;
    at = end + 3;
    head.lastIndex = at;
  }
  return out + text.slice(at);
}

// Each createRequire costs an idle helper memory (bench/footprint.ts): keep it only in the files that call require.
for (const file of readdirSync(path.join(cli, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) =>
  f.endsWith('.mjs'),
)) {
  const full = path.join(cli, 'dist', file);
  const text = eagerCommonJsBodies(readFileSync(full, 'utf8'), file);
  const rest = text.replace(`${REQUIRE_BANNER}\n`, '');
  writeFileSync(full, /\brequire\b/.test(rest) ? text : rest);
}

/** A package folder whose entry points re-export a bundle entry, so `import '@task-helper/…'` works from a team's config. */
function writePackage(dir: string, name: string, exports: Record<string, string>, extra: object = {}): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ name, version: cliPackage.version, type: 'module', exports, ...extra }, null, 2)}\n`,
  );
}
/** A module that re-exports a bundle entry (`withDefault`: its default export too). */
function reexport(file: string, entry: string, withDefault = false): void {
  const from = `../cli/dist/${entry}.mjs`;
  writeFileSync(file, `export * from '${from}';\n${withDefault ? `export { default } from '${from}';\n` : ''}`);
}
// The CLI reads its version from this package.json, beside the folder of its bin.
writePackage(cli, '@task-helper/cli', { '.': './dist/index.mjs' }, { bin: { 'task-helper': './dist/cli.mjs' } });
// The image links it as /usr/local/bin/task-helper, for the container healthCheck.
chmodSync(path.join(cli, 'dist/cli.mjs'), 0o755);
const core = path.join(scope, 'core');
// Not /host: only the CLI uses it, and the CLI is in the bundle.
writePackage(core, '@task-helper/core', { '.': './index.mjs', './testing': './testing.mjs' });
reexport(path.join(core, 'index.mjs'), 'core');
reexport(path.join(core, 'testing.mjs'), 'core-testing');
for (const plugin of ['plugin-app-check', 'plugin-delay', 'plugin-envoy']) {
  const dir = path.join(scope, plugin);
  writePackage(dir, `@task-helper/${plugin}`, { '.': './index.mjs' });
  reexport(path.join(dir, 'index.mjs'), plugin, true);
}
// plugin-aws: named factories at the root, one default-exporting module per plugin for config files.
// Its SDK clients stay in chunks of their own, loaded by the drain only when a plugin is configured.
const aws = path.join(scope, 'plugin-aws');
writePackage(aws, '@task-helper/plugin-aws', {
  '.': './index.mjs',
  './cloud-map': './cloud-map.mjs',
  './target-groups': './target-groups.mjs',
  './ecs-stop-timeout': './ecs-stop-timeout.mjs',
});
reexport(path.join(aws, 'index.mjs'), 'plugin-aws');
reexport(path.join(aws, 'cloud-map.mjs'), 'plugin-aws-cloud-map', true);
reexport(path.join(aws, 'target-groups.mjs'), 'plugin-aws-target-groups', true);
// The module whose answerInChild the CLI runs in a child process at start to read the container's stopTimeout.
reexport(path.join(aws, 'ecs-stop-timeout.mjs'), 'plugin-aws-ecs-stop-timeout');
mkdirSync(path.join(out, 'config'), { recursive: true });
// V8's code cache for the start path: less CPU to `ready` (bench/footprint.ts). Node keys it by path,
// node build and user, so the image warms its own at /opt/task-helper (Dockerfile); this one is
// for dist/ where it is (the bench, the tests). A stale or unreadable cache only costs the compile.
copyFileSync(path.join(root, 'scripts/warm-compile-cache.mjs'), path.join(out, 'warm-compile-cache.mjs'));
execFileSync(process.execPath, [
  path.join(out, 'warm-compile-cache.mjs'),
  path.join(cli, 'dist/cli.mjs'),
  path.join(out, 'compile-cache'),
]);
console.log(`built ${path.relative(root, out)}`);
