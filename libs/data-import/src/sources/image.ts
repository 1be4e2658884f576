import sharp from 'sharp';
import { ImportError } from '../errors';

/** How images become features: resized to width x height (stretched, as torchvision's Resize((h, w)) does), grey or RGB, uint8. */
export interface ImageShape {
  width: number;
  height: number;
  /** 1: greyscale; 3: RGB. */
  channels: 1 | 3;
}

/** One sample's shape for `s`: (height, width), or (height, width, 3). */
export function imageSampleShape(s: ImageShape): number[] {
  return s.channels === 1 ? [s.height, s.width] : [s.height, s.width, 3];
}

/**
 * Decodes an encoded image (PNG, JPEG, WebP, GIF, TIFF, ...; sharp's libvips) into `s`'s uint8 row. Greyscale is
 * Pillow's convert('L') (ITU-R 601-2 luma, L = (19595 R + 38470 G + 7471 B + 2^15) >> 16), which torchvision's
 * Grayscale applies, so a grey image here has the pixels a PyTorch user's pipeline sees.
 */
export async function decodeImage(input: string | Uint8Array, s: ImageShape, where: string): Promise<Uint8Array> {
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    const image = sharp(input, { failOn: 'error' }).removeAlpha().resize(s.width, s.height, { fit: 'fill' }).toColourspace('srgb');
    raw = await image.raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ImportError(`${where}: cannot decode the image (${(err as Error).message})`);
  }
  const { data, info } = raw;
  const pixels = info.width * info.height;
  if (info.channels !== 1 && info.channels !== 3) throw new ImportError(`${where}: decoded to ${info.channels} channels, expected 1 or 3`);
  if (info.channels === s.channels) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(pixels * s.channels);
  if (s.channels === 3) {
    // A grey image asked for in RGB: the same value in every channel.
    for (let i = 0; i < pixels; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = data[i]!;
  } else {
    for (let i = 0; i < pixels; i++) out[i] = (19595 * data[3 * i]! + 38470 * data[3 * i + 1]! + 7471 * data[3 * i + 2]! + 0x8000) >>> 16;
  }
  return out;
}

/** Parses --size: "28x28" (width x height) or "32" (square). */
export function parseSize(text: string): { width: number; height: number } {
  const m = /^(\d{1,5})(?:x(\d{1,5}))?$/.exec(text.trim());
  const width = m ? Number(m[1]) : NaN;
  const height = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(width >= 1 && height >= 1 && width * height <= 4096 * 4096)) throw new ImportError(`--size ${JSON.stringify(text)}: expected WIDTHxHEIGHT (e.g. 28x28) or one number for a square`);
  return { width, height };
}

/**
 * Every promise's value, in order; when some fail, the first failure in order (not the first to settle), so the
 * file an import names does not depend on which decode finished first.
 */
export async function allInOrder<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}
