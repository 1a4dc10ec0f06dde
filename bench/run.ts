// `make bench` / `pnpm bench`: the footprint table, the signal-handler table, the drain table, the caller Envoy
// table, the deploy table, then the image table. Each prints markdown.
await import('./footprint.ts');
await import('./signal-handlers.ts');
await import('./drain.ts');
await import('./caller-drain.ts');
await import('./deploy.ts');
await import('./image.ts');
