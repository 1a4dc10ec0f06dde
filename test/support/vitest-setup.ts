import { afterEach } from 'vitest';
import { killRunningHelpers } from './helper-process.ts';

afterEach(killRunningHelpers);
