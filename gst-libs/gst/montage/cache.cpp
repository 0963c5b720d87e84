/* Content-addressed analysis cache; see cache.h. */
#include <gst/montage/cache.h>

#include <glib/gstdio.h>
#include <msgpack.hpp>
#include <zlib.h>

#include <algorithm>
#include <functional>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>

GST_DEBUG_CATEGORY_STATIC(montage_cache_debug);
#define GST_CAT_DEFAULT montage_cache_debug

namespace montage {

namespace {

constexpr char kMagic[4] = {'G', 'M', 'C', 'E'};
constexpr size_t kHeaderSize = 4 + 4 + 4 + 8 + 4; /* magic, schema, kind, length, crc32 */
constexpr gsize kEdgeBytes = 1 << 20;             /* first and last MiB for the key */

void init_debug()
{
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(montage_cache_debug, "montagecache", 0, "gst-montage analysis cache");
    g_once_init_leave(&once, 1);
  }
}

void put_u32(std::vector<uint8_t> &v, guint32 x)
{
  for (int i = 0; i < 4; i++)
    v.push_back((x >> (8 * i)) & 0xff);
}
void put_u64(std::vector<uint8_t> &v, guint64 x)
{
  for (int i = 0; i < 8; i++)
    v.push_back((x >> (8 * i)) & 0xff);
}
guint64 get_le(const uint8_t *p, int n)
{
  guint64 x = 0;
  for (int i = n - 1; i >= 0; i--)
    x = (x << 8) | p[i];
  return x;
}

guint32 checksum(const uint8_t *data, size_t size)
{
  /* zlib's CRC-32: fast enough (GB/s) to check a 10,000-shot entry in well
   * under a millisecond; SHA-256 is used for keys only. */
  return (guint32)crc32_z(0L, data, size);
}

/* Hashes `len` bytes of `fd` starting at `offset` into `sum`. */
bool hash_range(int fd, goffset offset, goffset len, GChecksum *sum)
{
  std::vector<guchar> buf(1 << 16);
  if (lseek(fd, offset, SEEK_SET) < 0)
    return false;
  while (len > 0) {
    ssize_t n = read(fd, buf.data(), (size_t)std::min<goffset>(len, (goffset)buf.size()));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n == 0;
    g_checksum_update(sum, buf.data(), n);
    len -= n;
  }
  return true;
}

/* --- msgpack encodings ------------------------------------------------- */

using Packer = msgpack::packer<msgpack::sbuffer>;

template <typename T> void pack_u64_list(Packer &pk, const std::vector<T> &v)
{
  pk.pack_array(v.size());
  for (const T &x : v)
    pk.pack_uint64((guint64)x);
}

/* Appends `x` as a msgpack float 64 (0xcb, then the IEEE 754 bits big-endian)
 * to the buffer `pk` writes into. Not Packer::pack_double: msgpack-cxx 4.1
 * packs integral doubles as integers and, for x == 2^64, converts a double
 * outside uint64_t's range (undefined behaviour, found by fuzz_cache_song).
 * Readers accept both forms, so entries stay compatible. */
void pack_float64(msgpack::sbuffer &buf, double x)
{
  guint64 bits;
  memcpy(&bits, &x, sizeof bits);
  bits = GUINT64_TO_BE(bits);
  char out[9];
  out[0] = (char)0xcb;
  memcpy(out + 1, &bits, sizeof bits);
  buf.write(out, sizeof out);
}

void pack_double_list(Packer &pk, msgpack::sbuffer &buf, const std::vector<double> &v)
{
  pk.pack_array(v.size());
  for (double x : v)
    pack_float64(buf, x);
}

std::vector<uint8_t> to_bytes(const msgpack::sbuffer &buf)
{
  return std::vector<uint8_t>(buf.data(), buf.data() + buf.size());
}

/* Typed readers that throw msgpack::type_error on a mismatch (caught at the
 * decoder boundary). */
const msgpack::object &at(const msgpack::object &o, uint32_t i)
{
  if (o.type != msgpack::type::ARRAY || i >= o.via.array.size)
    throw msgpack::type_error();
  return o.via.array.ptr[i];
}
uint32_t array_size(const msgpack::object &o)
{
  if (o.type != msgpack::type::ARRAY)
    throw msgpack::type_error();
  return o.via.array.size;
}
guint64 as_u64(const msgpack::object &o)
{
  return o.as<guint64>();
}
double as_double(const msgpack::object &o)
{
  return o.as<double>();
}
std::string as_string(const msgpack::object &o)
{
  return o.as<std::string>();
}
template <typename T> std::vector<T> as_u64_list(const msgpack::object &o)
{
  std::vector<T> out(array_size(o));
  for (uint32_t i = 0; i < out.size(); i++)
    out[i] = (T)as_u64(o.via.array.ptr[i]);
  return out;
}
std::vector<double> as_double_list(const msgpack::object &o)
{
  std::vector<double> out(array_size(o));
  for (uint32_t i = 0; i < out.size(); i++)
    out[i] = as_double(o.via.array.ptr[i]);
  return out;
}

template <typename F> bool decode_guarded(const uint8_t *data, size_t size, F &&fill)
{
  try {
    /* No container or string may claim more elements than there are bytes
     * left: msgpack allocates a container's elements before reading them, so
     * five corrupt bytes claiming 2^32 elements would ask for 64 GB (found by
     * fuzz/fuzz_cache_song.cpp; fuzz/regressions/). */
    const size_t n = std::min<size_t>(size, 0xffffffffu);
    const msgpack::unpack_limit limit(n, n / 2, n, n, n, 32);
    msgpack::object_handle oh =
        msgpack::unpack(reinterpret_cast<const char *>(data), size, nullptr, nullptr, limit);
    fill(oh.get());
    return true;
  } catch (const std::exception &e) {
    init_debug();
    GST_DEBUG("cannot decode cache payload: %s", e.what());
    return false;
  }
}

constexpr size_t kKeyChars = 64; /* hex digits of a SHA-256 */

/* Whether the first `n` characters of `s` are lowercase hex digits, as
 * g_checksum_get_string() writes them (and nothing shorter). */
bool lower_hex(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isdigit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
      return false;
  return true;
}

/* Whether `key` is a key cache_key() returns: 64 lowercase hex digits. */
bool is_key(const std::string &key)
{
  return key.size() == kKeyChars && lower_hex(key.c_str(), kKeyChars);
}

/* Whether `sub` names a bucket directory: two lowercase hex digits. */
bool is_bucket(const char *sub)
{
  return strlen(sub) == 2 && lower_hex(sub, 2);
}

/* Whether file `name` in bucket `sub` is one of the cache's: KEY.entry with
 * KEY a key of that bucket (its first two digits), or, with `temporary`,
 * the temporary file g_file_set_contents_full() writes beside it and leaves
 * on a crash (KEY.entry.XXXXXX, six characters from g_mkstemp()). Nothing
 * else in the directory is the cache's to count or remove: a cache
 * directory given by mistake (--cache-dir ~/.cache) or shared with other
 * programs keeps their files, whatever they are called. */
bool is_cache_file(const char *sub, const char *name, bool temporary)
{
  static constexpr char kSuffix[] = ".entry";
  const size_t len = strlen(name), suffix = sizeof kSuffix - 1;
  if (len < kKeyChars + suffix || !lower_hex(name, kKeyChars) || strncmp(name, sub, 2) != 0 ||
      strncmp(name + kKeyChars, kSuffix, suffix) != 0)
    return false;
  const char *rest = name + kKeyChars + suffix;
  if (*rest == '\0')
    return true;
  if (!temporary || rest[0] != '.' || strlen(rest + 1) != 6)
    return false;
  for (const char *c = rest + 1; *c; c++)
    if (!g_ascii_isalnum(*c))
      return false;
  return true;
}

/* Total size of the entries in `dir` (DIR/xx/KEY.entry only, see
 * is_cache_file()), and with `list` each one's modification time (ns), path
 * and size. */
guint64 dir_total(const std::string &dir, std::vector<std::pair<gint64, std::pair<std::string, guint64>>> *list)
{
  guint64 total = 0;
  GDir *top = g_dir_open(dir.c_str(), 0, nullptr);
  if (!top)
    return 0;
  while (const gchar *sub = g_dir_read_name(top)) {
    if (!is_bucket(sub))
      continue;
    gchar *subdir = g_build_filename(dir.c_str(), sub, NULL);
    GDir *d = g_dir_open(subdir, 0, nullptr);
    if (d) {
      while (const gchar *name = g_dir_read_name(d)) {
        if (!is_cache_file(sub, name, false))
          continue;
        gchar *path = g_build_filename(subdir, name, NULL);
        GStatBuf st;
        if (g_stat(path, &st) == 0) {
          total += st.st_size;
          if (list) {
            gint64 mtime_ns = (gint64)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
            list->push_back({mtime_ns, {path, (guint64)st.st_size}});
          }
        }
        g_free(path);
      }
      g_dir_close(d);
    }
    g_free(subdir);
  }
  g_dir_close(top);
  return total;
}

} // namespace

