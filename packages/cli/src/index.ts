// For config files: the built-in app check, to list beside a team's own plugins.
export { default as appCheck, appCheckDefaults, type AppCheckOptions } from './app-check.ts';
