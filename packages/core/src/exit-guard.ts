import { tapScope } from './stray-errors.ts';

// Taken when core loads, before any plugin can replace them: the helper's own way out.
const processExit = process.exit;
const reallyExit = (process as unknown as ProcessWithReallyExit).reallyExit;
const processKill = process.kill;

/** Node's undocumented binding behind `process.exit`, which it looks up on `process` at each call. */
interface ProcessWithReallyExit {
  reallyExit: (code?: number) => void;
}

/** A plugin's attempt to end the process, held: which call, its code or signal, and whose work made it. */
interface HeldExit {
  call: 'process.exit' | 'process.reallyExit' | 'process.kill';
  code?: number | string | null | undefined;
  signal?: string | number | undefined;
  plugin?: string;
  hook?: string;
}

/** What a held call throws, so the plugin's code after it does not run on as if the process were gone. */
class ExitHeld extends Error {
  override name = 'ExitHeld';
}

/**
 * From now on, `process.exit`, `process.reallyExit` and `process.kill` aimed at the helper itself
 * (its pid, or 0: its process group) end nothing: each is reported to `onHeld` (with the plugin
 * and hook whose work made the call, when known) and throws, and the helper exits only through
 * `exitProcess`, after the drain. A shutdown library's own SIGTERM handler that exits is held the
 * same way. What no JavaScript can hold: a native addon's `exit()`, `process.abort()`, SIGKILL
 * and the kernel's OOM killer.
 */
export function holdExits(onHeld: (held: HeldExit) => void): void {
  const hold = (held: HeldExit): never => {
    onHeld({ ...held, ...tapScope.getStore() });
    const what =
      held.call === 'process.kill' ? `${held.call}(self, ${held.signal})` : `${held.call}(${held.code ?? ''})`;
    throw new ExitHeld(`${what} held: the helper exits after the drain`);
  };
  process.exit = (code?: number | string | null) => hold({ call: 'process.exit', code });
  (process as unknown as ProcessWithReallyExit).reallyExit = (code?: number) =>
    hold({ call: 'process.reallyExit', code });
  process.kill = (pid: number, signal?: string | number): true => {
    // Signal 0 only asks whether a process exists.
    if ((pid === process.pid || pid === 0) && signal !== 0) hold({ call: 'process.kill', signal: signal ?? 'SIGTERM' });
    return processKill.call(process, pid, signal);
  };
}

/** The helper's own exit, never held: Node's `process.exit`, with the binding it calls put back first. */
export function exitProcess(code: number): never {
  (process as unknown as ProcessWithReallyExit).reallyExit = reallyExit;
  process.exit = processExit;
  return processExit.call(process, code);
}
