// Opens the agent's control channel: an inherited file descriptor (a socket
// pair from the host, "fd:3"), a unix socket ("unix:/path") or a character
// device such as a virtio console or serial port ("dev:/dev/hvc1",
// "dev:/dev/vport0p1").
import net from 'node:net';
import fs from 'node:fs';
import { Duplex } from 'node:stream';

export function openChannel(spec: string): Duplex {
  if (spec.startsWith('fd:')) return new net.Socket({ fd: Number(spec.slice(3)), readable: true, writable: true });
  if (spec.startsWith('unix:')) return net.connect(spec.slice(5));
  if (spec.startsWith('dev:')) {
    // One open file for both directions: a virtio serial port allows a single
    // opener at a time (a second open fails with EBUSY).
    const fd = fs.openSync(spec.slice(4), 'r+');
    const readable = fs.createReadStream('', { fd, highWaterMark: 64 * 1024, autoClose: false });
    const writable = fs.createWriteStream('', { fd, autoClose: false });
    return Duplex.from({ readable, writable });
  }
  throw new Error(`unknown agent channel "${spec}": use fd:N, unix:/path or dev:/path`);
}