std::string cache_key(const CacheKeyInput &input, CacheKind kind, GError **error)
{
  int fd = g_open(input.path.c_str(), O_RDONLY, 0);
  if (fd < 0) {
    int errsv = errno;
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv), "cannot read %s: %s",
                input.path.c_str(), g_strerror(errsv));
    return "";
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int errsv = errno;
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv), "cannot stat %s: %s",
                input.path.c_str(), g_strerror(errsv));
    close(fd);
    return "";
  }
  GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
  gchar *head = g_strdup_printf("gst-montage-cache-key-1\nkind=%u\nsize=%" G_GINT64_FORMAT
                                "\nmtime=%" G_GINT64_FORMAT ".%09ld\nanalyser=%s\nversion=%s\n"
                                "params=%s\nverify=%d\n",
                                (guint)kind, (gint64)st.st_size, (gint64)st.st_mtim.tv_sec,
                                (long)st.st_mtim.tv_nsec, input.analyser.c_str(),
                                input.version.c_str(), input.params.c_str(), input.verify ? 1 : 0);
  g_checksum_update(sum, (const guchar *)head, -1);
  g_free(head);
  goffset size = st.st_size;
  bool ok;
  if (input.verify || size <= (goffset)(2 * kEdgeBytes))
    ok = hash_range(fd, 0, size, sum);
  else
    ok = hash_range(fd, 0, kEdgeBytes, sum) && hash_range(fd, size - kEdgeBytes, kEdgeBytes, sum);
  close(fd);
  std::string key;
  if (ok)
    key = g_checksum_get_string(sum);
  else
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "cannot read %s", input.path.c_str());
  g_checksum_free(sum);
  return key;
}

