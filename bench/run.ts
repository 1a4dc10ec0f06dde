// `make bench` / `pnpm bench`: the footprint table, the signal-handler table, then the drain table. Each prints markdown.
await import('./footprint.ts');
await import('./signal-handlers.ts');
await import('./drain.ts');
