/* Content-addressed analysis cache.
 *
 * Analysing a song or a clip takes seconds to minutes; trying several styles
 * or lengths on the same footage must not analyse it again. Entries are
 * keyed by a SHA-256 over the file's identity and content and the analyser's
 * name, version and parameters, so a changed file or parameter never returns
 * a stale result; values are msgpack (msgpack-cxx) with a schema version and
 * a CRC-32 of the payload (zlib's crc32_z(): it catches a damaged entry,
 * which is all it is for, in well under a millisecond for a 10,000-shot
 * clip; SHA-256 is for keys only).
 *
 * On disk: one file per entry, DIR/xx/KEY.entry (xx = first two hex digits of
 * the key), written to a temporary file beside it (DIR/xx/KEY.entry.XXXXXX,
 * g_file_set_contents_full()) and renamed into place, so concurrent
 * processes and crashes never leave a half entry. A truncated,
 * corrupt, foreign or older-schema entry reads as a miss, is logged (GStreamer
 * debug category "montagecache") and removed so it is recomputed. The total
 * size is bounded: after each store, least recently used entries (by file
 * modification time, refreshed on every hit) are evicted until the total is
 * within the limit.
 *
 * Entry layout (little-endian), a 24-byte header then the payload: "GMCE"
 * magic (4 bytes), u32 schema version, u32 kind (CacheKind), u64 payload
 * length in bytes, u32 CRC-32 of the payload; then the payload.
 */
#pragma once

#include <gst/montage/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace montage {

/* What an entry holds; part of the key and checked on load. */
enum class CacheKind : guint32 {
  kSong = 1,      /* SongAnalysis */
  kClip = 2,      /* ClipAnalysis */
  kAdtsIndex = 3, /* an ADTS frame index (adts.h) */
};

/* Version of the payload encodings below: bump when encode_* changes. */
constexpr guint32 kCacheSchemaVersion = 1;

/* Identity of one analysis: which file, analysed by what, with which
 * parameters. `params` must list every parameter that changes the result
 * (e.g. "threshold=27;min-shot-length=500000000"). */
struct CacheKeyInput {
  std::string path;
  std::string analyser;      /* e.g. "montagescene" */
  std::string version;       /* the analyser's result version */
  std::string params;
  bool verify = false;       /* hash the whole file instead of its first and last MiB */
};

/* The hex SHA-256 key (64 characters) over: a format tag, the kind, the
 * file's size and modification time (ns), the SHA-256 of its first and last
 * MiB (of all of it with `verify`), and analyser, version and params.
 * Returns "" with `error` set when the file cannot be read. Cost: two 1 MiB
 * reads, or one pass over the file with `verify`. */
std::string cache_key(const CacheKeyInput &input, CacheKind kind, GError **error);

/* msgpack encodings of the value types (schema kCacheSchemaVersion). The
 * decoders return false on any malformed input, never throw or abort. */
std::vector<uint8_t> encode_song(const SongAnalysis &song);
bool decode_song(const uint8_t *data, size_t size, SongAnalysis &out);
std::vector<uint8_t> encode_clip(const ClipAnalysis &clip);
bool decode_clip(const uint8_t *data, size_t size, ClipAnalysis &out);

struct CacheStats {
  guint64 entries = 0;      /* entries on disk */
  guint64 bytes = 0;        /* their total size */
  guint64 hits = 0;         /* loads that returned a value, this process */
  guint64 misses = 0;       /* loads that found nothing usable (includes corrupt) */
  guint64 corrupt = 0;      /* entries found damaged and removed, this process */
  guint64 stores = 0;       /* entries written, this process */
  guint64 evictions = 0;    /* entries evicted for size, this process */
};

class AnalysisCache {
public:
  static constexpr guint64 kDefaultMaxBytes = 1ull << 30; /* 1 GiB */

  /* $GST_MONTAGE_CACHE_DIR when set, else $XDG_CACHE_HOME/gst-montage/analysis. */
  static std::string default_dir();

  /* A cache in `dir` (created on first store) bounded to `max_bytes`. */
  explicit AnalysisCache(std::string dir = default_dir(), guint64 max_bytes = kDefaultMaxBytes);

  /* Loads the payload stored under `key` (a cache_key()); false on a miss,
   * a damaged entry (which is removed) or a key that is not 64 lowercase hex
   * digits. On a hit the entry becomes the most recently used. */
  bool load(const std::string &key, CacheKind kind, std::vector<uint8_t> &payload);

  /* Stores `payload` under `key` atomically, then evicts least recently used
   * entries beyond the size bound. False with `error` set when the directory
   * or file cannot be written (disk full, permissions): nothing is left
   * behind and the cache stays consistent; G_FILE_ERROR_INVAL when `key` is
   * not 64 lowercase hex digits (a cache_key()), which clear() and evict()
   * would not see as an entry. */
  bool store(const std::string &key, CacheKind kind, const std::vector<uint8_t> &payload,
             GError **error);

  /* Typed conveniences over load/store with the encoders above. */
  bool load_song(const std::string &key, SongAnalysis &out);
  bool load_clip(const std::string &key, ClipAnalysis &out);
  bool store_song(const std::string &key, const SongAnalysis &song, GError **error);
  bool store_clip(const std::string &key, const ClipAnalysis &clip, GError **error);

  /* Counters of this object plus the entries and bytes now on disk. */
  CacheStats stats() const;

  /* The cache's own files, the only ones stats(), clear() and evict() count
   * or remove: DIR/xx/KEY.entry, KEY 64 lowercase hex digits beginning with
   * the bucket's xx, and (clear() only) the temporary file KEY.entry.XXXXXX
   * a store interrupted by a crash leaves beside it. Any other file in DIR
   * (a directory shared with other programs, or given by mistake) is left
   * alone, whatever its name. */

  /* Removes every entry (and stray temporary file), then each bucket
   * directory left empty. False with `error` set when something could not
   * be removed. */
  bool clear(GError **error);

  /* Evicts least recently used entries until at most `max_bytes` remain. */
  void evict(guint64 max_bytes);

  const std::string &dir() const { return dir_; }
  guint64 max_bytes() const { return max_bytes_; }

private:
  std::string entry_path(const std::string &key) const;
  /* Checks the entry in place (memory-mapped) and hands its payload to
   * `use`; a damaged entry, or one `use` refuses, is removed: a miss. */
  bool with_payload(const std::string &key, CacheKind kind,
                    const std::function<bool(const uint8_t *, size_t)> &use);
  std::string dir_;
  guint64 max_bytes_;
  mutable CacheStats counters_;
};

} // namespace montage