std::vector<uint8_t> encode_song(const SongAnalysis &s)
{
  msgpack::sbuffer buf;
  Packer pk(&buf);
  pk.pack_array(14);
  pk.pack(s.uri);
  pk.pack_uint64(s.duration);
  pack_u64_list(pk, s.beats);
  pack_double_list(pk, buf, s.beat_energy);
  pack_float64(buf, s.bpm);
  pack_float64(buf, s.confidence);
  pk.pack_array(s.downbeats.size());
  for (bool d : s.downbeats)
    d ? pk.pack_true() : pk.pack_false();
  pk.pack_uint32(s.beats_per_bar);
  pack_double_list(pk, buf, s.energy_curve);
  pk.pack_uint64(s.energy_interval);
  pk.pack_array(s.sections.size());
  for (const Section &sec : s.sections) {
    pk.pack_array(3);
    pk.pack_uint64(sec.start);
    pk.pack_uint64(sec.end);
    pk.pack_uint32((guint32)sec.level);
  }
  pack_float64(buf, s.meter_confidence);
  /* Since song analysis version 26; an entry of 12 fields reads as unknown. */
  pk.pack_uint64(s.sound_end);
  /* Since song analysis version 31; an entry of 13 fields or fewer reads as unknown. */
  pk.pack_uint64(s.stated_duration);
  return to_bytes(buf);
}

