/* gst-montage: ADTS frame index and exact extraction (see adts.h). */
#include <gst/montage/adts.h>

#include <gst/audio/audio.h>

#include <msgpack.hpp>

#include <sys/mman.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

namespace montage {

GQuark adts_error_quark()
{
  return g_quark_from_static_string("montage-adts-error-quark");
}

namespace {

constexpr guint kSampleRates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                    22050, 16000, 12000, 11025, 8000,  7350};
constexpr const char *kSchemaTag = "montage-adts-index";
constexpr guint kSchemaVersion = 1;

guint16 frame_word(const AdtsHeader &h)
{
  return (guint16)(h.frame_length | ((h.raw_blocks - 1) << 13));
}
guint word_length(guint16 w) { return w & 0x1FFFu; }
guint word_samples(guint16 w) { return 1024u * ((w >> 13) + 1u); }

/* Size of an ID3v2 tag at data (header + body + optional footer), 0 if none. */
size_t id3v2_size(const guint8 *data, size_t size)
{
  if (size < 10 || memcmp(data, "ID3", 3) != 0)
    return 0;
  for (int i = 6; i < 10; i++)
    if (data[i] & 0x80)
      return 0;
  size_t body = ((size_t)data[6] << 21) | ((size_t)data[7] << 14) | ((size_t)data[8] << 7) | data[9];
  size_t total = 10 + body + ((data[5] & 0x10) ? 10 : 0);
  return std::min(total, size);
}

/* First position >= from where a header is confirmed by a second,
 * consistent one right after it (or ends the data exactly); size if none. */
size_t next_confirmed_frame(const guint8 *data, size_t size, size_t from)
{
  AdtsHeader h, next;
  while (from < size) {
    const void *ff = memchr(data + from, 0xFF, size - from);
    if (!ff)
      return size;
    const size_t p = (size_t)((const guint8 *)ff - data);
    if (parse_adts_header(data + p, size - p, h)) {
      const size_t end = p + h.frame_length;
      if (end == size ||
          (end < size && parse_adts_header(data + end, size - end, next) && next.same_stream(h)))
        return p;
    }
    from = p + 1;
  }
  return size;
}

} // namespace

guint AdtsHeader::channels() const
{
  return channel_config == 7 ? 8u : channel_config;
}

bool AdtsHeader::same_stream(const AdtsHeader &o) const
{
  return sample_rate_index == o.sample_rate_index && channel_config == o.channel_config &&
         object_type == o.object_type && mpeg_version == o.mpeg_version;
}

bool parse_adts_header(const guint8 *d, size_t size, AdtsHeader &h)
{
  if (size < 7 || d[0] != 0xFF || (d[1] & 0xF6) != 0xF0)
    return false;
  const guint rate_index = (d[2] >> 2) & 0xF;
  if (rate_index > 12)
    return false;
  h.mpeg_version = (d[1] & 0x08) ? 2 : 4;
  h.crc = !(d[1] & 0x01);
  h.object_type = ((d[2] >> 6) & 3u) + 1u;
  h.sample_rate_index = rate_index;
  h.sample_rate = kSampleRates[rate_index];
  h.channel_config = ((d[2] & 1u) << 2) | (d[3] >> 6);
  h.frame_length = ((d[3] & 3u) << 11) | ((guint)d[4] << 3) | (d[5] >> 5);
  h.raw_blocks = (d[6] & 3u) + 1u;
  return h.frame_length >= h.header_length();
}

bool looks_like_adts(const guint8 *data, size_t size)
{
  const size_t at = id3v2_size(data, size);
  AdtsHeader first, second;
  if (at >= size || !parse_adts_header(data + at, size - at, first))
    return false;
  const size_t next = at + first.frame_length;
  return next == size || (next < size && parse_adts_header(data + next, size - next, second) &&
                          second.same_stream(first));
}

GstClockTime AdtsRun::duration() const
{
  return sample_rate ? gst_util_uint64_scale(samples, GST_SECOND, sample_rate) : 0;
}

/* ---- index ---------------------------------------------------------------- */

std::unique_ptr<AdtsIndex> AdtsIndex::build(const guint8 *data, size_t size,
                                            AdtsScanReport *report, GError **error)
{
  if (size == 0) {
    g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kEmpty,
                "The file is empty (0 bytes): there is no audio to index.");
    return nullptr;
  }
  std::unique_ptr<AdtsIndex> index(new AdtsIndex());
  index->file_size_ = size;
  index->words_.reserve(size / 256 + 16);
  AdtsScanReport &rep = index->report_;

  constexpr size_t kNone = (size_t)-1;
  size_t pos = id3v2_size(data, size);
  size_t garbage_start = kNone;
  if (pos > 0) {
    rep.id3_tag = true;
    garbage_start = 0;
  }
  AdtsHeader ref, h, next;
  bool have_run = false;

  while (pos < size) {
    const size_t left = size - pos;
    if (parse_adts_header(data + pos, left, h)) {
      const size_t end = pos + h.frame_length;
      const bool continues = have_run && garbage_start == kNone && h.same_stream(ref);
      if (end > size) {
        /* A frame running past the end: the file was cut. */
        if (continues) {
          rep.truncated_tail_bytes = left;
          pos = size;
          break;
        }
      } else {
        bool accept = continues;
        if (continues && end < size && !parse_adts_header(data + end, size - end, next)) {
          /* No header after this frame: either junk follows a good frame, or
           * this "frame" is a false sync inside junk. It is fake when a real,
           * confirmed frame starts inside it. */
          const size_t real = next_confirmed_frame(data, size, pos + 1);
          if (real < end) {
            garbage_start = pos;
            pos = real;
            continue;
          }
        }
        if (!accept) {
          /* Starting, resynchronising or changing stream: the header must be
           * confirmed by the next one (or end the file exactly). */
          if (end == size)
            accept = !have_run || h.same_stream(ref) || garbage_start == kNone;
          else
            accept = parse_adts_header(data + end, size - end, next) && next.same_stream(h);
        }
        if (accept) {
          if (garbage_start != kNone) {
            index->gaps_.push_back({index->words_.size(), pos - garbage_start});
            if (!(rep.id3_tag && garbage_start == 0)) {
              if (rep.garbage_regions == 0)
                rep.first_garbage_offset = garbage_start;
              rep.garbage_regions++;
            }
            rep.garbage_bytes += pos - garbage_start;
            garbage_start = kNone;
          }
          if (!have_run || !h.same_stream(ref)) {
            AdtsRun run;
            run.first_frame = index->words_.size();
            run.sample_rate = h.sample_rate;
            run.channels = h.channels();
            run.object_type = h.object_type;
            run.crc = h.crc;
            index->runs_.push_back(run);
            ref = h;
            have_run = true;
          }
          index->words_.push_back(frame_word(h));
          pos = end;
          continue;
        }
      }
    }
    /* Not a frame here: skip to the next possible sync byte. */
    if (garbage_start == kNone)
      garbage_start = pos;
    const void *ff = memchr(data + pos + 1, 0xFF, size - pos - 1);
    pos = ff ? (size_t)((const guint8 *)ff - data) : size;
  }

  if (index->words_.empty()) {
    g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kNotAdts,
                "No AAC ADTS frames found in %" G_GSIZE_FORMAT
                " bytes: this is not a raw AAC (ADTS) stream. AAC in MP4/M4A must be demuxed "
                "first (e.g. qtdemux), other formats need their own decoder.",
                size);
    return nullptr;
  }
  if (garbage_start != kNone) {
    /* Junk after the last frame (not a cut frame): a trailing gap. */
    index->gaps_.push_back({index->words_.size(), size - garbage_start});
    if (rep.garbage_regions == 0)
      rep.first_garbage_offset = garbage_start;
    rep.garbage_regions++;
    rep.garbage_bytes += size - garbage_start;
  }
  rep.stream_changes = (guint)index->runs_.size() - 1;
  if (!index->finish(error))
    return nullptr;
  if (report)
    *report = rep;
  return index;
}

