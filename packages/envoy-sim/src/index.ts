export { startEnvoySim } from './sim.ts';
export { startToyApp } from './toy-app.ts';
export type {
  AdminCall,
  AdminFault,
  EnvoySim,
  EnvoySimEvents,
  EnvoySimOptions,
  ServerStateName,
  StatSet,
  ToyApp,
  ToyAppOptions,
} from './types.ts';
