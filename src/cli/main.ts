import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { defaultConfig, loadConfig } from '../config/load.js';
import { checkReportDir } from '../config/report-dir.js';
import { MAX_TIMEOUT_SECONDS } from '../config/schema.js';
import { ExitCode, ExitError, isImgtestError, UsageError } from '../errors.js';
import { labDown, labHosts, labStatus, labUp } from '../lab/index.js';
import { imageLimitsFrom, validateImageFile } from '../image/validate.js';
import { ConsoleReporter } from '../report/console.js';
import { JsonReporter } from '../report/json.js';
import { JunitReporter } from '../report/junit.js';
import { CleanupRegistry } from '../runner/cleanup.js';
import { executeRun, selectSuites } from '../runner/executor.js';
import { requireEnoughHosts } from '../runner/preflight.js';
import { builtInSuites } from '../suites.js';

const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`not a positive whole number: ${value}`);
  return n;
}

/** Bounded: Node's timers overflow past about 24.8 days and would fire at once. */
function parseTimeoutSeconds(value: string): number {
  const n = parsePositiveInt(value);
  if (n > MAX_TIMEOUT_SECONDS) throw new UsageError(`--timeout ${value}: at most ${MAX_TIMEOUT_SECONDS} seconds (one day)`);
  return n;
}

function buildProgram(cleanup: CleanupRegistry, abort: AbortController): Command {
  const program = new Command('imgtest')
    .description('Validate VM images by booting them as real libvirt/QEMU guests')
    .version(version)
    .exitOverride();

  program
    .command('run')
    .description('boot the image on the hosts, run the suites, write JUnit + JSON reports')
    .argument('<image>', 'qcow2 or raw disk image (never modified)')
    .option('--suite <id...>', `suites to run (default: all): ${builtInSuites.map((s) => s.id).join(', ')}`)
    .option('--config <file>', 'YAML config (hosts, guest size, suite options)')
    .option('--report-dir <dir>', 'where reports go (a sub-folder per run; default: reports)')
    .addOption(new Option('--firmware <firmware>', 'firmware to boot with; auto (default): every firmware the image claims (ESP + EFI/BOOT/BOOTX64.EFI -> uefi, MBR boot code -> bios, signed loader -> uefi-secureboot), each suite once per firmware').choices(['auto', 'bios', 'uefi', 'uefi-secureboot']))
    .addOption(new Option('--accel <accel>', 'hardware acceleration').choices(['auto', 'kvm', 'tcg']))
    .option('--keep', 'leave guests running and print how to reach them', false)
    .option('--timeout <seconds>', 'boot deadline per guest, power-on to cloud-init done', parseTimeoutSeconds)
    .action(async (imagePath: string, opts: { suite?: string[]; config?: string; reportDir?: string; firmware?: 'auto'; accel?: 'auto'; keep: boolean; timeout?: number }) => {
      const config = opts.config ? await loadConfig(opts.config) : defaultConfig();
      const suites = selectSuites(opts.suite, builtInSuites);
      // Input checks before anything is hashed, written, or sent to a host (each exits 2 with one line).
      requireEnoughHosts(suites, config.hosts?.length ?? labHosts().length);
      await checkReportDir(opts.reportDir ?? config.reportDir, opts.reportDir ? '--report-dir' : opts.config ? `${opts.config}: reportDir` : 'report dir');
      await validateImageFile(imagePath, { limits: imageLimitsFrom(config.image) });
      const consoleReporter = new ConsoleReporter(process.stdout);
      const result = await executeRun({
        imagePath, suites, config, firmware: opts.firmware, accel: opts.accel, reportDir: opts.reportDir, keep: opts.keep,
        bootTimeoutSeconds: opts.timeout, reporters: [consoleReporter], cleanup, signal: abort.signal, version,
      }).finally(async () => {
        const failures = await cleanup.runAll();
        for (const failure of failures) process.stderr.write(`imgtest: cleanup: ${failure}\n`);
      });
      for (const reporter of [new JunitReporter(), new JsonReporter()]) await reporter.onRunEnd(result);
      await consoleReporter.onRunEnd?.(result);
      throw new ExitError(result.exitCode);
    });

  const lab = program.command('lab').description('the local two-host lab (two libvirt hosts in namespaces on this machine)');
  lab
    .command('up')
    .description('start the lab (idempotent; repairs a half-started lab)')
    .action(async () => {
      const status = await labUp({ log: (line) => process.stdout.write(`${line}\n`) });
      for (const host of status.hosts) process.stdout.write(`${host.name}  ${host.uri}\n`);
    });
  lab
    .command('status')
    .description('hosts, URIs, versions and domains')
    .option('--json', 'machine-readable output', false)
    .action(async (opts: { json: boolean }) => {
      const status = await labStatus();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return;
      }
      process.stdout.write(`lab: ${status.up ? 'up' : 'down'} (${status.stateDir})\n`);
      for (const host of status.hosts) {
        process.stdout.write(`${host.name}  ${host.running ? 'running' : 'stopped'}  ${host.uri}\n`);
        if (host.running) process.stdout.write(`    libvirt ${host.libvirtVersion ?? '?'}, QEMU ${host.qemuVersion ?? '?'}, host UUID ${host.hostUuid ?? '?'}, domains: ${host.domains.join(', ') || 'none'}\n`);
      }
    });
  lab
    .command('down')
    .description('remove everything lab up made')
    .action(async () => {
      await labDown({ log: (line) => process.stdout.write(`${line}\n`) });
    });

  program
    .command('suites')
    .description('list the built-in suites and their checks')
    .action(() => {
      for (const suite of builtInSuites) {
        process.stdout.write(`${suite.id}  ${suite.title}\n`);
        for (const check of suite.checks) process.stdout.write(`    ${check.id.padEnd(28)} ${check.severity.padEnd(6)} ${check.title}\n`);
      }
    });
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const cleanup = new CleanupRegistry();
  const abort = new AbortController();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(ExitCode.infrastructure);
    interrupted = true;
    process.stderr.write(`\nimgtest: ${signal}: stopping and cleaning up (again to force)\n`);
    abort.abort();
    void cleanup.runAll().then((failures) => {
      for (const failure of failures) process.stderr.write(`imgtest: cleanup: ${failure}\n`);
      process.exit(ExitCode.infrastructure);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await buildProgram(cleanup, abort).parseAsync(argv as string[], { from: 'node' });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof ExitError) return error.exitCode;
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (isImgtestError(error)) {
      process.stderr.write(`imgtest: ${error.message} [${error.code}]\n`);
      return error.exitCode;
    }
    process.stderr.write(`imgtest: internal error: ${error instanceof Error ? (process.env['IMGTEST_DEBUG'] ? error.stack : error.message) : String(error)}\n`);
    return ExitCode.infrastructure;
  }
}

const exitCode = await main(process.argv);
process.exit(exitCode);
