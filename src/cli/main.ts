import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { defaultConfigSource, loadConfigSource } from '../config/load.js';
import { parseDatasourceList, requireMetadataReach } from '../config/datasources.js';
import { checkReportDir } from '../config/report-dir.js';
import { MAX_TIMEOUT_SECONDS } from '../config/schema.js';
import { loadWaivers } from '../config/waivers.js';
import { ExitCode, ExitError, isImgtestError, UsageError } from '../errors.js';
import { labDown, labHosts, labStatus, labUp, leaveLab, useLab } from '../lab/index.js';
import { registerRun, unregisterRun } from '../lab/run-registry.js';
import { addCleanCommand } from '../clean/command.js';
import { addDoctorCommand } from '../doctor/command.js';
import { imageLimitsFrom, validateImageFile } from '../image/validate.js';
import { ConsoleReporter } from '../report/console.js';
import { JUNIT_FILE_NAME } from '../report/junit.js';
import { CleanupRegistry } from '../runner/cleanup.js';
import { executeRun, selectSuites } from '../runner/executor.js';
import { runToReport } from '../runner/run-lifecycle.js';
import { RunRecord } from '../runner/run-record.js';
import { requireEnoughHosts } from '../runner/preflight.js';
import { loadSuites } from '../plugins/load-suites.js';
import { resolveSuite, validateSuiteOptions } from '../plugins/suite-options.js';
import { CheckSelection, checkTags } from '../runner/selection.js';
import { Waivers } from '../runner/waivers.js';
import { retriesOption } from './retries.js';
import { runEnvironment } from './run-environment.js';
import { DATASOURCES, type Datasource, type Suite } from '../suite-api/index.js';

const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`not a positive whole number: ${value}`);
  return n;
}

/** A repeatable option's values, in order. */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Bounded: Node's timers overflow past about 24.8 days and would fire at once. */
function parseTimeoutSeconds(value: string): number {
  const n = parsePositiveInt(value);
  if (n > MAX_TIMEOUT_SECONDS) throw new UsageError(`--timeout ${value}: at most ${MAX_TIMEOUT_SECONDS} seconds (one day)`);
  return n;
}

