// The methods of the core capability (RFC 8620): Core/echo and Blob/copy, as a registry the engine dispatches on.
import { blobCopyHandler, type BlobResolver } from './blobs.js';
import type { MethodHandler } from './engine.js';
import { CORE_CAPABILITY } from './errors.js';

/** Core/echo (RFC 8620 4): returns its arguments unchanged (a ping with a payload). */
export const coreEchoHandler: MethodHandler = {
  capability: CORE_CAPABILITY,
  handle: (args) => args,
};

/** The core methods; JMAP Mail adds its own entries to the same map. */
export function coreMethods(blobs: BlobResolver): Map<string, MethodHandler> {
  return new Map<string, MethodHandler>([
    ['Core/echo', coreEchoHandler],
    ['Blob/copy', blobCopyHandler(blobs)],
  ]);
}
