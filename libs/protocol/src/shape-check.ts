/**
 * What a request may not make a server hold before it is checked: a Tensor's `shape` is a packed list of
 * varints, so a message within its size limit can declare tens of millions of one-byte dimensions, and
 * decoding it materialises them all (a 46 MB field became 1.65 GB and a 1.9 s stall for one push of a
 * 5.8M-parameter model). This reads the wire bytes, without decoding them, and measures every Tensor's shape
 * field first; a tensor has a handful of dimensions, so anything beyond MAX_SHAPE_BYTES is refused.
 */

/** The bytes a Tensor's shape may take: 8 dimensions of up to 5 varint bytes each. */
export const MAX_SHAPE_BYTES = 40;

/** For each method whose request carries Tensors: the field numbers that hold them (GradientUpdate's gradient, buffers, params). */
export const TENSOR_FIELDS: Readonly<Record<string, readonly number[]>> = {
  PushGradient: [6, 9, 12],
  PushGradientStream: [6, 9, 12],
};

const TENSOR_SHAPE_FIELD = 1;

function varint(buf: Uint8Array, at: number): [number, number] | null {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= buf.length) return null;
    const b = buf[at++]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, at];
    scale *= 128;
  }
  return null;
}

/** Calls `visit(field, start, end)` for every length-delimited field of the message in buf[start..end); false when the bytes do not parse. */
function eachDelimited(buf: Uint8Array, start: number, end: number, visit: (field: number, from: number, to: number) => void): boolean {
  let at = start;
  while (at < end) {
    const tag = varint(buf, at);
    if (!tag) return false;
    at = tag[1];
    const field = Math.floor(tag[0] / 8);
    const wire = tag[0] % 8;
    if (wire === 0) {
      const v = varint(buf, at);
      if (!v) return false;
      at = v[1];
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const len = varint(buf, at);
      if (!len || len[1] + len[0] > end) return false;
      visit(field, len[1], len[1] + len[0]);
      at = len[1] + len[0];
    } else return false; // groups: not in our protocol
  }
  return at === end;
}

/**
 * The first Tensor field of `method`'s request whose shape is longer than MAX_SHAPE_BYTES, as "field N: M bytes";
 * null when all are within it, or when the bytes do not parse (the decoder then says what is wrong).
 */
export function oversizedShape(method: string, bytes: Uint8Array): string | null {
  const fields = TENSOR_FIELDS[method];
  if (!fields) return null;
  let found: string | null = null;
  eachDelimited(bytes, 0, bytes.length, (field, from, to) => {
    if (found || !fields.includes(field)) return;
    let shapeBytes = 0;
    eachDelimited(bytes, from, to, (inner, a, b) => {
      if (inner === TENSOR_SHAPE_FIELD) shapeBytes += b - a;
    });
    if (shapeBytes > MAX_SHAPE_BYTES) found = `field ${field}'s shape takes ${shapeBytes} bytes (a tensor's dimensions take at most ${MAX_SHAPE_BYTES})`;
  });
  return found;
}
