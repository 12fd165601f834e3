// A QR code encoder (byte mode, error correction level M, versions 1-10: links up to
// 213 bytes) drawn as SVG, for the wall screen's display-token link. Written after the
// ISO/IEC 18004 procedure as laid out in Project Nayuki's QR Code generator (MIT), with the mask chosen by the standard's penalty rules.

const NS = 'http://www.w3.org/2000/svg';

// Level M per version: [EC codewords per block, [blocks, data codewords]…].
const BLOCKS = [
  null,
  [10, [1, 16]],
  [16, [1, 28]],
  [26, [1, 44]],
  [18, [2, 32]],
  [24, [2, 43]],
  [16, [4, 27]],
  [18, [4, 31]],
  [22, [2, 38], [2, 39]],
  [22, [3, 36], [2, 37]],
  [26, [4, 43], [1, 44]],
];
const ALIGN = [null, [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50]];

function mul(x, y) {
  let z = 0;
  for (let i = 7; i >= 0; i -= 1) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d);
    z ^= ((y >>> i) & 1) * x;
  }
  return z & 0xff;
}

function divisor(degree) {
  const r = new Array(degree - 1).fill(0).concat([1]);
  let root = 1;
  for (let i = 0; i < degree; i += 1) {
    for (let j = 0; j < r.length; j += 1) {
      r[j] = mul(r[j], root);
      if (j + 1 < r.length) r[j] ^= r[j + 1];
    }
    root = mul(root, 2);
  }
  return r;
}

function remainder(data, div) {
  const r = div.map(() => 0);
  data.forEach((b) => {
    const f = b ^ r.shift();
    r.push(0);
    div.forEach((c, i) => {
      r[i] ^= mul(c, f);
    });
  });
  return r;
}

const dataCodewords = (v) => BLOCKS[v].slice(1).reduce((n, [b, d]) => n + b * d, 0);

/** The codewords (data, then error correction, interleaved) of `bytes` at version `v`. */
function codewords(bytes, v) {
  const capacity = dataCodewords(v);
  const bits = [];
  const push = (val, len) => {
    for (let i = len - 1; i >= 0; i -= 1) bits.push((val >>> i) & 1);
  };
  push(4, 4);
  push(bytes.length, v < 10 ? 8 : 16);
  bytes.forEach((b) => push(b, 8));
  push(0, Math.min(4, capacity * 8 - bits.length));
  push(0, (8 - (bits.length % 8)) % 8);
  for (let pad = 0xec; bits.length < capacity * 8; pad ^= 0xec ^ 0x11) push(pad, 8);
  const data = [];
  for (let i = 0; i < bits.length; i += 8) data.push(parseInt(bits.slice(i, i + 8).join(''), 2));
  const [ec, ...groups] = BLOCKS[v];
  const div = divisor(ec);
  const blocks = [];
  let k = 0;
  groups.forEach(([count, len]) => {
    for (let b = 0; b < count; b += 1) {
      const d = data.slice(k, k + len);
      k += len;
      blocks.push({ d, e: remainder(d, div) });
    }
  });
  const out = [];
  const longest = Math.max(...blocks.map((b) => b.d.length));
  for (let i = 0; i < longest; i += 1) blocks.forEach((b) => i < b.d.length && out.push(b.d[i]));
  for (let i = 0; i < ec; i += 1) blocks.forEach((b) => out.push(b.e[i]));
  return out;
}

