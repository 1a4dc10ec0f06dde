// `make bench` / `pnpm bench`: the footprint table, then the drain table. Each prints markdown.
await import('./footprint.ts');
await import('./drain.ts');
