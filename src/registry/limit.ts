/**
 * registry/limit — bounded parallelism: at most `n` tasks run at once; the rest wait in order.
 */

export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

export function createLimiter(n: number): Limiter {
  const max = Math.max(1, Math.floor(n));
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/**
 * Runs every task (bounded by the limiter) and waits for all of them to settle; throws the
 * first failure. Tasks not yet started when one fails are skipped.
 */
export async function runAll<T>(
  limit: Limiter,
  items: readonly T[],
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let failed = false;
  const results = await Promise.allSettled(
    items.map((item) =>
      limit(async () => {
        if (failed) return;
        try {
          await fn(item);
        } catch (err) {
          failed = true;
          throw err;
        }
      }),
    ),
  );
  const firstError = results.find((r) => r.status === 'rejected');
  if (firstError) throw (firstError as PromiseRejectedResult).reason;
}
