/**
 * Clean-up steps for a test that starts several things which depend on each other (a browser writing into a folder,
 * a server the browser talks to). node:test runs a test's `t.after` hooks in the order they were added and stops at
 * the first that throws, so a failed step would leave the later ones (a browser process, say) running and the test
 * file would never exit. Here the steps run last in, first out, every one of them, and the errors are thrown after.
 */
import type { TestContext } from 'node:test';

export function cleanupStack(t: TestContext): (step: () => unknown) => void {
  const steps: Array<() => unknown> = [];
  t.after(async () => {
    const errors: unknown[] = [];
    for (const step of steps.reverse()) {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} clean-up steps failed`);
  });
  return (step) => {
    steps.push(step);
  };
}
