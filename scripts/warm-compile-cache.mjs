// Fills NODE_COMPILE_CACHE with the modules `task-helper run` compiles at start, so a helper started
// with the same node, path and user loads V8's code cache instead of compiling (bench/footprint.ts).
// It starts `run` with nothing to talk to and stops it at its first line: the signal handler is
// installed before any line, so the helper drains (nothing to wait for) and Node writes the cache
// at exit. Run by scripts/build.ts for dist/ and by the Dockerfile where the image runs it.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';

const [cli, cache] = process.argv.slice(2);
const child = spawn(process.execPath, [cli, 'run'], {
  env: {
    PATH: process.env.PATH,
    NODE_COMPILE_CACHE: cache,
    ENVOY_ADMIN_URL: 'http://127.0.0.1:9901',
    PORT: '8080',
    // Whatever listens on these ports of the build machine, the helper stops at once.
    DRAIN_DELAY: '0',
    DRAIN_TIMEOUT: '0',
  },
  stdio: ['ignore', 'pipe', 'ignore'],
});
child.stdout.once('data', () => child.kill('SIGTERM'));
child.on('close', () => {
  const entries = readdirSync(cache, { recursive: true }).length;
  if (entries < 2) throw new Error(`warm-compile-cache: nothing cached in ${cache}`);
});