std::unique_ptr<AdtsIndex> AdtsIndex::build_from_file(const std::string &path,
                                                      AdtsScanReport *report, GError **error)
{
  GError *map_error = nullptr;
  GMappedFile *map = g_mapped_file_new(path.c_str(), FALSE, &map_error);
  if (!map) {
    g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kIo, "Cannot read %s: %s", path.c_str(),
                map_error->message);
    g_error_free(map_error);
    return nullptr;
  }
  auto index = build((const guint8 *)g_mapped_file_get_contents(map),
                     g_mapped_file_get_length(map), report, error);
  g_mapped_file_unref(map);
  return index;
}

bool AdtsIndex::finish(GError **error)
{
  checkpoints_.clear();
  checkpoints_.reserve(words_.size() / kCheckpointStride + 1);
  guint64 offset = 0, sample = 0;
  size_t gap = 0, run = 0;
  for (auto &r : runs_)
    r.samples = 0;
  for (size_t i = 0; i < words_.size(); i++) {
    while (gap < gaps_.size() && gaps_[gap].frame == i)
      offset += gaps_[gap++].bytes;
    if (run + 1 < runs_.size() && runs_[run + 1].first_frame == i) {
      run++;
      sample = 0;
    }
    if (i % kCheckpointStride == 0)
      checkpoints_.push_back({offset, sample});
    offset += word_length(words_[i]);
    sample += word_samples(words_[i]);
    runs_[run].samples = sample;
  }
  while (gap < gaps_.size())
    offset += gaps_[gap++].bytes;
  if (offset + report_.truncated_tail_bytes > file_size_) {
    g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kBadIndex,
                "ADTS index is inconsistent: frames end at byte %" G_GUINT64_FORMAT
                " of a %" G_GUINT64_FORMAT "-byte file. Rebuild the index.",
                offset, file_size_);
    return false;
  }
  GstClockTime start = 0;
  for (size_t r = 0; r < runs_.size(); r++) {
    runs_[r].frames = (r + 1 < runs_.size() ? runs_[r + 1].first_frame : words_.size()) -
                      runs_[r].first_frame;
    runs_[r].start = start;
    start += runs_[r].duration();
  }
  return true;
}

AdtsFrame AdtsIndex::frame(size_t i) const
{
  AdtsFrame f;
  if (i >= words_.size())
    return f;
  const size_t base = i - i % kCheckpointStride;
  const Checkpoint &cp = checkpoints_[base / kCheckpointStride];
  /* Run of frame i: last run starting at or before i. */
  auto it = std::upper_bound(runs_.begin(), runs_.end(), (guint64)i,
                             [](guint64 v, const AdtsRun &r) { return v < r.first_frame; });
  f.run = (size_t)(it - runs_.begin()) - 1;
  const guint64 run_first = runs_[f.run].first_frame;
  auto gap = std::upper_bound(gaps_.begin(), gaps_.end(), (guint64)base,
                              [](guint64 v, const Gap &g) { return v < g.frame; });
  guint64 offset = cp.offset, sample = cp.sample;
  for (size_t j = base; j < i; j++) {
    offset += word_length(words_[j]);
    sample += word_samples(words_[j]);
    if (j + 1 == run_first)
      sample = 0;
    while (gap != gaps_.end() && gap->frame == j + 1)
      offset += (gap++)->bytes;
  }
  f.offset = offset;
  f.sample = sample;
  f.size = word_length(words_[i]);
  f.samples = word_samples(words_[i]);
  return f;
}

GstClockTime AdtsIndex::duration() const
{
  return runs_.empty() ? 0 : runs_.back().start + runs_.back().duration();
}

size_t AdtsIndex::run_at(GstClockTime t) const
{
  for (size_t r = 1; r < runs_.size(); r++)
    if (t < runs_[r].start)
      return r - 1;
  return runs_.empty() ? 0 : runs_.size() - 1;
}

