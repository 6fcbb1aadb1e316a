import { describe, expect, it } from 'vitest';
import { libvirtUriProblem } from '../../src/config/libvirt-uri.js';

describe('libvirtUriProblem', () => {
  it.each([
    'qemu:///system',
    'qemu:///session',
    'qemu+ssh://root@hv1/system',
    'qemu+ssh://root@hv1:2222/system?keyfile=/root/.ssh/id_ed25519',
    'qemu+tcp://10.0.0.1/system',
    'qemu+tcp://10.0.0.1:16509/system',
    'qemu+tls://hv1.example.com/system',
    'qemu://hv1.example.com/system',
    'qemu+unix:///system?socket=/run/libvirt/libvirt-sock',
    'qemu+ssh://root@[fe80::1]/system',
    'qemu+libssh2://root@hv1/system?known_hosts=/root/.ssh/known_hosts',
    'qemu+ext:///system?command=/usr/local/bin/connect',
    // The lab's own URIs (src/lab/host-config.ts).
    'qemu+ssh://root@10.77.0.1/system?keyfile=/var/lib/imgtest-lab/ssh/id_ed25519&command=/var/lib/imgtest-lab/ssh/ssh',
  ])('accepts %s', (uri) => {
    expect(libvirtUriProblem(uri)).toBeUndefined();
  });

  it.each([
    ['not a uri', /white space/],
    ['', /not a URI/],
    ['hv1', /not a URI/],
    ['/var/run/libvirt/libvirt-sock', /not a URI/],
    ['qemu+ssh:/hv1/system', /not a URI/],
    ['xen:///system', /driver 'xen' is not supported/],
    ['qemu+telnet://hv1/system', /unknown transport 'telnet'/],
    ['qemu+ssh:///system', /transport 'ssh' needs a host/],
    ['qemu+tcp:///system', /transport 'tcp' needs a host/],
    ['qemu+tcp://hv1:port/system', /does not parse/],
    ['qemu+ssh://root@hv1', /path '' is not one of/],
    ['qemu+ssh://root@hv1/sytem', /path '\/sytem'/],
    ['qemu+ext:///system', /needs \?command=/],
  ])('refuses %j', (uri, problem) => {
    expect(libvirtUriProblem(uri)).toMatch(problem);
  });
});
