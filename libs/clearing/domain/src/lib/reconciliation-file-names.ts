import { createHash } from 'node:crypto';

/** The longest file name (in bytes) the common file systems (ext4, APFS, NTFS) accept. */
const FILE_NAME_MAX_BYTES = 255;
const KEPT = /^[A-Za-z0-9_-]$/;

/**
 * A merchant or batch id as part of a file name, injective and safe on disk: every UTF-8 byte
 * other than `A-Za-z0-9_-` percent-encoded (`%` itself too), so distinct ids never share a name
 * (terminal `T:1` and `T_1` used to become one file), and no part is `.`, `..`, hidden or holds a
 * path separator. An encoding longer than `room` bytes is replaced by `sha256.<hex of the id>`:
 * encodings never contain `.`, so the two forms never meet.
 */
export function fileNamePart(id: string, room: number = FILE_NAME_MAX_BYTES): string {
  let encoded = '';
  for (const byte of new TextEncoder().encode(id)) {
    const c = String.fromCharCode(byte);
    encoded += KEPT.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded.length <= room ? encoded : `sha256.${createHash('sha256').update(id, 'utf8').digest('hex')}`;
}

/** The directory of a merchant's files under the clearing date's directory. */
export function merchantDirectoryName(merchantId: string): string {
  return fileNamePart(merchantId);
}

export function batchFileName(batchId: string): string {
  const [prefix, suffix] = ['batch_', '.csv'];
  return `${prefix}${fileNamePart(batchId, FILE_NAME_MAX_BYTES - prefix.length - suffix.length)}${suffix}`;
}

export function merchantDayFileName(merchantId: string, clearingDate: string): string {
  const [prefix, suffix] = ['merchant_', `_${clearingDate}.csv`];
  return `${prefix}${fileNamePart(merchantId, FILE_NAME_MAX_BYTES - prefix.length - suffix.length)}${suffix}`;
}