bool decode_song(const uint8_t *data, size_t size, SongAnalysis &out)
{
  SongAnalysis s;
  bool ok = decode_guarded(data, size, [&](const msgpack::object &o) {
    if (array_size(o) < 12 || array_size(o) > 14)
      throw msgpack::type_error();
    s.uri = as_string(at(o, 0));
    s.sound_end = array_size(o) >= 13 ? as_u64(at(o, 12)) : GST_CLOCK_TIME_NONE;
    s.stated_duration = array_size(o) == 14 ? as_u64(at(o, 13)) : GST_CLOCK_TIME_NONE;
    s.duration = as_u64(at(o, 1));
    s.beats = as_u64_list<GstClockTime>(at(o, 2));
    s.beat_energy = as_double_list(at(o, 3));
    s.bpm = as_double(at(o, 4));
    s.confidence = as_double(at(o, 5));
    const msgpack::object &d = at(o, 6);
    for (uint32_t i = 0; i < array_size(d); i++)
      s.downbeats.push_back(d.via.array.ptr[i].as<bool>());
    s.beats_per_bar = (guint)as_u64(at(o, 7));
    s.energy_curve = as_double_list(at(o, 8));
    s.energy_interval = as_u64(at(o, 9));
    const msgpack::object &secs = at(o, 10);
    for (uint32_t i = 0; i < array_size(secs); i++) {
      const msgpack::object &e = secs.via.array.ptr[i];
      guint64 level = as_u64(at(e, 2));
      if (level > (guint64)Section::Level::kHigh)
        throw msgpack::type_error();
      s.sections.push_back({as_u64(at(e, 0)), as_u64(at(e, 1)), (Section::Level)level});
    }
    s.meter_confidence = as_double(at(o, 11));
  });
  if (ok)
    out = std::move(s);
  return ok;
}

/* Shots are stored column by column as raw little-endian arrays inside
 * msgpack bin objects: a 10,000-shot entry then decodes with a handful of
 * memcpy()s instead of ~300,000 msgpack objects (see bench/cache). */
