import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ExitError } from '../errors.js';
import { runClean } from './clean.js';

/** `imgtest clean [--dry-run] [--config FILE]` (exit 0; 3 when a host did not answer or a removal failed). */
export function addCleanCommand(program: Command): void {
  program
    .command('clean')
    .description('remove what runs no longer in progress left on the hosts: domains with their NVRAM, volumes in every pool, temporary pools, lab DHCP leases')
    .option('--dry-run', 'print what would be removed; remove nothing', false)
    .option('--config <file>', 'YAML config whose hosts to clean (default: the local lab)')
    .action(async (opts: { dryRun: boolean; config?: string }) => {
      const config = opts.config ? await loadConfig(opts.config) : undefined;
      const code = await runClean({ config, dryRun: opts.dryRun, out: (line) => process.stdout.write(`${line}\n`) });
      throw new ExitError(code as 0 | 3);
    });
}
