import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { ntpClientPacket, ntpOffset, parseNtpReply, queryNtp } from '../../src/lab/ntp.js';

/** A server reply: stratum, reference id, and receive/transmit times (Unix ms); originate copied from the request. */
function serverReply(request: Buffer, fields: { stratum: number; refId: number[]; receiveMs: number; transmitMs: number; leap?: number }): Buffer {
  const reply = Buffer.alloc(48);
  reply[0] = ((fields.leap ?? 0) << 6) | (4 << 3) | 4;
  reply[1] = fields.stratum;
  Buffer.from(fields.refId).copy(reply, 12);
  request.copy(reply, 24, 40, 48);
  const put = (at: number, ms: number) => {
    const seconds = Math.floor(ms / 1000);
    reply.writeUInt32BE(seconds + 2_208_988_800, at);
    reply.writeUInt32BE(Math.floor(((ms - seconds * 1000) / 1000) * 2 ** 32), at + 4);
  };
  put(32, fields.receiveMs);
  put(40, fields.transmitMs);
  return reply;
}

describe('NTP packets', () => {
  it('a client request is 48 bytes: LI 0, version 4, mode 3, with its transmit time', () => {
    const packet = ntpClientPacket(Date.UTC(2026, 10, 30, 12, 0, 0, 500));
    expect(packet.length).toBe(48);
    expect(packet[0]).toBe(0x23);
    expect(packet.readUInt32BE(40)).toBe(Date.UTC(2026, 10, 30, 12, 0, 0) / 1000 + 2_208_988_800);
    expect(packet.readUInt32BE(44)).toBe(2 ** 31);
    expect(parseNtpReply(packet)).toMatchObject({ leap: 0, version: 4, mode: 3, stratum: 0, transmitMs: Date.UTC(2026, 10, 30, 12, 0, 0, 500) });
  });

  it('reads a server reply: mode 4, stratum, chrony’s local reference id, timestamps', () => {
    const t = Date.UTC(2026, 10, 30, 6, 20, 50, 250);
    const request = ntpClientPacket(t);
    const reply = parseNtpReply(serverReply(request, { stratum: 10, refId: [127, 127, 1, 1], receiveMs: t + 1, transmitMs: t + 2 }));
    expect(reply).toMatchObject({ leap: 0, version: 4, mode: 4, stratum: 10, referenceId: '127.127.1.1' });
    expect(reply.originateMs).toBeCloseTo(t, 3);
    expect(reply.transmitMs).toBeCloseTo(t + 2, 3);
    expect(parseNtpReply(serverReply(request, { stratum: 1, refId: [0x47, 0x50, 0x53, 0], receiveMs: t, transmitMs: t })).referenceId).toBe('GPS');
  });

  it('refuses a short packet', () => {
    expect(() => parseNtpReply(Buffer.alloc(47))).toThrow(/48 bytes/);
  });

  it('computes offset and round trip from the four timestamps', () => {
    // Server 100 ms ahead, 10 ms each way, 2 ms in the server.
    const reply = { leap: 0, version: 4, mode: 4, stratum: 10, referenceId: '', originateMs: 1000, receiveMs: 1110, transmitMs: 1112 };
    expect(ntpOffset(reply, 1000, 1022)).toEqual({ offsetMs: 100, roundTripMs: 20 });
  });
});

describe('queryNtp', () => {
  it('asks a server on loopback and takes its answer to this request only', async () => {
    const server = createSocket('udp4');
    server.on('message', (request, peer) => {
      // First a stray reply (wrong originate), then the real one.
      const stray = serverReply(ntpClientPacket(0), { stratum: 2, refId: [1, 2, 3, 4], receiveMs: Date.now(), transmitMs: Date.now() });
      server.send(stray, peer.port, peer.address);
      server.send(serverReply(request, { stratum: 10, refId: [127, 127, 1, 1], receiveMs: Date.now(), transmitMs: Date.now() }), peer.port, peer.address);
    });
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', () => resolve()));
    try {
      const answer = await queryNtp('127.0.0.1', { port: server.address().port, timeoutMs: 2000 });
      expect(answer.reply).toMatchObject({ mode: 4, stratum: 10, referenceId: '127.127.1.1' });
      expect(Math.abs(answer.offsetMs)).toBeLessThan(1000);
    } finally {
      server.close();
    }
  });

  it('gives up after its timeout when nothing answers', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
    try {
      await expect(queryNtp('127.0.0.1', { port: silent.address().port, timeoutMs: 200 })).rejects.toThrow(/no NTP reply from 127.0.0.1 within 200 ms/);
    } finally {
      silent.close();
    }
  });
});
