import { readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { ImportError } from '../errors';
import { allInOrder, decodeImage, imageSampleShape, type ImageShape } from './image';
import type { Sample } from './sample';

/** File extensions read as images (torchvision's IMG_EXTENSIONS, less the ones libvips lacks). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.bmp', '.gif', '.webp', '.tif', '.tiff', '.pgm', '.ppm'];

/** Images decoded at once: libvips decodes in its own threads, so a few in flight keep them busy. */
const IN_FLIGHT = 8;

/**
 * torchvision's ImageFolder layout: ROOT/<class>/<image>, a class a sub-folder, classes in sorted order. With
 * ROOT/train/<class>/... and ROOT/test/<class>/... the two splits are the source's own.
 */
export interface ImageFolderLayout {
  /** Class names, sorted: a label is the position of its sub-folder. */
  classes: string[];
  files: { path: string; cls: string; split?: 'train' | 'test' }[];
}

export function imageFolderLayout(root: string): ImageFolderLayout {
  const dirs = (d: string) =>
    readdirSync(d, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  const top = dirs(root);
  const splits = top.includes('train') && top.includes('test') ? (['train', 'test'] as const) : null;
  const files: ImageFolderLayout['files'] = [];
  const classesOf = (base: string, split?: 'train' | 'test') => {
    const classes = dirs(base);
    for (const cls of classes) {
      const images = readdirSync(join(base, cls))
        .filter((f) => !f.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()))
        .sort();
      for (const f of images) files.push({ path: join(base, cls, f), cls, ...(split ? { split } : {}) });
    }
    return classes;
  };
  let classes: string[];
  if (splits) {
    classes = classesOf(join(root, 'train'), 'train');
    const testClasses = classesOf(join(root, 'test'), 'test');
    const missing = testClasses.filter((c) => !classes.includes(c));
    if (missing.length) throw new ImportError(`${join(root, 'test')}: class folder(s) ${missing.join(', ')} are not in ${join(root, 'train')}`);
  } else {
    classes = classesOf(root);
  }
  if (classes.length === 0) throw new ImportError(`${root}: no class sub-folders (ImageFolder layout: ${root}/<class>/<image>.png)`);
  if (files.length === 0) throw new ImportError(`${root}: no images (${IMAGE_EXTENSIONS.join(' ')}) in its class folders`);
  for (const cls of classes) {
    if (!files.some((f) => f.cls === cls)) throw new ImportError(`${join(root, splits ? 'train' : '', cls)}: a class folder with no images`);
  }
  return { classes, files };
}

/** Every image of the layout, decoded in order (a few at a time). */
export async function* imageFolderSamples({ files }: ImageFolderLayout, shape: ImageShape): AsyncGenerator<Sample> {
  const sampleShape = imageSampleShape(shape);
  for (let first = 0; first < files.length; first += IN_FLIGHT) {
    const batch = files.slice(first, first + IN_FLIGHT);
    const decoded = await allInOrder(batch.map((f) => decodeImage(f.path, shape, f.path)));
    for (let i = 0; i < batch.length; i++) {
      const f = batch[i]!;
      yield { features: decoded[i]!, shape: sampleShape, label: f.cls, where: f.path, ...(f.split ? { split: f.split } : {}) };
    }
  }
}