template <typename T> void pack_column(Packer &pk, const std::vector<T> &v)
{
  pk.pack_bin(v.size() * sizeof(T));
  pk.pack_bin_body(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
}

template <typename T> std::vector<T> unpack_column(const msgpack::object &o, size_t expected)
{
  if (o.type != msgpack::type::BIN || o.via.bin.size != expected * sizeof(T))
    throw msgpack::type_error();
  std::vector<T> v(expected);
  if (expected)
    memcpy(v.data(), o.via.bin.ptr, o.via.bin.size);
  return v;
}

std::vector<uint8_t> encode_clip(const ClipAnalysis &c)
{
  static_assert(G_BYTE_ORDER == G_LITTLE_ENDIAN, "cache columns are stored little-endian");
  const size_t n = c.shots.size();
  std::vector<guint64> starts(n), ends(n), tstarts(n), tends(n), best(n);
  std::vector<guint8> transitions(n), has_features(n);
  std::vector<double> features(n * 6);
  std::vector<guint32> hist_len(n);
  std::vector<float> hist;
  for (size_t i = 0; i < n; i++) {
    const Shot &s = c.shots[i];
    starts[i] = s.start;
    ends[i] = s.end;
    tstarts[i] = s.transition_start;
    tends[i] = s.transition_end;
    transitions[i] = (guint8)s.transition;
    has_features[i] = s.has_features;
    const ShotFeatures &f = s.features;
    double *row = &features[i * 6];
    row[0] = f.motion_mean;
    row[1] = f.motion_peak;
    row[2] = f.sharpness;
    row[3] = f.brightness;
    row[4] = f.contrast;
    row[5] = f.colourfulness;
    best[i] = f.best_inpoint;
    hist_len[i] = (guint32)f.histogram.size();
    hist.insert(hist.end(), f.histogram.begin(), f.histogram.end());
  }
  msgpack::sbuffer buf(256 + n * 120 + hist.size() * sizeof(float));
  Packer pk(&buf);
  pk.pack_array(9);
  pk.pack(c.path);
  pk.pack(c.uri);
  pk.pack_uint64(c.duration);
  pk.pack_uint64(c.first_frame);
  pk.pack_array(4);
  pk.pack_int32(c.fps_n);
  pk.pack_int32(c.fps_d);
  pk.pack_int32(c.width);
  pk.pack_int32(c.height);
  pack_u64_list(pk, c.cuts);
  pk.pack_array(11);
  pk.pack_uint64(n);
  pack_column(pk, starts);
  pack_column(pk, ends);
  pack_column(pk, transitions);
  pack_column(pk, tstarts);
  pack_column(pk, tends);
  pack_column(pk, has_features);
  pack_column(pk, features);
  pack_column(pk, best);
  pack_column(pk, hist_len);
  pack_column(pk, hist);
  /* Was reserved (nil) before analysis_path; a nil still reads as "". */
  pk.pack(c.analysis_path);
  /* Since clip analysis version 34; an entry of 8 fields reads as none. */
  pk.pack_uint64(c.stated_duration);
  return to_bytes(buf);
}

bool decode_clip(const uint8_t *data, size_t size, ClipAnalysis &out)
{
  ClipAnalysis c;
  bool ok = decode_guarded(data, size, [&](const msgpack::object &o) {
    if (array_size(o) != 8 && array_size(o) != 9)
      throw msgpack::type_error();
    c.path = as_string(at(o, 0));
    c.stated_duration = array_size(o) == 9 ? as_u64(at(o, 8)) : GST_CLOCK_TIME_NONE;
    c.uri = as_string(at(o, 1));
    c.duration = as_u64(at(o, 2));
    c.first_frame = as_u64(at(o, 3));
    const msgpack::object &fmt = at(o, 4);
    c.fps_n = at(fmt, 0).as<gint>();
    c.fps_d = at(fmt, 1).as<gint>();
    c.width = at(fmt, 2).as<gint>();
    c.height = at(fmt, 3).as<gint>();
    c.cuts = as_u64_list<GstClockTime>(at(o, 5));
    const msgpack::object &how = at(o, 7);
    c.analysis_path = how.type == msgpack::type::NIL ? std::string() : as_string(how);
    const msgpack::object &cols = at(o, 6);
    if (array_size(cols) != 11)
      throw msgpack::type_error();
    guint64 n = as_u64(at(cols, 0));
    if (n > (1u << 24))
      throw msgpack::type_error();
    auto starts = unpack_column<guint64>(at(cols, 1), n);
    auto ends = unpack_column<guint64>(at(cols, 2), n);
    auto transitions = unpack_column<guint8>(at(cols, 3), n);
    auto tstarts = unpack_column<guint64>(at(cols, 4), n);
    auto tends = unpack_column<guint64>(at(cols, 5), n);
    auto has_features = unpack_column<guint8>(at(cols, 6), n);
    auto features = unpack_column<double>(at(cols, 7), n * 6);
    auto best = unpack_column<guint64>(at(cols, 8), n);
    auto hist_len = unpack_column<guint32>(at(cols, 9), n);
    guint64 total = 0;
    for (guint32 l : hist_len)
      total += l;
    auto hist = unpack_column<float>(at(cols, 10), total);
    c.shots.resize(n);
    size_t h = 0;
    for (size_t i = 0; i < n; i++) {
      Shot &s = c.shots[i];
      if (transitions[i] > (guint8)Transition::kDissolve)
        throw msgpack::type_error();
      s.start = starts[i];
      s.end = ends[i];
      s.transition = (Transition)transitions[i];
      s.transition_start = tstarts[i];
      s.transition_end = tends[i];
      s.has_features = has_features[i] != 0;
      const double *row = &features[i * 6];
      s.features.motion_mean = row[0];
      s.features.motion_peak = row[1];
      s.features.sharpness = row[2];
      s.features.brightness = row[3];
      s.features.contrast = row[4];
      s.features.colourfulness = row[5];
      s.features.best_inpoint = best[i];
      s.features.histogram.assign(hist.begin() + h, hist.begin() + h + hist_len[i]);
      h += hist_len[i];
    }
  });
  if (ok)
    out = std::move(c);
  return ok;
}

std::string AnalysisCache::default_dir()
{
  const gchar *env = g_getenv("GST_MONTAGE_CACHE_DIR");
  if (env && *env)
    return env;
  gchar *dir = g_build_filename(g_get_user_cache_dir(), "gst-montage", "analysis", NULL);
  std::string out(dir);
  g_free(dir);
  return out;
}

AnalysisCache::AnalysisCache(std::string dir, guint64 max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes)
{
  init_debug();
}

std::string AnalysisCache::entry_path(const std::string &key) const
{
  std::string sub = key.substr(0, 2); /* a key (is_key()): 64 hex digits */
  gchar *p = g_build_filename(dir_.c_str(), sub.c_str(), (key + ".entry").c_str(), NULL);
  std::string out(p);
  g_free(p);
  return out;
}

bool AnalysisCache::with_payload(const std::string &key, CacheKind kind,
                                 const std::function<bool(const uint8_t *, size_t)> &use)
{
  if (!is_key(key)) {
    counters_.misses++;
    return false;
  }
  std::string path = entry_path(key);
  GMappedFile *mapped = g_mapped_file_new(path.c_str(), FALSE, nullptr);
  if (!mapped) {
    counters_.misses++;
    return false;
  }
  gsize len = g_mapped_file_get_length(mapped);
  const uint8_t *p = reinterpret_cast<const uint8_t *>(g_mapped_file_get_contents(mapped));
  const char *why = nullptr;
  if (len < kHeaderSize || memcmp(p, kMagic, 4) != 0)
    why = "is not a gst-montage cache entry";
  else if (get_le(p + 4, 4) != kCacheSchemaVersion)
    why = "was written with another schema version";
  else if (get_le(p + 8, 4) != (guint64)kind)
    why = "holds another kind of analysis";
  else if (get_le(p + 12, 8) != len - kHeaderSize)
    why = "is truncated or overlong";
  else if (get_le(p + 20, 4) != checksum(p + kHeaderSize, len - kHeaderSize))
    why = "fails its checksum";
  else if (!use(p + kHeaderSize, len - kHeaderSize))
    why = "does not decode";
  g_mapped_file_unref(mapped);
  if (why) {
    GST_WARNING("cache entry %s %s: removing it, the analysis will be recomputed", path.c_str(),
                why);
    g_unlink(path.c_str());
    counters_.misses++;
    counters_.corrupt++;
    return false;
  }
  /* Most recently used: refresh the modification time. */
  utimensat(AT_FDCWD, path.c_str(), nullptr, 0);
  counters_.hits++;
  return true;
}

bool AnalysisCache::load(const std::string &key, CacheKind kind, std::vector<uint8_t> &payload)
{
  return with_payload(key, kind, [&](const uint8_t *data, size_t size) {
    payload.assign(data, data + size);
    return true;
  });
}

bool AnalysisCache::store(const std::string &key, CacheKind kind, const std::vector<uint8_t> &payload,
                          GError **error)
{
  /* Only what clear() and evict() see as an entry is written. */
  if (!is_key(key)) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                "\"%s\" is not a cache key (64 lowercase hex digits, from cache_key())",
                key.c_str());
    return false;
  }
  std::string path = entry_path(key);
  gchar *subdir = g_path_get_dirname(path.c_str());
  if (g_mkdir_with_parents(subdir, 0755) != 0) {
    int errsv = errno;
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv),
                "cannot create cache directory %s: %s", subdir, g_strerror(errsv));
    g_free(subdir);
    return false;
  }
  g_free(subdir);
  std::vector<uint8_t> bytes;
  bytes.reserve(kHeaderSize + payload.size());
  bytes.insert(bytes.end(), kMagic, kMagic + 4);
  put_u32(bytes, kCacheSchemaVersion);
  put_u32(bytes, (guint32)kind);
  put_u64(bytes, payload.size());
  put_u32(bytes, checksum(payload.data(), payload.size()));
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  /* A temporary file beside the entry, then rename(): readers see the old
   * entry, no entry, or the whole new one. A failed write (disk full)
   * removes the temporary file. */
  if (!g_file_set_contents_full(path.c_str(), reinterpret_cast<const gchar *>(bytes.data()),
                                bytes.size(), G_FILE_SET_CONTENTS_CONSISTENT, 0644, error))
    return false;
  counters_.stores++;
  evict(max_bytes_);
  return true;
}

