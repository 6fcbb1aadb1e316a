import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ExitError } from '../errors.js';
import { runDoctor } from './doctor.js';

/** `imgtest doctor [--config FILE]` (exit 0: ready; 3: a required item is missing or broken). */
export function addDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'check the hosts (libvirt, QEMU, KVM, UEFI/Secure Boot firmware, pool, guest network) and this machine (SSH reach to guests, tools); exit 3 when something required is missing or broken',
    )
    .option('--config <file>', 'YAML config whose hosts to check (default: the local lab)')
    .action(async (opts: { config?: string }) => {
      const config = opts.config ? await loadConfig(opts.config) : undefined;
      const code = await runDoctor({ config, out: (line) => process.stdout.write(`${line}\n`) });
      throw new ExitError(code as 0 | 3);
    });
}