/** The module matrix (true = dark) of `text`, or null when it is too long. */
export function qrMatrix(text) {
  const bytes = [...new TextEncoder().encode(text)];
  let v = 1;
  while (v <= 10 && 4 + (v < 10 ? 8 : 16) + bytes.length * 8 > dataCodewords(v) * 8) v += 1;
  if (v > 10) return null;
  const size = 17 + 4 * v;
  const m = Array.from({ length: size }, () => new Array(size).fill(false));
  const fn = Array.from({ length: size }, () => new Array(size).fill(false));
  const set = (x, y, dark) => {
    m[y][x] = dark;
    fn[y][x] = true;
  };
  for (let i = 0; i < size; i += 1) {
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  [[3, 3], [size - 4, 3], [3, size - 4]].forEach(([cx, cy]) => {
    for (let dy = -4; dy <= 4; dy += 1) {
      for (let dx = -4; dx <= 4; dx += 1) {
        const d = Math.max(Math.abs(dx), Math.abs(dy));
        const x = cx + dx;
        const y = cy + dy;
        if (x >= 0 && x < size && y >= 0 && y < size) set(x, y, d !== 2 && d !== 4);
      }
    }
  });
  const al = ALIGN[v];
  al.forEach((ax, i) =>
    al.forEach((ay, j) => {
      const last = al.length - 1;
      if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) return;
      for (let dy = -2; dy <= 2; dy += 1) for (let dx = -2; dx <= 2; dx += 1) set(ax + dx, ay + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
    }),
  );
  const format = (mask) => {
    const data = (0 << 3) | mask; // level M is 00
    let rem = data;
    for (let i = 0; i < 10; i += 1) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
    const bits = ((data << 10) | rem) ^ 0x5412;
    const bit = (i) => ((bits >>> i) & 1) === 1;
    for (let i = 0; i <= 5; i += 1) set(8, i, bit(i));
    set(8, 7, bit(6));
    set(8, 8, bit(7));
    set(7, 8, bit(8));
    for (let i = 9; i < 15; i += 1) set(14 - i, 8, bit(i));
    for (let i = 0; i < 8; i += 1) set(size - 1 - i, 8, bit(i));
    for (let i = 8; i < 15; i += 1) set(8, size - 15 + i, bit(i));
    set(8, size - 8, true);
  };
  format(0); // reserves the format areas
  if (v >= 7) {
    let rem = v;
    for (let i = 0; i < 12; i += 1) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
    const bits = (v << 12) | rem;
    for (let i = 0; i < 18; i += 1) {
      const dark = ((bits >>> i) & 1) === 1;
      const a = size - 11 + (i % 3);
      const b = Math.floor(i / 3);
      set(a, b, dark);
      set(b, a, dark);
    }
  }
  const cw = codewords(bytes, v);
  let i = 0;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let vert = 0; vert < size; vert += 1) {
      for (let j = 0; j < 2; j += 1) {
        const x = right - j;
        const upward = ((right + 1) & 2) === 0;
        const y = upward ? size - 1 - vert : vert;
        if (!fn[y][x]) {
          m[y][x] = i < cw.length * 8 ? ((cw[i >>> 3] >>> (7 - (i & 7))) & 1) === 1 : false;
          i += 1;
        }
      }
    }
  }
  // Of the eight masks, the one with the lowest penalty (fewest look-alikes of finder
  // patterns, long runs and blocks), so scanners lock on easily.
  const unmasked = m.map((row) => row.slice());
  let best = null;
  for (let mask = 0; mask < 8; mask += 1) {
    for (let y = 0; y < size; y += 1) for (let x = 0; x < size; x += 1) m[y][x] = unmasked[y][x] !== (!fn[y][x] && MASKS[mask](x, y));
    format(mask);
    const score = penalty(m);
    if (!best || score < best.score) best = { score, mask, copy: m.map((row) => row.slice()) };
  }
  return best.copy;
}

const MASKS = [
  (x, y) => (x + y) % 2 === 0,
  (x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

/** The ISO/IEC 18004 mask penalty of a matrix (rules 1-4). */
function penalty(m) {
  const n = m.length;
  let score = 0;
  const line = (get) => {
    let run = 1;
    let s = 0;
    for (let i = 1; i <= n; i += 1) {
      if (i < n && get(i) === get(i - 1)) run += 1;
      else {
        if (run >= 5) s += 3 + (run - 5);
        run = 1;
      }
    }
    // 1:1:3:1:1 finder look-alikes with four light modules on either side.
    for (let i = 0; i + 10 < n; i += 1) {
      const w = [...Array(11)].map((_, k) => get(i + k));
      const a = !w[0] && !w[1] && !w[2] && !w[3] && w[4] && !w[5] && w[6] && w[7] && w[8] && !w[9] && w[10];
      const b = w[0] && !w[1] && w[2] && w[3] && w[4] && !w[5] && w[6] && !w[7] && !w[8] && !w[9] && !w[10];
      if (a || b) s += 40;
    }
    return s;
  };
  for (let y = 0; y < n; y += 1) score += line((x) => m[y][x]);
  for (let x = 0; x < n; x += 1) score += line((y) => m[y][x]);
  let dark = 0;
  for (let y = 0; y < n; y += 1) {
    for (let x = 0; x < n; x += 1) {
      if (m[y][x]) dark += 1;
      if (x + 1 < n && y + 1 < n && m[y][x] === m[y][x + 1] && m[y][x] === m[y + 1][x] && m[y][x] === m[y + 1][x + 1]) score += 3;
    }
  }
  score += Math.floor(Math.abs((dark * 20) / (n * n) - 10)) * 10;
  return score;
}

/** An SVG of the QR code of `text` (with its quiet zone), labelled `label`. */
export function qrSvg(text, label) {
  const m = qrMatrix(text);
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('class', 'qr');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  if (!m) return svg;
  const n = m.length + 8;
  svg.setAttribute('viewBox', `0 0 ${n} ${n}`);
  const bg = document.createElementNS(NS, 'rect');
  bg.setAttribute('width', n);
  bg.setAttribute('height', n);
  bg.setAttribute('class', 'qr-bg');
  svg.append(bg);
  let d = '';
  m.forEach((row, y) => row.forEach((dark, x) => {
    if (dark) d += `M${x + 4},${y + 4}h1v1h-1z`;
  }));
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', d);
  path.setAttribute('class', 'qr-fg');
  svg.append(path);
  return svg;
}