function buildProgram(cleanup: CleanupRegistry, abort: AbortController, builtInSuites: readonly Suite[]): Command {
  const program = new Command('imgtest').description('Validate VM images by booting them as real libvirt/QEMU guests').version(version).exitOverride();

  program
    .command('run')
    .description('boot the image on the hosts, run the suites, write JUnit + JSON reports')
    .argument('<image>', 'qcow2 or raw disk image (never modified)')
    .option('--suite <id...>', `suites to run (default: all): ${builtInSuites.map((s) => s.id).join(', ')}, and those of --suite-module`)
    .option('--suite-module <path|package...>', "load a third party's suite (a module exporting an imgtest suite); repeatable")
    .option('--check <glob>', 'run only checks whose id matches (ssh-*, or suite-id/check-id); repeatable; the others are reported skipped', collect)
    .option('--skip <glob>', 'do not run checks whose id matches (ssh-weak-*, or suite-id/check-id); repeatable', collect)
    .option('--tag <tag>', 'run only checks with this tag (security, ssh, boot, ...; imgtest suites lists them); repeatable: any of them', collect)
    .option('--exclude-tag <tag>', 'do not run checks with this tag; repeatable', collect)
    .option('--waivers <file>', "YAML waiver file: known failures reported skipped ('waived: <reason>') until they expire (default: the config's waivers)")
    .option('--config <file>', 'YAML config (hosts, guest size, suite options)')
    .option('--report-dir <dir>', 'where reports go (a sub-folder per run; default: reports)')
    .addOption(
      new Option(
        '--firmware <firmware>',
        'firmware to boot with; auto (default): every firmware the image claims (ESP + EFI/BOOT/BOOTX64.EFI -> uefi, MBR boot code -> bios, signed loader -> uefi-secureboot), each suite once per firmware',
      ).choices(['auto', 'bios', 'uefi', 'uefi-secureboot']),
    )
    .addOption(new Option('--accel <accel>', 'hardware acceleration').choices(['auto', 'kvm', 'tcg']))
    .option(
      '--datasource <list>',
      `how guests get their cloud-init data, as a cloud gives it: ${DATASOURCES.join(', ')}; a comma-separated list runs cloud-init-auth once per datasource (default: the config's, else nocloud)`,
      (value: string) => parseDatasourceList(value),
    )
    .option('--keep', 'leave guests running and print how to reach them', false)
    .option('--timeout <seconds>', 'boot deadline per guest, power-on to cloud-init done', parseTimeoutSeconds)
    .addOption(retriesOption())
    .action(
      async (
        imagePath: string,
        opts: {
          suite?: string[];
          suiteModule?: string[];
          check?: string[];
          skip?: string[];
          tag?: string[];
          excludeTag?: string[];
          waivers?: string;
          config?: string;
          reportDir?: string;
          firmware?: 'auto';
          accel?: 'auto';
          datasource?: Datasource[];
          keep: boolean;
          timeout?: number;
          retries?: number;
        },
      ) => {
        const source = opts.config ? await loadConfigSource(opts.config) : defaultConfigSource();
        // Third-party suites: from the command line, and from the config's `plugins` (paths relative to it).
        const plugins = [...(opts.suiteModule ?? []), ...source.config.plugins.map((p) => (opts.config && /^\.\.?\//.test(p) ? resolve(dirname(opts.config), p) : p))];
        const available = plugins.length ? await loadSuites(plugins) : builtInSuites;
        const selected = selectSuites(opts.suite, available);
        // Input checks before anything is hashed, written, or sent to a host (each exits 2).
        // Every suite's options against its schema (every problem, one line each); the validated values
        // are the config's `suites` from here on, and pick each suite's checks for this run.
        const config = { ...source.config, suites: await validateSuiteOptions(available, selected, source) };
        const suites = selected.map((suite) => resolveSuite(suite, config.suites[suite.id]));
        const selection = new CheckSelection(opts.check, opts.skip, { tag: opts.tag, excludeTag: opts.excludeTag });
        selection.requireSome(suites);
        for (const flag of selection.unmatched(suites)) process.stderr.write(`imgtest: warning: ${flag} matches no check of the run\n`);
        // Waivers: the flag's file, or the config's (relative to the config file); checked now, one line per error.
        const waiverFile = opts.waivers ?? (config.waivers && opts.config && !isAbsolute(config.waivers) ? join(dirname(opts.config), config.waivers) : config.waivers);
        const waivers = waiverFile === undefined ? undefined : new Waivers(await loadWaivers(waiverFile), new Date());
        // A suite asked for by name that cannot run is an error; of the default "all", such a suite is
        // listed as skipped with the reason (a single-hypervisor user still gets every other suite).
        // A suite none of whose checks is selected needs no host.
        if (opts.suite?.length)
          requireEnoughHosts(
            suites.filter((suite) => selection.selected(suite).length),
            config.hosts?.length ?? labHosts().length,
          );
        requireMetadataReach(opts.datasource ?? config.datasource, Boolean(config.hosts?.length));
        await checkReportDir(opts.reportDir ?? config.reportDir, opts.reportDir ? '--report-dir' : opts.config ? `${opts.config}: reportDir` : 'report dir');
        // From here on every run leaves a report, however it ends; `latest` points at it already.
        const record = new RunRecord(suites, opts.reportDir ?? config.reportDir, imagePath, version);
        if (selection.active) record.selection = selection;
        record.waivers = waivers;
        // In progress (imgtest clean keeps its leftovers); on the lab's hosts, a holder of the lab's shared lock (lab down refuses).
        await registerRun(record.runId).catch((error: Error) => process.stderr.write(`imgtest: warning: run not registered (imgtest clean will not know it): ${error.message}\n`));
        if (!config.hosts?.length) await useLab(record.runId, { log: (line) => process.stderr.write(`imgtest: ${line}\n`) });
        await record.open();
        const consoleReporter = new ConsoleReporter(process.stdout);
        running = { cleanup, record };
        const end = await runToReport({ record, cleanup, signal: abort.signal, warn: (line) => process.stderr.write(`imgtest: ${line}\n`) }, async () => {
          await validateImageFile(imagePath, { limits: imageLimitsFrom(config.image) });
          return executeRun(
            {
              imagePath,
              suites,
              config,
              firmware: opts.firmware,
              accel: opts.accel,
              datasources: opts.datasource,
              record,
              keep: opts.keep,
              bootTimeoutSeconds: opts.timeout,
              reporters: [consoleReporter],
              cleanup,
              signal: abort.signal,
              selection: selection.active ? selection : undefined,
              retries: opts.retries,
              waivers,
            },
            runEnvironment(config),
          );
        });
        running = undefined;
        await leaveLab(record.runId);
        await unregisterRun(record.runId);
        const { result } = end;
        if (end.error !== undefined) throw end.error; // told in one line by main(); the report says it too
        if (end.interrupted) {
          process.stderr.write(`imgtest: ${end.interrupted}; cleaned up. Report: ${join(result.reportDir, JUNIT_FILE_NAME)}\n`);
          throw new ExitError(ExitCode.infrastructure);
        }
        await consoleReporter.onRunEnd?.(result);
        // A waiver that covered nothing is worth knowing (fixed, or a typo), not worth failing for.
        for (const waiver of waivers?.unused(result.image.name) ?? []) process.stderr.write(`imgtest: warning: waiver ${waiver.check} (${waiver.source}) matched no failure\n`);
        throw new ExitError(result.exitCode);
      },
    );

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
      const net = status.guestNetwork;
      process.stdout.write(
        `guest network ${net.cidr}: DHCP ${net.dhcpServer} (dnsmasq ${net.dhcpRunning ? 'running' : 'stopped'}), NTP ${net.ntpServer} (chronyd ${net.ntpRunning ? 'running' : 'stopped'}, stratum ${net.ntpStratum}, this machine's clock)\n`,
      );
      for (const host of status.hosts) {
        process.stdout.write(`${host.name}  ${host.running ? 'running' : 'stopped'}  ${host.uri}\n`);
        if (host.running)
          process.stdout.write(`    libvirt ${host.libvirtVersion ?? '?'}, QEMU ${host.qemuVersion ?? '?'}, host UUID ${host.hostUuid ?? '?'}, domains: ${host.domains.join(', ') || 'none'}\n`);
      }
    });
  lab
    .command('down')
    .description('remove everything lab up made; refuses while runs use the lab')
    .option('--force', 'stop the runs using the lab first (named as they are stopped)', false)
    .action(async (opts: { force: boolean }) => {
      await labDown({ log: (line) => process.stdout.write(`${line}\n`), force: opts.force });
    });

  addDoctorCommand(program);
  addCleanCommand(program);

  program
    .command('suites')
    .description('list the suites (built in, and those of --suite-module) and their checks')
    .option('--suite-module <path|package...>', 'also list the suites of these modules')
    .action(async (opts: { suiteModule?: string[] }) => {
      for (const suite of opts.suiteModule?.length ? await loadSuites(opts.suiteModule) : builtInSuites) {
        process.stdout.write(`${suite.id}  ${suite.title}\n`);
        if (suite.checksFor) {
          // Which checks a run has depends on the options: say how many run with the defaults.
          const defaults = suite.optionsSchema ? await suite.optionsSchema['~standard'].validate({}) : { value: {} };
          const runs = defaults.issues ? undefined : resolveSuite(suite, defaults.value as Record<string, unknown>).checks.length;
          process.stdout.write(`    (the checks of a run depend on suites.${suite.id} in the config${runs === undefined ? '' : `; with the defaults, ${runs} of ${suite.checks.length}`})\n`);
        }
        // Each check's tags (its suite's and its own), what --tag and --exclude-tag go by.
        for (const check of suite.checks) {
          const tags = checkTags(suite, check);
          process.stdout.write(`    ${check.id.padEnd(28)} ${check.severity.padEnd(6)} ${check.title}${tags.length ? `  [${tags.join(', ')}]` : ''}\n`);
        }
        // What the suite says about itself beyond its checks (e.g. ssh-hardening's severity per policy profile).
        if (typeof suite.details === 'string' && suite.details.trim()) process.stdout.write(`${suite.details.trimEnd().replace(/^(?=.)/gm, '    ')}\n`);
      }
    });
  return program;
}

/** The run under way, if any: what a second Ctrl-C reports on. */
let running: { cleanup: CleanupRegistry; record: RunRecord } | undefined;

export async function main(argv: readonly string[]): Promise<number> {
  const cleanup = new CleanupRegistry();
  const abort = new AbortController();
  let signals = 0;
  // SIGINT (Ctrl-C), SIGTERM (kill, Jenkins aborting a build) and SIGHUP (the terminal closed) alike:
  // the run stops its steps, cleans up once and writes its report. Again: what is still being
  // cleaned; a third time: exit now, leaving it.
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (!running || signals >= 3) {
      if (running) process.stderr.write(`\nimgtest: ${signal} again: exiting now; not cleaned: ${cleanup.pending().join(', ') || 'nothing'}\n`);
      process.exit(ExitCode.infrastructure);
    }
    if (signals === 1) {
      process.stderr.write(`\nimgtest: ${signal}: stopping${running.record.activity ? ` (${running.record.activity})` : ''}, then cleaning up and writing the report (again to see what is left)\n`);
      abort.abort(signal);
      return;
    }
    const left = cleanup.pending();
    process.stderr.write(`\nimgtest: still cleaning up: ${left.length ? left.join(', ') : 'waiting for the steps under way to stop'} (once more to exit now, leaving them)\n`);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  try {
    await buildProgram(cleanup, abort, await loadSuites()).parseAsync(argv as string[], { from: 'node' });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof ExitError) return error.exitCode;
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (isImgtestError(error)) {
      // One line per problem (suite options report every problem at once), each whole by itself.
      for (const line of error.message.split('\n')) process.stderr.write(`imgtest: ${line} [${error.code}]\n`);
      return error.exitCode;
    }
    process.stderr.write(`imgtest: internal error: ${error instanceof Error ? (process.env['IMGTEST_DEBUG'] ? error.stack : error.message) : String(error)}\n`);
    return ExitCode.infrastructure;
  }
}

const exitCode = await main(process.argv);
process.exit(exitCode);
