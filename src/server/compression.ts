/**
 * permessage-deflate, as `enableCompression` configures it. Deflate costs CPU per frame, and a
 * chat stream is many small frames: the settings below decide which frames pay for it.
 */
import type { PerMessageDeflateOptions } from 'ws';

/** How frames are compressed when `enableCompression` is an object (`true` takes every default). */
export interface CompressionOptions {
  /**
   * Frames smaller than this are sent uncompressed; 0 compresses every frame. Holds only without
   * `contextTakeover` (with it, ws compresses every frame). @default DEFAULT_COMPRESSION_THRESHOLD_BYTES
   */
  readonly thresholdBytes?: number;
  /**
   * Keep each direction's deflate window from frame to frame. Many similar small frames then
   * shrink ~5x (their envelope repeats), at the price of a deflate for every frame, however small
   * (the threshold no longer applies). Off: each frame above the threshold is compressed on its own.
   * @default false
   */
  readonly contextTakeover?: boolean;
  /** zlib compression level, 1 (fastest) to 9 (smallest). @default DEFAULT_COMPRESSION_LEVEL */
  readonly level?: number;
  /**
   * zlib memory level, 1 (least memory, slower) to 9. A connection that has compressed a frame
   * keeps a deflate state of 128 KiB + 2^(memLevel + 9) bytes (256 KiB at 8, 136 KiB at 4).
   * @default DEFAULT_COMPRESSION_MEM_LEVEL
   */
  readonly memLevel?: number;
}

/** Frames below this size go out as they are: a streamed chunk's frame is far below it. */
export const DEFAULT_COMPRESSION_THRESHOLD_BYTES = 1024;
/** The fastest level: a chat frame is short-lived, and CPU per frame is what a server runs out of. */
export const DEFAULT_COMPRESSION_LEVEL = 1;
/** zlib's own default. */
export const DEFAULT_COMPRESSION_MEM_LEVEL = 8;
/** ws's own default: deflates running at once per process (zlib runs on the thread pool). */
const CONCURRENCY_LIMIT = 10;

/** The `perMessageDeflate` option for ws from `enableCompression`. */
export function perMessageDeflateOf(
  option: boolean | CompressionOptions | undefined,
): false | PerMessageDeflateOptions {
  if (option === undefined || option === false) return false;
  const settings: CompressionOptions = option === true ? {} : option;
  const contextTakeover = settings.contextTakeover ?? false;
  return {
    threshold: settings.thresholdBytes ?? DEFAULT_COMPRESSION_THRESHOLD_BYTES,
    serverNoContextTakeover: !contextTakeover,
    clientNoContextTakeover: !contextTakeover,
    zlibDeflateOptions: {
      level: settings.level ?? DEFAULT_COMPRESSION_LEVEL,
      memLevel: settings.memLevel ?? DEFAULT_COMPRESSION_MEM_LEVEL,
    },
    concurrencyLimit: CONCURRENCY_LIMIT,
  };
}
