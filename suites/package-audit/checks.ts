/** The package-audit checks. Each reads the guest through ./guest.ts and judges with the pure functions beside it. */
import { randomUUID } from 'node:crypto';
import { skip, type Check, type CheckContext, type GuestHandle } from './api.js';
import { checkPolicy, describePackage, globToRegExp, isPresent, judgeDatabase, judgeKernel, parseDpkgSearch, parseVerify } from './dpkg.js';
import { dpkgFamily, inventory, inventoryExcerpt, listSome, loadFeed, oneLine, onEveryGuest, options, run, transcript, verdict, withoutSudoNoise, type GuestVerdict } from './guest.js';
import type { OsRelease } from './os-release.js';
import { buildSbom } from './sbom.js';
import { assess, describeFinding, shortFinding, type Assessment, type Finding } from './vuln-feed.js';

export const dpkgAuditCheck: Check = {
  id: 'pkg-dpkg-audit',
  title: 'the package database is healthy: dpkg --audit clean, no half-installed or unconfigured package',
  severity: 'must',
  run: (context) =>
    onEveryGuest(context, async (guest) => {
      const gate = await dpkgFamily(context, guest);
      if (!gate.ok) return gate.outcome;
      const audit = await run(guest, ['dpkg', '--audit']);
      const inv = await inventory(context, guest);
      const health = judgeDatabase(audit.result.stdout, inv.inventory);
      const states = new Map<string, number>();
      for (const p of inv.inventory.packages) states.set(p.state, (states.get(p.state) ?? 0) + 1);
      const stateSummary = [...states].map(([s, n]) => `${n} ${s}`).join(', ');
      const evidence = [audit.evidence, `${inv.summary}: ${stateSummary}`, ...health.broken.map((p) => p.line)].join('\n');
      if (audit.result.exitCode !== 0 && !audit.result.stdout.trim()) {
        throw new Error(`dpkg --audit failed (exit ${audit.result.exitCode}): ${oneLine(audit.result.stderr, 200)}`);
      }
      if (!health.ok) {
        const parts: string[] = [];
        if (health.broken.length)
          parts.push(`${health.broken.length} package(s) not cleanly installed: ${listSome(health.broken.map((p) => `${p.name} (${p.flag === 'ok' ? p.state : `${p.flag}, ${p.state}`})`))}`);
        if (health.auditText) parts.push(`dpkg --audit: ${oneLine(health.auditText.split('\n')[0] ?? '', 120)}`);
        return verdict(false, parts.join('; '), evidence);
      }
      return verdict(true, `dpkg --audit prints nothing; ${stateSummary}`, evidence);
    }),
};

export const integrityCheck: Check = {
  id: 'pkg-integrity',
  title: 'no package-owned file other than a conffile changed since installation (dpkg --verify)',
  severity: 'must',
  tags: ['security'],
  run: (context) =>
    onEveryGuest(context, async (guest) => {
      const opts = options(context);
      const gate = await dpkgFamily(context, guest);
      if (!gate.ok) return gate.outcome;
      const argv = ['dpkg', '--verify'];
      const result = await guest.exec(argv, { sudo: true, timeoutMs: opts.verifyTimeoutSeconds * 1000 });
      const parsed = parseVerify(result.stdout);
      const stderr = withoutSudoNoise(result.stderr).trim();
      if (result.exitCode !== 0 && !parsed.lines.length && stderr) {
        throw new Error(`sudo dpkg --verify failed (exit ${result.exitCode}): ${oneLine(stderr, 200)}`);
      }
      const ignore = opts.integrityIgnore.map(globToRegExp);
      const changed = parsed.lines.filter((l) => l.digestChanged && !l.conffile);
      const accepted = changed.filter((l) => ignore.some((re) => re.test(l.path)));
      const modified = changed.filter((l) => !accepted.includes(l));
      const conffiles = parsed.lines.filter((l) => l.digestChanged && l.conffile).length;
      const missing = parsed.lines.filter((l) => l.missing).length;
      const evidence = [transcript(argv, result, { sudo: true })];
      const notes = [`${conffiles} conffile(s) changed (allowed)`, `${missing} file(s) missing`];
      if (accepted.length) notes.push(`${accepted.length} change(s) accepted by integrityIgnore: ${listSome(accepted.map((l) => l.path))}`);
      if (!modified.length) return verdict(true, `no packaged non-config file changed since installation; ${notes.join(', ')}`, evidence.join('\n'));
      const paths = modified.map((l) => l.path);
      const owners = await run(guest, ['dpkg', '-S', ...paths]);
      evidence.push(owners.evidence);
      const byPath = parseDpkgSearch(owners.result.stdout);
      const named = paths.map((p) => `${p} (${byPath.get(p)?.join(', ') ?? 'owner unknown'})`);
      return verdict(false, `${modified.length} packaged non-config file(s) changed since installation: ${listSome(named, 4)}`, evidence.join('\n'));
    }),
};

