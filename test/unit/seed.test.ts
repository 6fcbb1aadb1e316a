import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderMetaData, renderUserData } from '../../src/hosts/seed.js';

const spec = { instanceId: 'iid-imgtest-r1-g1', hostname: 'imgtest-r1-g1', user: 'imgtest', authorizedKeys: ['ssh-ed25519 AAAAC3Nza imgtest-r1'] };

describe('NoCloud seed', () => {
  it('meta-data carries the instance-id and hostname', () => {
    expect(parse(renderMetaData(spec))).toEqual({ 'instance-id': 'iid-imgtest-r1-g1', 'local-hostname': 'imgtest-r1-g1' });
  });

  it('user-data is cloud-config creating the test user with the key and sudo, and nothing about passwords', () => {
    const text = renderUserData(spec);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const data = parse(text) as { users: Record<string, unknown>[] } & Record<string, unknown>;
    expect(data.users[0]).toMatchObject({ name: 'imgtest', sudo: 'ALL=(ALL) NOPASSWD:ALL', lock_passwd: true, ssh_authorized_keys: spec.authorizedKeys });
    expect(data).not.toHaveProperty('ssh_pwauth');
    expect(data).not.toHaveProperty('chpasswd');
  });
});
