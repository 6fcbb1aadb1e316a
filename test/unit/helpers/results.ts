/**
 * Factories for the report model (CaseResult, SuiteResult, RunResult, ImageInfo), for reporter tests.
 * Each returns a complete, plausible value; pass what a test depends on as overrides.
 */
import type { ImageInfo } from '../../../src/suite-api/index.js';
import type { CaseResult, RunResult, SuiteResult } from '../../../src/report/model.js';
import { HYBRID_BOOT } from './fake-guest.js';

export function caseResult(overrides: Partial<CaseResult> = {}): CaseResult {
  return {
    checkId: 'ci-status',
    title: 'cloud-init finished',
    severity: 'must',
    status: 'passed',
    message: 'cloud-init finished, no errors',
    durationMs: 1000,
    attachments: [],
    ...overrides,
  };
}

export function suiteResult(overrides: Partial<SuiteResult> = {}): SuiteResult {
  return {
    suiteId: 'cloud-init',
    title: 'cloud-init',
    firmware: 'uefi',
    guests: [],
    cases: [caseResult()],
    attachments: [],
    properties: {},
    startedAt: '2026-11-25T18:10:00.000Z',
    durationMs: 12_300,
    ...overrides,
  };
}

export function imageInfo(overrides: Partial<ImageInfo> = {}): ImageInfo {
  return {
    path: '/images/debian-12.qcow2',
    name: 'debian-12',
    format: 'qcow2',
    virtualSize: 2 * 1024 ** 3,
    actualSize: 1,
    sha256: 'ab'.repeat(32),
    boot: HYBRID_BOOT,
    ...overrides,
  };
}

export function runResult(overrides: Partial<RunResult> = {}): RunResult {
  return {
    runId: 'abc',
    imgtestVersion: '0.1.0',
    startedAt: '2026-11-25T18:09:00.000Z',
    finishedAt: '2026-11-25T18:20:00.000Z',
    durationMs: 660_000,
    image: imageInfo(),
    hosts: [{ name: 'hv1', uri: 'qemu+ssh://hv1/system', libvirtVersion: '9.0.0', qemuVersion: '7.2.0' }],
    firmware: 'uefi',
    accel: 'tcg',
    reportDir: '/reports/abc',
    suites: [suiteResult()],
    verdict: 'passed',
    exitCode: 0,
    ...overrides,
  };
}