size_t AdtsIndex::find_frame(size_t run, guint64 sample) const
{
  if (run >= runs_.size())
    return 0;
  const AdtsRun &r = runs_[run];
  const size_t first = (size_t)r.first_frame, last = (size_t)(r.first_frame + r.frames - 1);
  /* Checkpoints inside the run, by sample. */
  size_t lo = (first + kCheckpointStride - 1) / kCheckpointStride;
  size_t hi = last / kCheckpointStride + 1; /* exclusive */
  size_t start = first;
  guint64 at = 0;
  if (lo < hi) {
    auto begin = checkpoints_.begin() + lo, end = checkpoints_.begin() + hi;
    auto it = std::upper_bound(begin, end, sample,
                               [](guint64 v, const Checkpoint &c) { return v < c.sample; });
    if (it != begin) {
      --it;
      start = (size_t)(it - checkpoints_.begin()) * kCheckpointStride;
      at = it->sample;
    }
  }
  for (size_t j = start; j < last; j++) {
    const guint n = word_samples(words_[j]);
    if (sample < at + n)
      return j;
    at += n;
  }
  return last;
}

/* ---- serialisation -------------------------------------------------------- */

std::vector<uint8_t> AdtsIndex::serialise() const
{
  msgpack::sbuffer buf(words_.size() * 2 + 256);
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(7);
  pk.pack(std::string(kSchemaTag));
  pk.pack(kSchemaVersion);
  pk.pack((uint64_t)file_size_);
  /* Frame words as little-endian u16 in one bin: no per-frame msgpack cost. */
  std::vector<guint8> bin(words_.size() * 2);
  for (size_t i = 0; i < words_.size(); i++) {
    bin[2 * i] = (guint8)(words_[i] & 0xFF);
    bin[2 * i + 1] = (guint8)(words_[i] >> 8);
  }
  pk.pack_bin((uint32_t)bin.size());
  pk.pack_bin_body((const char *)bin.data(), (uint32_t)bin.size());
  pk.pack_array((uint32_t)gaps_.size());
  for (const Gap &g : gaps_) {
    pk.pack_array(2);
    pk.pack((uint64_t)g.frame);
    pk.pack((uint64_t)g.bytes);
  }
  pk.pack_array((uint32_t)runs_.size());
  for (const AdtsRun &r : runs_) {
    pk.pack_array(5);
    pk.pack((uint64_t)r.first_frame);
    pk.pack(r.sample_rate);
    pk.pack(r.channels);
    pk.pack(r.object_type);
    pk.pack(r.crc);
  }
  pk.pack_array(5);
  pk.pack((uint64_t)report_.garbage_bytes);
  pk.pack(report_.garbage_regions);
  pk.pack((uint64_t)report_.first_garbage_offset);
  pk.pack(report_.id3_tag);
  pk.pack((uint64_t)report_.truncated_tail_bytes);
  return std::vector<uint8_t>((const uint8_t *)buf.data(), (const uint8_t *)buf.data() + buf.size());
}

std::unique_ptr<AdtsIndex> AdtsIndex::deserialise(const uint8_t *data, size_t size, GError **error)
{
  std::unique_ptr<AdtsIndex> index(new AdtsIndex());
  try {
    /* Containers may not claim more elements than there are bytes (msgpack
     * allocates them up front: found by fuzz/fuzz_adts.cpp, fuzz/regressions/). */
    const size_t n = std::min<size_t>(size, 0xffffffffu);
    msgpack::object_handle oh = msgpack::unpack((const char *)data, size, nullptr, nullptr,
                                                msgpack::unpack_limit(n, n / 2, n, n, n, 32));
    const msgpack::object &o = oh.get();
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 7)
      throw msgpack::type_error();
    const msgpack::object *a = o.via.array.ptr;
    if (a[0].as<std::string>() != kSchemaTag || a[1].as<guint>() != kSchemaVersion)
      throw msgpack::type_error();
    index->file_size_ = a[2].as<uint64_t>();
    if (a[3].type != msgpack::type::BIN || a[3].via.bin.size % 2 != 0 || a[3].via.bin.size == 0)
      throw msgpack::type_error();
    const guint8 *bin = (const guint8 *)a[3].via.bin.ptr;
    const size_t frames = a[3].via.bin.size / 2;
    index->words_.resize(frames);
    for (size_t i = 0; i < frames; i++) {
      index->words_[i] = (guint16)(bin[2 * i] | (bin[2 * i + 1] << 8));
      if (word_length(index->words_[i]) < 7)
        throw msgpack::type_error();
    }
    if (a[4].type != msgpack::type::ARRAY || a[5].type != msgpack::type::ARRAY ||
        a[6].type != msgpack::type::ARRAY || a[6].via.array.size != 5)
      throw msgpack::type_error();
    for (uint32_t i = 0; i < a[4].via.array.size; i++) {
      const msgpack::object &g = a[4].via.array.ptr[i];
      if (g.type != msgpack::type::ARRAY || g.via.array.size != 2)
        throw msgpack::type_error();
      Gap gap{g.via.array.ptr[0].as<uint64_t>(), g.via.array.ptr[1].as<uint64_t>()};
      if (gap.frame > frames || (!index->gaps_.empty() && gap.frame <= index->gaps_.back().frame))
        throw msgpack::type_error();
      index->gaps_.push_back(gap);
    }
    for (uint32_t i = 0; i < a[5].via.array.size; i++) {
      const msgpack::object &r = a[5].via.array.ptr[i];
      if (r.type != msgpack::type::ARRAY || r.via.array.size != 5)
        throw msgpack::type_error();
      AdtsRun run;
      run.first_frame = r.via.array.ptr[0].as<uint64_t>();
      run.sample_rate = r.via.array.ptr[1].as<guint>();
      run.channels = r.via.array.ptr[2].as<guint>();
      run.object_type = r.via.array.ptr[3].as<guint>();
      run.crc = r.via.array.ptr[4].as<bool>();
      const bool first_ok = index->runs_.empty() ? run.first_frame == 0
                                                 : run.first_frame > index->runs_.back().first_frame;
      if (!first_ok || run.first_frame >= frames ||
          std::find(std::begin(kSampleRates), std::end(kSampleRates), run.sample_rate) ==
              std::end(kSampleRates))
        throw msgpack::type_error();
      index->runs_.push_back(run);
    }
    if (index->runs_.empty())
      throw msgpack::type_error();
    const msgpack::object *rep = a[6].via.array.ptr;
    index->report_.garbage_bytes = rep[0].as<uint64_t>();
    index->report_.garbage_regions = rep[1].as<guint>();
    index->report_.first_garbage_offset = rep[2].as<uint64_t>();
    index->report_.id3_tag = rep[3].as<bool>();
    index->report_.truncated_tail_bytes = rep[4].as<uint64_t>();
    index->report_.stream_changes = (guint)index->runs_.size() - 1;
  } catch (...) {
    g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kBadIndex,
                "The stored ADTS index is damaged or from another version: rebuild it.");
    return nullptr;
  }
  GError *inner = nullptr;
  if (!index->finish(&inner)) {
    g_propagate_error(error, inner);
    return nullptr;
  }
  return index;
}