bool AnalysisCache::load_song(const std::string &key, SongAnalysis &out)
{
  return with_payload(key, CacheKind::kSong,
                      [&](const uint8_t *data, size_t size) { return decode_song(data, size, out); });
}

bool AnalysisCache::load_clip(const std::string &key, ClipAnalysis &out)
{
  return with_payload(key, CacheKind::kClip,
                      [&](const uint8_t *data, size_t size) { return decode_clip(data, size, out); });
}

bool AnalysisCache::store_song(const std::string &key, const SongAnalysis &song, GError **error)
{
  return store(key, CacheKind::kSong, encode_song(song), error);
}

bool AnalysisCache::store_clip(const std::string &key, const ClipAnalysis &clip, GError **error)
{
  return store(key, CacheKind::kClip, encode_clip(clip), error);
}

CacheStats AnalysisCache::stats() const
{
  CacheStats s = counters_;
  std::vector<std::pair<gint64, std::pair<std::string, guint64>>> list;
  s.bytes = dir_total(dir_, &list);
  s.entries = list.size();
  return s;
}

void AnalysisCache::evict(guint64 max_bytes)
{
  std::vector<std::pair<gint64, std::pair<std::string, guint64>>> list;
  guint64 total = dir_total(dir_, &list);
  if (total <= max_bytes)
    return;
  std::sort(list.begin(), list.end()); /* oldest first */
  for (const auto &e : list) {
    if (total <= max_bytes)
      break;
    if (g_unlink(e.second.first.c_str()) == 0) {
      total -= e.second.second;
      counters_.evictions++;
      GST_INFO("evicted %s (%" G_GUINT64_FORMAT " bytes)", e.second.first.c_str(), e.second.second);
    }
  }
}

bool AnalysisCache::clear(GError **error)
{
  bool ok = true;
  GDir *top = g_dir_open(dir_.c_str(), 0, nullptr);
  if (!top)
    return true; /* nothing cached yet */
  while (const gchar *sub = g_dir_read_name(top)) {
    if (!is_bucket(sub))
      continue;
    gchar *subdir = g_build_filename(dir_.c_str(), sub, NULL);
    GDir *d = g_dir_open(subdir, 0, nullptr);
    if (d) {
      while (const gchar *name = g_dir_read_name(d)) {
        /* Entries and the temporary files g_file_set_contents leaves on a
         * crash; nothing else (see is_cache_file()). */
        if (!is_cache_file(sub, name, true))
          continue;
        gchar *path = g_build_filename(subdir, name, NULL);
        if (g_unlink(path) != 0 && ok) {
          int errsv = errno;
          g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv), "cannot remove %s: %s",
                      path, g_strerror(errsv));
          ok = false;
        }
        g_free(path);
      }
      g_dir_close(d);
      g_rmdir(subdir); /* only if empty: another program's file keeps it */
    }
    g_free(subdir);
  }
  g_dir_close(top);
  return ok;
}

} // namespace montage
