// The default plugins plus a team's own. In the image this file sits in /opt/task-helper/config/,
// the helper's working folder, where it is found without --config.
import { appCheck } from '@task-helper/cli';
import { defineConfig } from '@task-helper/core';

export default defineConfig({
  stopTimeout: 120,
  plugins: [
    appCheck(),
    // By name rather than imported: names resolve from this folder first, then from the helper's
    // own installation, so the built-in plugins need not be installed beside this file.
    '@task-helper/plugin-delay',
    '@task-helper/plugin-envoy',
    // Relative to this file. NOTIFY_URL in the task definition overrides the url per environment.
    ['./plugins/notify.ts', { url: 'https://hooks.example.com/orders/drained', timeout: 3 }],
  ],
});