/* ---- extraction ----------------------------------------------------------- */

/* One decoder, driven synchronously through its pads by whichever thread
 * decodes a part. Its output goes straight into the caller's excerpt: the
 * chain function drops the first `skip` samples (pre-roll and the head of the
 * first frame) and converts the next `take` into `dst`. */
struct AdtsExtractor::Impl {
  GMappedFile *map = nullptr;
  const guint8 *data = nullptr;
  size_t size = 0;
  const AdtsIndex *index = nullptr;
  AdtsExtractOptions options;

  GstElement *decoder = nullptr;
  GstBus *bus = nullptr;
  GstPad *srcpad = nullptr;  /* ours, feeds the decoder */
  GstPad *sinkpad = nullptr; /* ours, receives decoded audio */
  size_t caps_run = (size_t)-1; /* run whose caps the decoder has, and whose output format is known */

  /* Output format of the decoder for caps_run (set by the caps event). */
  GstAudioInfo info;
  bool have_info = false;

  /* The part being decoded: output samples (per channel) seen so far, how
   * many to drop, how many to write to dst, and the format dst was sized for. */
  float *dst = nullptr;
  guint64 seen = 0, skip = 0, take = 0;
  guint want_rate = 0, want_channels = 0;
  std::vector<float> scratch; /* a part decoded off the calling thread, or a second copy */

  ~Impl()
  {
    if (decoder) {
      gst_element_set_state(decoder, GST_STATE_NULL);
      gst_element_set_bus(decoder, nullptr);
    }
    if (bus)
      gst_bus_set_flushing(bus, TRUE); /* its messages hold references to the decoder */
    if (decoder)
      gst_object_unref(decoder);
    if (srcpad) {
      gst_pad_set_active(srcpad, FALSE);
      gst_object_unref(srcpad);
    }
    if (sinkpad) {
      gst_pad_set_active(sinkpad, FALSE);
      gst_object_unref(sinkpad);
    }
    if (bus)
      gst_object_unref(bus);
    if (map)
      g_mapped_file_unref(map);
  }

  static GstFlowReturn chain(GstPad *pad, GstObject *, GstBuffer *buffer)
  {
    Impl *self = (Impl *)gst_pad_get_element_private(pad);
    GstFlowReturn ret = self->append(buffer) ? GST_FLOW_OK : GST_FLOW_ERROR;
    gst_buffer_unref(buffer);
    return ret;
  }

  bool append(GstBuffer *buffer)
  {
    if (!have_info)
      return false;
    const guint ch = GST_AUDIO_INFO_CHANNELS(&info);
    if (dst && (GST_AUDIO_INFO_RATE(&info) != (gint)want_rate || ch != want_channels))
      return false; /* the format changed inside a run: the excerpt's size would be wrong */
    const gsize n = gst_buffer_get_size(buffer) / GST_AUDIO_INFO_BPF(&info);
    const guint64 begin = seen, end = seen + n;
    seen = end;
    const guint64 lo = std::max(begin, skip), hi = std::min(end, skip + take);
    if (!dst || hi <= lo)
      return true; /* pre-roll, or past the part */
    GstAudioBuffer ab;
    if (!gst_audio_buffer_map(&ab, &info, buffer, GST_MAP_READ))
      return false;
    const size_t from = lo - begin, count = hi - lo;
    float *out = dst + (lo - skip) * ch;
    const bool planar = GST_AUDIO_INFO_LAYOUT(&info) == GST_AUDIO_LAYOUT_NON_INTERLEAVED;
    const bool f32 = GST_AUDIO_INFO_FORMAT(&info) == GST_AUDIO_FORMAT_F32;
    if (f32 && !planar) {
      memcpy(out, (const float *)ab.planes[0] + from * ch, count * ch * sizeof(float));
    } else {
      for (guint c = 0; c < ch; c++) {
        const size_t step = planar ? 1 : ch, first = planar ? from : from * ch + c;
        const guint8 *plane = (const guint8 *)ab.planes[planar ? c : 0];
        if (f32) {
          const float *p = (const float *)plane + first;
          for (size_t i = 0; i < count; i++)
            out[i * ch + c] = p[i * step];
        } else {
          const gint16 *p = (const gint16 *)plane + first;
          for (size_t i = 0; i < count; i++)
            out[i * ch + c] = p[i * step] / 32768.0f;
        }
      }
    }
    gst_audio_buffer_unmap(&ab);
    return true;
  }

