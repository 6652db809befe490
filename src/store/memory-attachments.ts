/**
 * Attachments' bytes in this process's memory, by content hash, up to a byte budget: past it the
 * least recently used go first (a history that names one gone tells the model it is no longer
 * available). The default of every WSServer.
 */
import { createHash } from 'node:crypto';

/** Bytes (base64 text) of attachments kept in memory unless configured (64 MiB). */
export const DEFAULT_ATTACHMENT_MEMORY_BYTES = 64 * 1024 * 1024;

/** The reference of `data` (base64) of `mediaType`: `sha256-<hex>` of both. */
export function attachmentRef(mediaType: string, data: string): string {
  return `sha256-${createHash('sha256').update(mediaType).update('\0').update(data).digest('hex')}`;
}

/**
 * An attachment store (the core's `AttachmentStore`, declared here by shape: stores import only
 * the core's ports) in memory, holding at most `maxBytes` of base64 text.
 */
export function memoryAttachmentStore(options: { maxBytes?: number } = {}): {
  put(mediaType: string, data: string): string;
  get(ref: string): Promise<{ mediaType: string; data: string } | undefined>;
} {
  const maxBytes = options.maxBytes ?? DEFAULT_ATTACHMENT_MEMORY_BYTES;
  // A Map iterates in insertion order: re-inserting on use makes its first entry the least recently used.
  const entries = new Map<string, { mediaType: string; data: string }>();
  let held = 0;
  return {
    put(mediaType, data) {
      const ref = attachmentRef(mediaType, data);
      const existing = entries.get(ref);
      if (existing) {
        entries.delete(ref);
        entries.set(ref, existing);
        return ref;
      }
      entries.set(ref, { mediaType, data });
      held += data.length;
      for (const [oldest, entry] of entries) {
        if (held <= maxBytes || oldest === ref) break;
        entries.delete(oldest);
        held -= entry.data.length;
      }
      return ref;
    },
    get(ref) {
      const entry = entries.get(ref);
      if (entry) {
        entries.delete(ref);
        entries.set(ref, entry);
      }
      return Promise.resolve(entry);
    },
  };
}