function policyCheck(kind: 'required' | 'forbidden'): Check['run'] {
  return (context) =>
    onEveryGuest(context, async (guest) => {
      const opts = options(context);
      const gate = await dpkgFamily(context, guest);
      if (!gate.ok) return gate.outcome;
      const inv = await inventory(context, guest);
      const entries = kind === 'required' ? opts.required : [...new Set([...opts.forbidden, ...opts.extraForbidden])];
      const policy = checkPolicy(entries, inv.inventory);
      const found = policy.matches.flatMap((m) => m.found);
      const evidenceHead = `${kind} (${entries.length}): ${entries.join(' ')}`;
      if (kind === 'required') {
        const absent = policy.matches.filter((m) => !m.found.length).map((m) => m.entry);
        const evidence = [
          evidenceHead,
          inventoryExcerpt(
            inv,
            found.map((p) => p.name),
          ),
          ...absent.map((a) => `(absent: ${a})`),
        ].join('\n');
        if (absent.length) return verdict(false, `required package(s) not installed: ${absent.join(', ')}`, evidence);
        return verdict(true, `all ${entries.length} required packages installed: ${listSome(found.map(describePackage), 8)}`, evidence);
      }
      const evidence = [
        evidenceHead,
        inventoryExcerpt(
          inv,
          found.map((p) => p.name),
        ),
      ].join('\n');
      if (found.length) return verdict(false, `forbidden package(s) installed: ${listSome(found.map(describePackage), 8)}`, evidence);
      return verdict(true, `none of the ${entries.length} forbidden packages is installed`, evidence);
    });
}

export const requiredCheck: Check = {
  id: 'pkg-required',
  title: 'the packages the policy requires are installed',
  severity: 'must',
  run: policyCheck('required'),
};

export const forbiddenCheck: Check = {
  id: 'pkg-forbidden',
  title: 'no package the policy forbids (telnetd, rsh-server, inetd and the like) is installed',
  severity: 'must',
  tags: ['security'],
  run: policyCheck('forbidden'),
};

export const kernelCheck: Check = {
  id: 'pkg-kernel-current',
  title: 'the running kernel is the newest installed kernel package',
  severity: 'must',
  tags: ['boot', 'security'],
  run: (context) =>
    onEveryGuest(context, async (guest) => {
      const gate = await dpkgFamily(context, guest);
      if (!gate.ok) return gate.outcome;
      const uname = await run(guest, ['uname', '-r']);
      const release = uname.result.stdout.trim();
      if (uname.result.exitCode !== 0 || !release) throw new Error(`uname -r failed (exit ${uname.result.exitCode}): ${oneLine(uname.result.stderr, 200)}`);
      const inv = await inventory(context, guest);
      const judged = judgeKernel(release, inv.inventory);
      const evidence = [
        uname.evidence,
        inventoryExcerpt(
          inv,
          inv.inventory.packages.filter((p) => p.name.startsWith('linux-image-')).map((p) => p.name),
        ),
      ].join('\n');
      return verdict(judged.ok, judged.message, evidence);
    }),
};

function ecosystemFor(os: OsRelease): string | undefined {
  if (!os.versionId) return undefined;
  if (os.id === 'debian') return `Debian:${os.versionId}`;
  if (os.id === 'ubuntu') return `Ubuntu:${os.versionId}`;
  return `${os.id.charAt(0).toUpperCase()}${os.id.slice(1)}:${os.versionId}`;
}

function findingLines(title: string, findings: readonly Finding[]): string[] {
  return findings.length ? [`${title} (${findings.length}):`, ...findings.map((f) => `  ${describeFinding(f)}`)] : [`${title}: none`];
}

function assessmentEvidence(a: Assessment): string[] {
  return [
    ...findingLines('Fix available, not installed', a.fixed),
    ...findingLines('Unfixed (no fix released)', a.unfixed),
    ...findingLines('Below the urgency threshold', a.belowThreshold),
    ...findingLines('Ignored by ignoreVulnerabilities', a.ignored),
    `Not affected (${a.notAffected.length}):`,
    ...a.notAffected.map((n) => `  ${n.advisory.id} ${n.advisory.package} ${n.installedVersion}: ${n.reason}`),
    ...(a.problems.length ? ['Could not compare:', ...a.problems.map((p) => `  ${p}`)] : []),
  ];
}

function findingJson(f: Finding) {
  return {
    id: f.advisory.id,
    aliases: f.advisory.aliases,
    package: f.advisory.package,
    installedVersion: f.installedVersion,
    fixedVersion: f.advisory.fixedVersion ?? null,
    urgency: f.advisory.urgency,
    binaries: f.binaries.map((b) => ({ name: b.name, version: b.version, arch: b.arch })),
    summary: f.advisory.summary,
  };
}