  static gboolean sink_event(GstPad *pad, GstObject *, GstEvent *event)
  {
    Impl *self = (Impl *)gst_pad_get_element_private(pad);
    if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
      GstCaps *caps;
      gst_event_parse_caps(event, &caps);
      self->have_info = gst_audio_info_from_caps(&self->info, caps) &&
                        (GST_AUDIO_INFO_FORMAT(&self->info) == GST_AUDIO_FORMAT_F32 ||
                         GST_AUDIO_INFO_FORMAT(&self->info) == GST_AUDIO_FORMAT_S16);
    }
    gst_event_unref(event);
    return TRUE;
  }

  static gboolean sink_query(GstPad *pad, GstObject *parent, GstQuery *query)
  {
    switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_CAPS: {
      GstCaps *filter, *caps = gst_pad_get_pad_template_caps(pad);
      gst_query_parse_caps(query, &filter);
      if (filter) {
        GstCaps *both = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
        gst_caps_unref(caps);
        caps = both;
      }
      gst_query_set_caps_result(query, caps);
      gst_caps_unref(caps);
      return TRUE;
    }
    case GST_QUERY_ACCEPT_CAPS: {
      GstCaps *caps, *templ = gst_pad_get_pad_template_caps(pad);
      gst_query_parse_accept_caps(query, &caps);
      gst_query_set_accept_caps_result(query, gst_caps_is_subset(caps, templ));
      gst_caps_unref(templ);
      return TRUE;
    }
    default:
      return gst_pad_query_default(pad, parent, query);
    }
  }

  static gboolean src_event(GstPad *, GstObject *, GstEvent *event)
  {
    gst_event_unref(event); /* upstream events (QoS, reconfigure): nothing to do */
    return TRUE;
  }

  bool setup(GError **error)
  {
    GstElementFactory *factory = nullptr;
    if (!options.decoder.empty()) {
      factory = gst_element_factory_find(options.decoder.c_str());
    } else {
      GList *all = gst_element_factory_list_get_elements(
          (GstElementFactoryListType)(GST_ELEMENT_FACTORY_TYPE_DECODER |
                                      GST_ELEMENT_FACTORY_TYPE_MEDIA_AUDIO),
          GST_RANK_MARGINAL);
      GstCaps *adts = gst_caps_from_string("audio/mpeg, mpegversion=(int)4, stream-format=adts");
      GList *fit = gst_element_factory_list_filter(all, adts, GST_PAD_SINK, FALSE);
      fit = g_list_sort(fit, (GCompareFunc)gst_plugin_feature_rank_compare_func);
      if (fit)
        factory = (GstElementFactory *)gst_object_ref(fit->data);
      gst_plugin_feature_list_free(fit);
      gst_plugin_feature_list_free(all);
      gst_caps_unref(adts);
    }
    if (factory) {
      decoder = gst_element_factory_create(factory, nullptr);
      gst_object_unref(factory);
    }
    if (!decoder) {
      g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kDecoder,
                  "No AAC decoder available%s%s: install gstreamer1.0-libav (avdec_aac).",
                  options.decoder.empty() ? "" : " named ", options.decoder.c_str());
      return false;
    }
    gst_object_ref_sink(decoder);
    bus = gst_bus_new();
    gst_element_set_bus(decoder, bus);

    GstPadTemplate *src_t = gst_pad_template_new(
        "src", GST_PAD_SRC, GST_PAD_ALWAYS, gst_caps_from_string("audio/mpeg"));
    GstCaps *raw = gst_caps_from_string("audio/x-raw, format=(string){ F32LE, S16LE }, "
                                        "layout=(string){ interleaved, non-interleaved }");
    GstPadTemplate *sink_t = gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, raw);
    gst_caps_unref(raw);
    srcpad = gst_pad_new_from_template(src_t, "src");
    sinkpad = gst_pad_new_from_template(sink_t, "sink");
    gst_object_unref(src_t);
    gst_object_unref(sink_t);
    gst_object_ref_sink(srcpad);
    gst_object_ref_sink(sinkpad);
    gst_pad_set_element_private(sinkpad, this);
    gst_pad_set_chain_function(sinkpad, chain);
    gst_pad_set_event_function(sinkpad, sink_event);
    gst_pad_set_query_function(sinkpad, sink_query);
    gst_pad_set_event_function(srcpad, src_event);

    GstPad *dec_sink = gst_element_get_static_pad(decoder, "sink");
    GstPad *dec_src = gst_element_get_static_pad(decoder, "src");
    const bool linked = dec_sink && dec_src && gst_pad_link(srcpad, dec_sink) == GST_PAD_LINK_OK &&
                        gst_pad_link(dec_src, sinkpad) == GST_PAD_LINK_OK;
    if (dec_sink)
      gst_object_unref(dec_sink);
    if (dec_src)
      gst_object_unref(dec_src);
    gst_pad_set_active(srcpad, TRUE);
    gst_pad_set_active(sinkpad, TRUE);
    if (!linked || gst_element_set_state(decoder, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kDecoder,
                  "The AAC decoder %s could not be started.", GST_OBJECT_NAME(decoder));
      return false;
    }
    gchar *id = g_strdup_printf("montage-adts-%p", (void *)this);
    gst_pad_push_event(srcpad, gst_event_new_stream_start(id));
    g_free(id);
    return true;
  }

  std::string bus_error()
  {
    std::string out;
    while (GstMessage *msg = gst_bus_pop_filtered(bus, (GstMessageType)(GST_MESSAGE_ERROR |
                                                                        GST_MESSAGE_WARNING))) {
      GError *err = nullptr;
      if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
        gst_message_parse_error(msg, &err, nullptr);
      else
        gst_message_parse_warning(msg, &err, nullptr);
      if (err) {
        if (out.empty())
          out = err->message;
        g_error_free(err);
      }
      gst_message_unref(msg);
    }
    return out;
  }

  /* A clean decoder: nothing of the previous part carries over. */
  void restart()
  {
    gst_pad_push_event(srcpad, gst_event_new_flush_start());
    gst_pad_push_event(srcpad, gst_event_new_flush_stop(TRUE));
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    gst_pad_push_event(srcpad, gst_event_new_segment(&segment));
    gst_bus_set_flushing(bus, TRUE);
    gst_bus_set_flushing(bus, FALSE);
    seen = 0;
  }

  GstFlowReturn push_frame(const AdtsFrame &f, guint rate, bool discont)
  {
    GstBuffer *buf = gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY,
                                                 (gpointer)(data + f.offset), f.size, 0, f.size,
                                                 nullptr, nullptr);
    GST_BUFFER_PTS(buf) = gst_util_uint64_scale(f.sample, GST_SECOND, rate);
    GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(f.samples, GST_SECOND, rate);
    if (discont)
      GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
    return gst_pad_push(srcpad, buf);
  }

  void push_caps(size_t run)
  {
    const AdtsRun &r = index->runs()[run];
    GstCaps *caps = gst_caps_new_simple(
        "audio/mpeg", "mpegversion", G_TYPE_INT, 4, "stream-format", G_TYPE_STRING, "adts",
        "framed", G_TYPE_BOOLEAN, TRUE, "rate", G_TYPE_INT, (gint)r.sample_rate, "channels",
        G_TYPE_INT, (gint)std::max(1u, r.channels), NULL);
    have_info = false;
    gst_pad_push_event(srcpad, gst_event_new_caps(caps));
    gst_caps_unref(caps);
  }

  /* A decoder as freshly opened, for a part that starts at its run's first
   * frame (no frame before it to pre-roll from): a flush does not reset all
   * of FFmpeg's AAC decoder state (its first output differs after earlier
   * frames), so the decoder is closed and reopened (READY and back). */
  bool reopen(size_t run)
  {
    if (gst_element_set_state(decoder, GST_STATE_READY) == GST_STATE_CHANGE_FAILURE ||
        gst_element_set_state(decoder, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
      return false;
    gchar *id = g_strdup_printf("montage-adts-%p", (void *)this);
    gst_pad_push_event(srcpad, gst_event_new_stream_start(id));
    g_free(id);
    push_caps(run);
    return true;
  }

  /* Gives the decoder run `run`'s caps and learns its output format by
   * decoding the run's first frames (nothing is kept). Also takes the
   * decoder's first-use costs (tables, buffer pools) out of the first
   * excerpt. No-op when already done for this run. */
  bool prepare(size_t run, GError **error)
  {
    if (caps_run == run)
      return true;
    const AdtsRun &r = index->runs()[run];
    push_caps(run);
    restart();
    dst = nullptr;
    GstFlowReturn flow = GST_FLOW_OK;
    const size_t n = std::min<guint64>(r.frames, 4);
    for (size_t i = 0; i < n && flow == GST_FLOW_OK && !(have_info && seen); i++)
      flow = push_frame(index->frame(r.first_frame + i), r.sample_rate, i == 0);
    if (flow == GST_FLOW_OK && !(have_info && seen))
      gst_pad_push_event(srcpad, gst_event_new_eos()); /* drain: some decoders hold a frame */
    if (!have_info || !seen) {
      const std::string bus_msg = bus_error();
      g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kDecoder,
                  "The AAC decoder %s decoded nothing from the first frames at %.3f s%s%s.",
                  GST_OBJECT_NAME(decoder), r.start / 1e9, bus_msg.empty() ? "" : ": ",
                  bus_msg.c_str());
      return false;
    }
    caps_run = run;
    return true;
  }

  /* Output format for run `run` (after prepare()). */
  guint out_rate() const { return GST_AUDIO_INFO_RATE(&info); }
  guint out_channels() const { return GST_AUDIO_INFO_CHANNELS(&info); }

  /* Decodes run samples [first, first + count) of the decoder timeline from
   * one (preroll_frames) frame early and writes output samples
   * [0, take) of that range to `out` (take already scaled to the output
   * rate, which may differ from the header rate with implicit SBR). */
  bool decode_part(size_t run, guint64 first, guint64 count, float *out, guint64 out_take,
                   GError **error)
  {
    if (!prepare(run, error))
      return false;
    const AdtsRun &r = index->runs()[run];
    const size_t k = index->find_frame(run, first);
    const size_t k_last = index->find_frame(run, first + count - 1);
    const size_t k0 = k - std::min<size_t>(options.preroll_frames, k - r.first_frame);
    const guint rate = out_rate(), channels = out_channels();
    if (k0 == r.first_frame && !reopen(run)) {
      g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kDecoder,
                  "The AAC decoder %s could not be restarted.", GST_OBJECT_NAME(decoder));
      return false;
    }
    restart();
    AdtsFrame f = index->frame(k0);
    dst = out;
    want_rate = rate;
    want_channels = channels;
    skip = gst_util_uint64_scale(first - f.sample, rate, r.sample_rate);
    take = out_take;
    guint64 pushed_samples = 0;
    GstFlowReturn flow = GST_FLOW_OK;
    for (size_t i = k0; i <= k_last && flow == GST_FLOW_OK; i++) {
      if (i > k0)
        f = index->frame(i);
      pushed_samples += f.samples;
      flow = push_frame(f, r.sample_rate, i == k0);
    }
    const guint64 expected = gst_util_uint64_scale(pushed_samples, rate, r.sample_rate);
    /* FFmpeg's and faad's AAC decoders output every frame at once; drain
     * only when a decoder held something back. */
    if (flow == GST_FLOW_OK && seen < expected)
      gst_pad_push_event(srcpad, gst_event_new_eos());
    dst = nullptr;
    const std::string bus_msg = flow == GST_FLOW_OK && seen == expected ? "" : bus_error();
    if (flow != GST_FLOW_OK) {
      g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kDecoder,
                  "The AAC decoder failed%s%s (%s).", bus_msg.empty() ? "" : ": ", bus_msg.c_str(),
                  gst_flow_get_name(flow));
      return false;
    }
    if (seen != expected) {
      g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kDecoder,
                  "The AAC decoder returned %" G_GUINT64_FORMAT " samples for %" G_GUINT64_FORMAT
                  " (frames %" G_GSIZE_FORMAT "-%" G_GSIZE_FORMAT
                  " damaged?)%s%s: the excerpt would not be sample-exact.",
                  seen, expected, k0, k_last, bus_msg.empty() ? "" : ": ", bus_msg.c_str());
      return false;
    }
    return true;
  }
};

