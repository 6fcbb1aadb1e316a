/**
 * Everything a run creates registers how to undo it here, as soon as it exists. `runAll` undoes in
 * reverse order and never stops at a failing step, so a half-finished run still leaves nothing behind.
 */
export class CleanupRegistry {
  private readonly steps: { label: string; undo: () => Promise<void> }[] = [];
  private running?: Promise<string[]>;

  add(label: string, undo: () => Promise<void>): void {
    this.steps.push({ label, undo });
  }

  get size(): number {
    return this.steps.length;
  }

  /** What is still to undo, newest first (said when the user presses Ctrl-C again). */
  pending(): string[] {
    return this.steps.map((s) => s.label).reverse();
  }

  /** Runs every step once, newest first; returns the failures as "label: message" lines. */
  runAll(): Promise<string[]> {
    this.running ??= (async () => {
      const failures: string[] = [];
      while (this.steps.length) {
        const step = this.steps.pop()!;
        try {
          await step.undo();
        } catch (error) {
          failures.push(`${step.label}: ${(error as Error).message}`);
        }
      }
      return failures;
    })();
    return this.running;
  }
}
