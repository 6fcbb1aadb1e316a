/** What the suite uses of the machine it runs on, injectable so tests run without clocks or waits. */

export interface SuiteTools {
  /** Epoch ms (the imgtest machine's clock stands in for the hosts'). */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realTools: SuiteTools = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