/* The decoders beyond the first, each with a thread that lives as long as the
 * extractor and sleeps between excerpts. An excerpt is cut into parts that
 * the calling thread and the helpers take one at a time, so a core taken by
 * another process slows one part, not the whole excerpt. The calling thread
 * writes its parts straight into the excerpt; a helper decodes into its own
 * buffer and copies the part in when done. When the calling thread runs out
 * of parts and a helper's part is late (the helper was preempted on a busy
 * machine), it decodes that part itself and whichever copy finishes first
 * is used, so an excerpt never waits for a descheduled thread. */
struct AdtsExtractor::Pool {
  enum class State { kFree, kTaken, kCommitting, kDone };
  struct Part {
    guint64 first, count;  /* decoder timeline, run samples */
    guint64 out_offset;    /* output samples before it in the excerpt */
    guint64 out_take;      /* output samples it writes */
    State state = State::kFree;
    bool stolen = false;   /* the calling thread decodes it too */
    guint failures = 0;    /* copies of it that failed */
    gint64 taken_at = 0;   /* monotonic us */
  };

  std::vector<std::unique_ptr<Impl>> helpers;
  std::vector<std::thread> threads;
  std::mutex lock;
  std::condition_variable wake, done;
  bool quit = false;
  /* The current excerpt (guarded by lock). */
  guint64 job = 0; /* counts excerpts; a helper late from an earlier one commits nothing */
  size_t run = 0;
  float *dst = nullptr;
  guint channels = 0;
  std::vector<Part> parts;
  size_t next = 0, finished = 0;
  GError *error = nullptr;
  guint64 parts_total = 0, parts_redone = 0; /* counters over the extractor's life */

