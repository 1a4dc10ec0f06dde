#!/usr/bin/env node
// A file that exists before the build, so pnpm and npm can link the bin at install time.
import { runBuiltOrSources } from './run-built-or-sources.js';

await runBuiltOrSources(import.meta.url, 'cli');
