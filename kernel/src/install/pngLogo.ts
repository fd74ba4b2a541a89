import { deflateSync } from "node:zlib";

/**
 * Draws the kernel logo (three pipeline nodes joined by edges, on pipebook blue) and encodes it as
 * a PNG, so the kernelspec ships real images at any size without binary files in the repo.
 */
export function logoPng(size: number): Buffer {
  const px = new Uint8Array(size * size * 4);
  const s = size / 64;
  const nodes: [number, number][] = [[16 * s, 20 * s], [48 * s, 20 * s], [32 * s, 46 * s]];
  const r = 8 * s;
  const distToSegment = (x: number, y: number, a: [number, number], b: [number, number]): number => {
    const [ax, ay] = a; const [bx, by] = b;
    const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
    return Math.hypot(x - (ax + t * (bx - ax)), y - (ay + t * (by - ay)));
  };
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const cx = x + 0.5; const cy = y + 0.5;
      const i = (y * size + x) * 4;
      // Rounded square background.
      const m = 6 * s; const k = Math.max(Math.abs(cx - size / 2) - (size / 2 - m), 0) ** 2 + Math.max(Math.abs(cy - size / 2) - (size / 2 - m), 0) ** 2;
      if (k > m * m) continue;
      let [R, G, B] = [0x30, 0x78, 0xc6];
      const onEdge = distToSegment(cx, cy, nodes[0]!, nodes[2]!) < 2.2 * s || distToSegment(cx, cy, nodes[1]!, nodes[2]!) < 2.2 * s;
      const onNode = nodes.some(([nx, ny]) => Math.hypot(cx - nx, cy - ny) < r);
      if (onEdge || onNode) [R, G, B] = [0xff, 0xff, 0xff];
      if (nodes.some(([nx, ny]) => Math.hypot(cx - nx, cy - ny) < r * 0.45)) [R, G, B] = [0xf5, 0xa6, 0x23];
      px[i] = R; px[i + 1] = G; px[i + 2] = B; px[i + 3] = 255;
    }
  }
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    Buffer.from(px.buffer, y * size * 4, size * 4).copy(raw, y * (size * 4 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length, 0);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td), 0);
  return Buffer.concat([len, td, crc]);
}

const TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
