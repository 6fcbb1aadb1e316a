import { createSocket } from 'node:dgram';

/**
 * A minimal SNTP client (RFC 4330 packet layout): one request, one reply. `imgtest doctor` asks the lab's
 * NTP server with it; the packet functions are pure so tests can build and read packets themselves.
 */

export const NTP_PORT = 123;
const PACKET_BYTES = 48;
/** Seconds from the NTP era (1900-01-01) to the Unix epoch. */
const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;

/** An NTP timestamp (seconds since 1900, 32.32 fixed point) at offset `at` of `packet`, as Unix milliseconds. */
function readTimestamp(packet: Buffer, at: number): number {
  const seconds = packet.readUInt32BE(at);
  const fraction = packet.readUInt32BE(at + 4);
  if (seconds === 0 && fraction === 0) return 0;
  return (seconds - NTP_UNIX_OFFSET_SECONDS) * 1000 + (fraction / 2 ** 32) * 1000;
}

function writeTimestamp(packet: Buffer, at: number, unixMs: number): void {
  const seconds = Math.floor(unixMs / 1000);
  packet.writeUInt32BE((seconds + NTP_UNIX_OFFSET_SECONDS) >>> 0, at);
  packet.writeUInt32BE(Math.floor(((unixMs - seconds * 1000) / 1000) * 2 ** 32) >>> 0, at + 4);
}

/** A client request: LI 0, version 4, mode 3 (client), with `nowMs` as its transmit timestamp. */
export function ntpClientPacket(nowMs: number = Date.now()): Buffer {
  const packet = Buffer.alloc(PACKET_BYTES);
  packet[0] = (0 << 6) | (4 << 3) | 3;
  writeTimestamp(packet, 40, nowMs);
  return packet;
}

export interface NtpReply {
  /** Leap indicator: 0 none, 3 the server is not synchronised. */
  leap: number;
  version: number;
  /** 4 for a server's reply. */
  mode: number;
  stratum: number;
  /** Stratum 1: four ASCII characters (e.g. GPS); above: an IPv4 address (127.127.1.1 for chrony's local reference). */
  referenceId: string;
  /** The client's transmit timestamp copied back, Unix ms (0: none). */
  originateMs: number;
  receiveMs: number;
  transmitMs: number;
}

/** Reads a reply; throws when it is not an NTP packet. */
export function parseNtpReply(packet: Buffer): NtpReply {
  if (packet.length < PACKET_BYTES) throw new Error(`an NTP packet has at least ${PACKET_BYTES} bytes, got ${packet.length}`);
  const first = packet[0]!;
  const stratum = packet[1]!;
  const id = packet.subarray(12, 16);
  return {
    leap: first >> 6,
    version: (first >> 3) & 7,
    mode: first & 7,
    stratum,
    referenceId: stratum <= 1 ? id.toString('latin1').replace(/\0+$/, '') : [...id].join('.'),
    originateMs: readTimestamp(packet, 24),
    receiveMs: readTimestamp(packet, 32),
    transmitMs: readTimestamp(packet, 40),
  };
}

export interface NtpAnswer {
  reply: NtpReply;
  /** The server's clock minus ours, from the four timestamps (RFC 4330: ((T2 - T1) + (T3 - T4)) / 2). */
  offsetMs: number;
  roundTripMs: number;
}

/** The clock offset and round trip of one exchange: sent at t1, received at t4 (both ours, Unix ms). */
export function ntpOffset(reply: NtpReply, t1: number, t4: number): { offsetMs: number; roundTripMs: number } {
  return { offsetMs: (reply.receiveMs - t1 + (reply.transmitMs - t4)) / 2, roundTripMs: t4 - t1 - (reply.transmitMs - reply.receiveMs) };
}

/** Sends one client request to `address` and waits for the server's reply (mode 4) to it. */
export async function queryNtp(address: string, options: { port?: number; timeoutMs?: number } = {}): Promise<NtpAnswer> {
  const socket = createSocket('udp4');
  try {
    return await new Promise<NtpAnswer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no NTP reply from ${address} within ${options.timeoutMs ?? 2000} ms`)), options.timeoutMs ?? 2000);
      const t1 = Date.now();
      const request = ntpClientPacket(t1);
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.on('message', (message) => {
        const t4 = Date.now();
        let reply: NtpReply;
        try {
          reply = parseNtpReply(message);
        } catch {
          return; // not NTP: keep waiting
        }
        // Only the answer to this request: it carries our transmit timestamp back.
        if (reply.mode !== 4 || !message.subarray(24, 32).equals(request.subarray(40, 48))) return;
        clearTimeout(timer);
        resolve({ reply, ...ntpOffset(reply, t1, t4) });
      });
      socket.send(request, options.port ?? NTP_PORT, address, (error) => {
        if (error) {
          clearTimeout(timer);
          reject(error);
        }
      });
    });
  } finally {
    socket.close();
  }
}