export const vulnerabilitiesCheck: Check = {
  id: 'pkg-vulnerabilities',
  title: 'installed package versions against the configured vulnerability feed',
  severity: 'must',
  tags: ['security'],
  run: async (context) => {
    const opts = options(context);
    if (!opts.vulnerabilityFeed) return skip('no vulnerabilityFeed configured for package-audit: nothing to compare the installed versions against');
    return onEveryGuest(context, async (guest) => {
      const gate = await dpkgFamily(context, guest);
      if (!gate.ok) return gate.outcome;
      const scope = { release: opts.release ?? gate.os.versionCodename, ecosystem: opts.ecosystem ?? ecosystemFor(gate.os) };
      const loaded = await loadFeed(context, opts.vulnerabilityFeed!, scope, opts.feedTimeoutSeconds);
      const inv = await inventory(context, guest);
      const installed = inv.inventory.packages.filter(isPresent);
      const a = assess(loaded.feed, installed, { minUrgency: opts.minUrgency, ignore: opts.ignoreVulnerabilities });
      const scopeText = loaded.feed.format === 'osv' ? `OSV, ecosystem ${scope.ecosystem}` : `Debian security tracker, release ${scope.release}`;
      await context.artifacts.write(
        artifactName('vulnerabilities', guest, context, 'json'),
        `${JSON.stringify({ feed: loaded.source, format: loaded.feed.format, scope, failOn: opts.failOn, minUrgency: opts.minUrgency, fixed: a.fixed.map(findingJson), unfixed: a.unfixed.map(findingJson), belowThreshold: a.belowThreshold.map(findingJson), ignored: a.ignored.map(findingJson) }, null, 2)}\n`,
      );
      const evidence = [
        `feed: ${loaded.source} (${loaded.bytes} bytes; ${scopeText}; ${loaded.feed.advisories.length} advisories in scope)`,
        ...loaded.feed.notes.map((n) => `feed note: ${n}`),
        `policy: failOn=${opts.failOn}, minUrgency=${opts.minUrgency}`,
        `${inv.summary}; ${a.sourcesChecked} source packages compared by source version`,
        ...assessmentEvidence(a),
      ].join('\n');
      const fixedText = a.fixed.length ? `${a.fixed.length} fix(es) not installed: ${listSome(a.fixed.map(shortFinding), 4)}` : 'no available fix missing';
      const unfixedText = a.unfixed.length
        ? `${a.unfixed.length} unfixed: ${listSome(
            a.unfixed.map((f) => `${f.advisory.id} (${f.advisory.package})`),
            4,
          )}`
        : 'no unfixed issue';
      const message = `${fixedText}; ${unfixedText} (${scopeText}, minUrgency ${opts.minUrgency})`;
      const failing = opts.failOn === 'none' ? false : opts.failOn === 'any' ? a.fixed.length + a.unfixed.length > 0 : a.fixed.length > 0;
      return verdict(!failing, message, evidence);
    });
  },
};

function artifactName(base: string, guest: GuestHandle, context: CheckContext, ext: string): string {
  return context.guests.length > 1 ? `${base}-${guest.name.replace(/[^A-Za-z0-9._-]+/g, '_')}.${ext}` : `${base}.${ext}`;
}

export const sbomCheck: Check = {
  id: 'pkg-sbom',
  title: "a CycloneDX SBOM of the image's installed packages is written as an artifact",
  severity: 'must',
  run: (context) =>
    onEveryGuest(context, async (guest): Promise<GuestVerdict> => {
      const gate = await dpkgFamily(context, guest);
      if (!gate.ok) return { status: 'skip', message: gate.outcome.message, evidence: gate.outcome.evidence ?? '' };
      const inv = await inventory(context, guest);
      const packages = inv.inventory.packages.filter(isPresent);
      const sbom = buildSbom({ packages, os: gate.os, image: context.image, timestamp: new Date().toISOString(), serial: randomUUID() });
      const name = artifactName('sbom', guest, context, 'cdx.json');
      const path = await context.artifacts.write(name, `${JSON.stringify(sbom, null, 2)}\n`);
      const purls = (sbom.components as { purl: string }[]).map((c) => c.purl);
      const evidence = [inv.summary, `wrote ${path}: CycloneDX 1.5, ${purls.length} components`, ...purls.slice(0, 5).map((p) => `  ${p}`), purls.length > 5 ? `  … (${purls.length - 5} more)` : '']
        .filter(Boolean)
        .join('\n');
      return verdict(true, `CycloneDX 1.5 SBOM of ${purls.length} installed packages written to ${name}`, evidence);
    }),
};
