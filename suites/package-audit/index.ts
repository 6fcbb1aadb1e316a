/**
 * Package audit: dpkg database health, integrity of packaged files, must-have / must-not-have
 * packages, the booted kernel, known vulnerabilities from a feed, and a CycloneDX SBOM.
 *
 * Reads one guest (shared with other read-only suites). On distributions that are not Debian- or
 * Ubuntu-based (from /etc/os-release) every check skips with that reason.
 * Uses only the public suite API, as a third-party suite would.
 *
 * Options (this suite's section of the run config, all optional; see ./options.ts):
 *   required, forbidden, extraForbidden, integrityIgnore, verifyTimeoutSeconds,
 *   vulnerabilityFeed, failOn, minUrgency, ignoreVulnerabilities, release, ecosystem, feedTimeoutSeconds.
 */
import { defineSuite } from './api.js';
import { optionsSchema } from './options.js';
import { dpkgAuditCheck, forbiddenCheck, integrityCheck, kernelCheck, requiredCheck, sbomCheck, vulnerabilitiesCheck } from './checks.js';

export const packageAuditSuite = defineSuite({
  id: 'package-audit',
  title: 'Installed packages: database health, integrity, policy lists, kernel, vulnerabilities, SBOM',
  description:
    "Reads the guest's dpkg database: dpkg --audit and package states, dpkg --verify for changed non-config files, " +
    'required and forbidden packages, the running kernel against the newest installed one, installed versions ' +
    'against a Debian security tracker or OSV feed (Debian version ordering), and writes a CycloneDX 1.5 SBOM.',
  tags: ['packages'],
  requires: { guests: { count: 1, placement: 'any', sharing: 'shared' } },
  optionsSchema,
  checks: [dpkgAuditCheck, integrityCheck, requiredCheck, forbiddenCheck, kernelCheck, vulnerabilitiesCheck, sbomCheck],
});

export default packageAuditSuite;
