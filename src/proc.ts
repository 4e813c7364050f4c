/**
 * proc — facts about other processes of this machine that several parts need, and the hold a
 * long-lived helper process (the launcher's shells, the system call helper) has on the event
 * loop.
 */
import type { ChildProcess } from 'node:child_process';

/** True while process `pid` exists (EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Keeps the event loop alive for a helper `child` while it works for this process, and only
 * then: its exit and its stdout are referenced while `busy`, and its stdin never is.
 */
export function holdWhileBusy(child: ChildProcess, busy: boolean): void {
  const out = child.stdout as unknown as { ref(): void; unref(): void };
  if (busy) {
    child.ref();
    out.ref();
  } else {
    child.unref();
    out.unref();
  }
  (child.stdin as unknown as { unref(): void }).unref();
}