  ~Pool()
  {
    {
      std::lock_guard<std::mutex> guard(lock);
      quit = true;
    }
    wake.notify_all();
    for (std::thread &t : threads)
      t.join();
    g_clear_error(&error);
  }

  /* Decodes part i of job `id` into `out` (nullptr: into im's own buffer,
   * then copied in if still wanted). Called and returns with `l` held. */
  void decode(Impl &im, size_t i, guint64 id, bool direct, std::unique_lock<std::mutex> &l)
  {
    const Part p = parts[i];
    const size_t r = run;
    float *final_out = dst + p.out_offset * channels;
    const size_t n = p.out_take * channels;
    if (!direct && im.scratch.size() < n)
      im.scratch.resize(n);
    l.unlock();
    GError *err = nullptr;
    const bool ok =
        im.decode_part(r, p.first, p.count, direct ? final_out : im.scratch.data(), p.out_take, &err);
    l.lock();
    if (job != id || parts[i].state == State::kDone || parts[i].state == State::kCommitting ||
        (!ok && ++parts[i].failures < (parts[i].stolen ? 2 : 1))) {
      g_clear_error(&err); /* the other copy of the part is used (or the excerpt is over) */
      return;
    }
    if (!ok) {
      if (!error)
        error = err;
      else
        g_clear_error(&err);
    } else if (!direct) {
      parts[i].state = State::kCommitting;
      l.unlock();
      memcpy(final_out, im.scratch.data(), n * sizeof(float));
      l.lock();
    }
    parts[i].state = State::kDone;
    finished++;
    done.notify_all();
  }

  void helper_main(Impl *im)
  {
    std::unique_lock<std::mutex> l(lock);
    for (;;) {
      wake.wait(l, [&] { return quit || (next < parts.size() && !error); });
      if (quit)
        return;
      const size_t i = next++;
      parts[i].state = State::kTaken;
      parts[i].taken_at = g_get_monotonic_time();
      decode(*im, i, job, false, l);
    }
  }

  /* The calling thread: its own parts, then helpers' late parts, until the
   * excerpt is complete or failed. */
  void run_job(Impl &im, std::unique_lock<std::mutex> &l)
  {
    const guint64 id = job;
    gint64 own_us = 0; /* time of the calling thread's slowest part so far */
    while (finished < parts.size() && !error) {
      if (next < parts.size()) {
        const size_t i = next++;
        parts[i].state = State::kTaken;
        const gint64 t0 = g_get_monotonic_time();
        decode(im, i, id, true, l);
        own_us = std::max(own_us, g_get_monotonic_time() - t0);
        continue;
      }
      /* Every part is taken. Wait for the helpers as long as a part takes
       * here (at least 1 ms), then decode the oldest late part too. */
      const gint64 now = g_get_monotonic_time(), patience = std::max<gint64>(1000, own_us);
      size_t late = parts.size();
      gint64 deadline = G_MAXINT64;
      for (size_t i = 0; i < parts.size(); i++) {
        if (parts[i].state != State::kTaken || parts[i].stolen)
          continue;
        if (now - parts[i].taken_at >= patience) {
          late = i;
          break;
        }
        deadline = std::min(deadline, parts[i].taken_at + patience);
      }
      if (late < parts.size()) {
        parts[late].stolen = true;
        parts_redone++;
        const gint64 t0 = g_get_monotonic_time();
        decode(im, late, id, false, l);
        own_us = std::max(own_us, g_get_monotonic_time() - t0);
        continue;
      }
      if (deadline == G_MAXINT64)
        done.wait(l);  /* only parts being copied in or already stolen: wait */
      else
        done.wait_for(l, std::chrono::microseconds(deadline - now));
    }
  }
};

AdtsExtractor::~AdtsExtractor() = default;

std::unique_ptr<AdtsExtractor> AdtsExtractor::open(const std::string &path, const AdtsIndex &index,
                                                   const AdtsExtractOptions &options,
                                                   GError **error)
{
  std::unique_ptr<AdtsExtractor> ex(new AdtsExtractor());
  ex->impl_.reset(new Impl());
  Impl &im = *ex->impl_;
  GError *map_error = nullptr;
  im.map = g_mapped_file_new(path.c_str(), FALSE, &map_error);
  if (!im.map) {
    g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kIo, "Cannot read %s: %s", path.c_str(),
                map_error->message);
    g_error_free(map_error);
    return nullptr;
  }
  im.data = (const guint8 *)g_mapped_file_get_contents(im.map);
  im.size = g_mapped_file_get_length(im.map);
  im.index = &index;
  im.options = options;
  /* The index must be this file's: same size, and frames where it says. */
  bool matches = im.size == index.file_size() && index.frame_count() > 0;
  for (size_t i : {(size_t)0, index.frame_count() / 2, index.frame_count() - 1}) {
    if (!matches)
      break;
    AdtsFrame f = index.frame(i);
    AdtsHeader h;
    matches = f.offset + f.size <= im.size &&
              parse_adts_header(im.data + f.offset, im.size - f.offset, h) &&
              h.frame_length == f.size;
  }
  if (!matches) {
    g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kBadIndex,
                "The ADTS index does not match %s (the file changed?): rebuild the index.",
                path.c_str());
    return nullptr;
  }
  /* Every decoder is created and run over the first frames now, so the first
   * excerpt pays no first-use costs. */
  if (!im.setup(error) || !im.prepare(0, error))
    return nullptr;
  ex->pool_.reset(new Pool());
  Pool &pool = *ex->pool_;
  guint n = options.decoders ? options.decoders : std::min(4u, g_get_num_processors());
  n = std::clamp(n, 1u, 8u);
  for (guint i = 1; i < n; i++) {
    std::unique_ptr<Impl> helper(new Impl());
    helper->map = g_mapped_file_ref(im.map);
    helper->data = im.data;
    helper->size = im.size;
    helper->index = &index;
    helper->options = options;
    if (!helper->setup(nullptr) || !helper->prepare(0, nullptr))
      break; /* fewer decoders: still exact, only slower */
    pool.helpers.push_back(std::move(helper));
  }
  for (std::unique_ptr<Impl> &helper : pool.helpers)
    pool.threads.emplace_back(&Pool::helper_main, &pool, helper.get());
  return ex;
}

