// For config files: the built-in app check, to list beside a team's own plugins (also `@task-helper/plugin-app-check`).
export { default as appCheck, type AppCheckOptions } from '@task-helper/plugin-app-check';
