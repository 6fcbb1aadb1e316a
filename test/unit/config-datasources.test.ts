import { describe, expect, it } from 'vitest';
import { parseDatasourceList, requireMetadataReach, servedOverHttp } from '../../src/config/datasources.js';
import { UsageError } from '../../src/errors.js';

describe('--datasource', () => {
  it('takes a comma-separated list in the order given', () => {
    expect(parseDatasourceList('nocloud,configdrive, ec2-imdsv2-only,exoscale')).toEqual(['nocloud', 'configdrive', 'ec2-imdsv2-only', 'exoscale']);
  });

  it('refuses an unknown name, a doubled one and an empty entry, each in one line naming what is available', () => {
    expect(() => parseDatasourceList('nocloud,azure')).toThrowError(
      new UsageError("--datasource: unknown datasource 'azure' (available: nocloud, configdrive, openstack, ec2, ec2-imdsv2-only, exoscale)"),
    );
    expect(() => parseDatasourceList('ec2,ec2')).toThrowError(/'ec2' is listed twice/);
    expect(() => parseDatasourceList('ec2,')).toThrowError(/a comma-separated list of datasources/);
  });

  it('knows which datasources come over HTTP from imgtest’s metadata service', () => {
    expect(['nocloud', 'configdrive', 'openstack', 'ec2', 'ec2-imdsv2-only', 'exoscale'].filter((d) => servedOverHttp(d as never))).toEqual(['openstack', 'ec2', 'ec2-imdsv2-only', 'exoscale']);
  });

  it('refuses an HTTP datasource on configured hosts (their network is not imgtest’s to redirect), not on the lab', () => {
    expect(() => requireMetadataReach(['nocloud', 'ec2'], true)).toThrowError(/datasource ec2: imgtest's metadata service reaches only the local lab's guests/);
    expect(() => requireMetadataReach(['nocloud', 'configdrive'], true)).not.toThrow();
    expect(() => requireMetadataReach(['exoscale'], false)).not.toThrow();
  });
});
