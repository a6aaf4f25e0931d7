// Does an image hold what its manifest says? The store's own comparison,
// plus the size, asked of an image that is not in a store yet (an export
// being checked or imported).
import { manifestDisagreement, type Manifest } from '../store/index.js';
import type { ImageInfo } from './image-file.js';

/** What in `manifest` disagrees with the image, in words, or null when they agree. */
export function disagreement(info: ImageInfo, manifest: Manifest): string | null {
  if (info.size !== manifest.imageSize) return `the image has ${info.size} bytes but its manifest says ${manifest.imageSize}`;
  return manifestDisagreement(info, manifest);
}