std::string AdtsExtractor::decoder_name() const
{
  GstElementFactory *f = impl_->decoder ? gst_element_get_factory(impl_->decoder) : nullptr;
  return f ? GST_OBJECT_NAME(f) : "";
}

guint AdtsExtractor::decoders() const
{
  return 1 + (guint)pool_->helpers.size();
}

void AdtsExtractor::part_counts(guint64 &parts, guint64 &redone) const
{
  std::lock_guard<std::mutex> guard(pool_->lock);
  parts = pool_->parts_total;
  redone = pool_->parts_redone;
}

bool AdtsExtractor::extract(GstClockTime start, GstClockTime end, PcmExcerpt &out, GError **error)
{
  const AdtsIndex &index = *impl_->index;
  const GstClockTime total = index.duration();
  if (!GST_CLOCK_TIME_IS_VALID(start) || !GST_CLOCK_TIME_IS_VALID(end) || end <= start) {
    g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kRange,
                "The excerpt is empty: its end must come after its start.");
    return false;
  }
  const guint priming = impl_->options.priming;
  const size_t run = index.run_at(start);
  const AdtsRun &r = index.runs()[run];
  const guint64 run_samples = r.samples > priming ? r.samples - priming : 0;
  const guint64 first = gst_util_uint64_scale_ceil(start - r.start, r.sample_rate, GST_SECOND);
  if (start >= total || first >= run_samples) {
    g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kRange,
                "The excerpt starts at %.6f s, at or after the end of the audio (%.6f s).",
                start / 1e9, total / 1e9);
    return false;
  }
  const GstClockTime run_end = r.start + r.duration();
  if (run + 1 < index.runs().size() && end > run_end) {
    g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kSpansRuns,
                "The excerpt %.6f-%.6f s spans a change of sample rate or channels at %.6f s: "
                "extract the parts before and after it separately.",
                start / 1e9, end / 1e9, run_end / 1e9);
    return false;
  }
  guint64 last = gst_util_uint64_scale_ceil(std::min(end, run_end) - r.start, r.sample_rate,
                                            GST_SECOND);
  last = std::min(last, run_samples);
  if (last <= first) {
    g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kRange,
                "The excerpt %.6f-%.6f s holds no sample.", start / 1e9, end / 1e9);
    return false;
  }
  return extract_samples(run, first, last - first, out, error);
}

bool AdtsExtractor::extract_samples(size_t run, guint64 first, guint64 count, PcmExcerpt &out,
                                    GError **error)
{
  Impl &im = *impl_;
  const AdtsIndex &index = *im.index;
  if (run >= index.runs().size() || count == 0 ||
      first + count + im.options.priming > index.runs()[run].samples) {
    g_set_error(error, MONTAGE_ADTS_ERROR, (gint)AdtsError::kRange,
                "The excerpt lies outside the audio.");
    return false;
  }
  const AdtsRun &r = index.runs()[run];
  if (!im.prepare(run, error))
    return false;
  const guint rate = im.out_rate(), ch = im.out_channels();
  const guint64 dec_first = first + im.options.priming; /* decoder timeline */
  auto to_out = [&](guint64 samples) { return gst_util_uint64_scale(samples, rate, r.sample_rate); };

  /* Parts of at least min_parallel_frames frames, on the frame grid of the
   * decoder timeline; one part when there is one decoder or the excerpt is short. */
  Pool &pool = *pool_;
  const guint64 grid = 1024;
  const guint64 part_samples = (guint64)std::max(1u, im.options.min_parallel_frames) * grid;
  std::vector<Pool::Part> parts;
  if (pool.helpers.empty() || count < 2 * part_samples) {
    parts.push_back({dec_first, count, 0, to_out(count)});
  } else {
    guint64 a = 0;
    while (a < count) {
      guint64 b = ((dec_first + a) / grid + part_samples / grid) * grid - dec_first;
      if (b >= count || count - b < part_samples / 2)
        b = count; /* no sliver at the end */
      parts.push_back({dec_first + a, b - a, to_out(a), to_out(b) - to_out(a)});
      a = b;
    }
  }
  out.rate = rate;
  out.channels = ch;
  out.start = r.start + gst_util_uint64_scale(first, GST_SECOND, r.sample_rate);
  out.samples.resize(to_out(count) * ch); /* keeps the capacity of a reused excerpt */

#ifdef MADV_WILLNEED
  /* Read-ahead for the bytes this excerpt decodes (a no-op in a warm page cache). */
  {
    const AdtsFrame fa = index.frame(index.find_frame(run, dec_first));
    const AdtsFrame fb = index.frame(index.find_frame(run, dec_first + count - 1));
    const size_t page = 4096;
    const size_t lo = (fa.offset > 8192 ? fa.offset - 8192 : 0) / page * page;
    madvise((void *)(im.data + lo), fb.offset + fb.size - lo, MADV_WILLNEED);
  }
#endif

  if (parts.size() == 1)
    return im.decode_part(run, dec_first, count, out.samples.data(), parts[0].out_take, error);

  std::unique_lock<std::mutex> l(pool.lock);
  pool.job++;
  pool.run = run;
  pool.dst = out.samples.data();
  pool.channels = ch;
  pool.parts = std::move(parts);
  pool.parts_total += pool.parts.size();
  pool.next = pool.finished = 0;
  g_clear_error(&pool.error);
  pool.wake.notify_all();
  pool.run_job(im, l);
  /* A helper still decoding a part of this excerpt (decoded by this thread
   * meanwhile, or the excerpt failed) sees the job change and keeps nothing. */
  pool.job++;
  pool.parts.clear();
  pool.next = pool.finished = 0;
  if (pool.error) {
    g_propagate_error(error, pool.error);
    pool.error = nullptr;
    return false;
  }
  return true;
}

} // namespace montage
