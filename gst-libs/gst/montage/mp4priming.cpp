/* gst-montage: make an MP4's AAC track skip its encoder's priming (see mp4priming.h). */
#include <gst/montage/mp4priming.h>

#include <gio/gio.h>
#include <gst/audio/audio.h>
#include <gst/gst.h>

#include <cstring>
#include <vector>

GST_DEBUG_CATEGORY_STATIC(montage_mp4priming_debug);
#define GST_CAT_DEFAULT montage_mp4priming_debug

namespace montage
{

GQuark mp4_error_quark()
{
  return g_quark_from_static_string("montage-mp4-error-quark");
}

namespace
{

/* A moov larger than this is not one mp4mux wrote for a render (an hour of
 * 60 fps video with sound indexes in a few MB). */
constexpr guint64 kMaxMoov = 256 * 1024 * 1024;

guint32 rd32(const guint8 *p)
{
  return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}
guint64 rd64(const guint8 *p)
{
  return (guint64)rd32(p) << 32 | rd32(p + 4);
}
void wr32(guint8 *p, guint32 v)
{
  p[0] = (guint8)(v >> 24);
  p[1] = (guint8)(v >> 16);
  p[2] = (guint8)(v >> 8);
  p[3] = (guint8)v;
}
void wr64(guint8 *p, guint64 v)
{
  wr32(p, (guint32)(v >> 32));
  wr32(p + 4, (guint32)v);
}

/* A box type for messages: its four characters, '?' for unprintable ones. */
std::string fourcc(const guint8 *p)
{
  std::string s(reinterpret_cast<const char *>(p), 4);
  for (char &c : s)
    if (!g_ascii_isprint(c))
      c = '?';
  return s;
}

/* A box inside the moov held in memory: its type and its payload. */
struct Box {
  std::string type;
  guint8 *payload;
  gsize size; /* of the payload, bytes */
};

/* The child boxes of `payload` (all of it is boxes), or false with an
 * error when one's size does not fit. */
bool children(guint8 *payload, gsize size, const char *parent, const std::string &path,
              std::vector<Box> &out, GError **error)
{
  out.clear();
  gsize off = 0;
  while (off < size) {
    if (size - off < 8) {
      g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kNotMp4,
                  "%s: %zu stray bytes at the end of the '%s' box", path.c_str(), size - off,
                  parent);
      return false;
    }
    guint8 *p = payload + off;
    guint64 box = rd32(p), header = 8;
    if (box == 1) {
      if (size - off < 16) {
        g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kNotMp4,
                    "%s: a box in '%s' is cut short", path.c_str(), parent);
        return false;
      }
      box = rd64(p + 8);
      header = 16;
    } else if (box == 0) {
      box = size - off;
    }
    if (box < header || box > size - off) {
      g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kNotMp4,
                  "%s: the '%s' box in '%s' claims %" G_GUINT64_FORMAT
                  " bytes where %zu are left: a damaged file",
                  path.c_str(), fourcc(p + 4).c_str(), parent, box, size - off);
      return false;
    }
    out.push_back({fourcc(p + 4), p + header, (gsize)(box - header)});
    off += box;
  }
  return true;
}

/* The one child of type `type` in `boxes`, or NULL. */
const Box *find(const std::vector<Box> &boxes, const char *type)
{
  for (const Box &b : boxes)
    if (b.type == type)
      return &b;
  return nullptr;
}

/* Whether `b`, a full box of type `type`, is there in version 0 or 1 and
 * holds `need0` or `need1` bytes for that version; false with an error
 * otherwise. */
bool full_box(const Box *b, const char *type, gsize need0, gsize need1, const std::string &path,
              GError **error)
{
  if (b && b->size >= 4 && b->payload[0] <= 1 && b->size >= (b->payload[0] ? need1 : need0))
    return true;
  g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected, "%s: %s '%s' box",
              path.c_str(), b ? "a short or unknown version of its" : "no", type);
  return false;
}

/* The moov's edits, validated; the changes are made on `moov` in memory.
 * `error` is not NULL and *error NULL. */
bool patch_moov(guint8 *moov, gsize size, guint priming, guint64 shown_samples,
                const std::string &path, GError **error)
{
  std::vector<Box> top;
  if (!children(moov, size, "moov", path, top, error))
    return false;
  if (find(top, "mvex")) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                "%s: a fragmented MP4 (its moov has an mvex box)", path.c_str());
    return false;
  }
  const Box *mvhd = find(top, "mvhd");
  if (!mvhd) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                "%s: no mvhd box in its moov", path.c_str());
    return false;
  }
  if (!full_box(mvhd, "mvhd", 20, 32, path, error))
    return false;
  const bool mvhd_v1 = mvhd->payload[0] == 1;
  const guint32 movie_scale = rd32(mvhd->payload + (mvhd_v1 ? 20 : 12));
  if (movie_scale == 0) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                "%s: its movie timescale is 0", path.c_str());
    return false;
  }

  /* Every track's tkhd (for the movie's duration) and the sound track. */
  std::vector<Box> tkhds;
  std::vector<Box> sound; /* its trak's children */
  guint sound_tracks = 0;
  for (const Box &trak : top) {
    if (trak.type != "trak")
      continue;
    std::vector<Box> t, mdia;
    if (!children(trak.payload, trak.size, "trak", path, t, error))
      return false;
    const Box *tkhd = find(t, "tkhd"), *m = find(t, "mdia");
    if (!full_box(tkhd, "tkhd", 24, 36, path, error))
      return false;
    tkhds.push_back(*tkhd);
    if (!m || !children(m->payload, m->size, "mdia", path, mdia, error)) {
      if (!m)
        g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                    "%s: a track without an mdia box", path.c_str());
      return false;
    }
    const Box *hdlr = find(mdia, "hdlr");
    if (!hdlr || hdlr->size < 12) {
      g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                  "%s: a track without a handler (hdlr) box", path.c_str());
      return false;
    }
    if (memcmp(hdlr->payload + 8, "soun", 4) == 0) {
      sound_tracks++;
      sound = t;
    }
  }
  if (sound_tracks != 1) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                "%s: %u sound tracks, not one", path.c_str(), sound_tracks);
    return false;
  }

  /* The sound track: AAC, at its media timescale. */
  std::vector<Box> mdia, minf, stbl, entries;
  const Box *tkhd = find(sound, "tkhd");
  if (!children(find(sound, "mdia")->payload, find(sound, "mdia")->size, "mdia", path, mdia, error))
    return false;
  const Box *mdhd = find(mdia, "mdhd"), *mi = find(mdia, "minf");
  if (!full_box(mdhd, "mdhd", 20, 32, path, error))
    return false;
  const bool mdhd_v1 = mdhd->payload[0] == 1;
  const guint32 media_scale = rd32(mdhd->payload + (mdhd_v1 ? 20 : 12));
  const guint64 media_duration = mdhd_v1 ? rd64(mdhd->payload + 24) : rd32(mdhd->payload + 16);
  const Box *st = nullptr, *stsd = nullptr;
  if (mi && children(mi->payload, mi->size, "minf", path, minf, error) &&
      (st = find(minf, "stbl")) && children(st->payload, st->size, "stbl", path, stbl, error))
    stsd = find(stbl, "stsd");
  if (*error)
    return false;
  if (!stsd || stsd->size < 8 || rd32(stsd->payload + 4) != 1 ||
      !children(stsd->payload + 8, stsd->size - 8, "stsd", path, entries, error) ||
      entries.size() != 1) {
    if (!*error)
      g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                  "%s: its sound track has no sample description, or several", path.c_str());
    return false;
  }
  const Box &entry = entries[0];
  if (entry.type != "mp4a" || entry.size < 28) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                "%s: its sound track is '%s', not AAC ('mp4a')", path.c_str(), entry.type.c_str());
    return false;
  }
  /* AudioSampleEntry (ISO/IEC 14496-12, 12.2.3): the rate is 16.16 fixed point. */
  const guint32 rate = rd32(entry.payload + 24) >> 16;
  if (media_scale == 0 || rate != media_scale) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                "%s: its sound track's sample rate %u Hz differs from its timescale %u",
                path.c_str(), rate, media_scale);
    return false;
  }
  if (media_duration <= priming) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                "%s: its sound track has %" G_GUINT64_FORMAT
                " samples, not more than the %u to skip",
                path.c_str(), media_duration, priming);
    return false;
  }
  if (media_duration - priming < shown_samples) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                "%s: its sound track has %" G_GUINT64_FORMAT
                " samples, fewer than the %u to skip and the %" G_GUINT64_FORMAT " to show",
                path.c_str(), media_duration, priming, shown_samples);
    return false;
  }

  /* Its edit list: empty edits, then the one that shows the media from 0. */
  std::vector<Box> edts;
  const Box *ed = find(sound, "edts"), *elst = nullptr;
  if (ed && children(ed->payload, ed->size, "edts", path, edts, error))
    elst = find(edts, "elst");
  if (*error)
    return false;
  if (!elst) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                "%s: its sound track has no edit list", path.c_str());
    return false;
  }
  if (!full_box(elst, "elst", 8, 8, path, error))
    return false;
  const bool elst_v1 = elst->payload[0] == 1;
  const gsize entry_size = elst_v1 ? 20 : 12;
  const guint32 count = rd32(elst->payload + 4);
  if (count == 0 || (elst->size - 8) / entry_size < count) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                "%s: its sound track's edit list holds %u edits in %zu bytes", path.c_str(), count,
                elst->size);
    return false;
  }
  for (guint32 i = 0; i < count; i++) {
    const guint8 *e = elst->payload + 8 + i * entry_size;
    const gint64 media_time = elst_v1 ? (gint64)rd64(e + 8) : (gint32)rd32(e + 4);
    const guint32 media_rate = rd32(e + (elst_v1 ? 16 : 8));
    const bool last = i + 1 == count;
    if (!last && media_time != -1) {
      g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                  "%s: its sound track's edit %u of %u shows media; only the last one may",
                  path.c_str(), i + 1, count);
      return false;
    }
    if (last && (media_time != 0 || media_rate != 0x10000)) {
      g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                  "%s: its sound track's last edit starts at media time %" G_GINT64_FORMAT
                  " at rate %.4f, not 0 at rate 1 (already skipping its priming?)",
                  path.c_str(), media_time, media_rate / 65536.0);
      return false;
    }
  }
  guint8 *e = elst->payload + 8 + (count - 1) * entry_size;
  const guint64 segment = elst_v1 ? rd64(e) : rd32(e);
  const bool tkhd_v1 = tkhd->payload[0] == 1;
  guint8 *tkhd_duration = tkhd->payload + (tkhd_v1 ? 28 : 20);
  const guint64 track_duration = tkhd_v1 ? rd64(tkhd_duration) : rd32(tkhd_duration);
  /* mp4mux's edit shows the whole media, its length in the movie timescale
   * rounded down; the new one shows the samples asked for, rounded to the
   * nearest tick, or else the media after the priming, rounded down too. */
  const guint64 whole = gst_util_uint64_scale(media_duration, movie_scale, media_scale);
  const guint64 shown =
      shown_samples ? gst_util_uint64_scale_round(shown_samples, movie_scale, media_scale)
                    : gst_util_uint64_scale(media_duration - priming, movie_scale, media_scale);
  if (segment + 1 < whole || segment > whole + 1) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                "%s: its sound track's edit lasts %" G_GUINT64_FORMAT
                " and its media %" G_GUINT64_FORMAT " (movie timescale %u): it shows part of it",
                path.c_str(), segment, whole, movie_scale);
    return false;
  }
  if (shown >= segment || track_duration < segment - shown) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                "%s: its sound track is too short to skip %u samples", path.c_str(), priming);
    return false;
  }
  const guint64 cut = segment - shown;

  /* Validated: change the numbers. */
  if (elst_v1) {
    wr64(e, shown);
    wr64(e + 8, priming);
  } else {
    wr32(e, (guint32)shown);
    wr32(e + 4, priming);
  }
  if (tkhd_v1)
    wr64(tkhd_duration, track_duration - cut);
  else
    wr32(tkhd_duration, (guint32)(track_duration - cut));
  /* The movie lasts as long as its longest track. */
  guint64 longest = 0;
  for (const Box &t : tkhds)
    longest = MAX(longest, t.payload[0] == 1 ? rd64(t.payload + 28) : rd32(t.payload + 20));
  if (mvhd_v1)
    wr64(mvhd->payload + 24, longest);
  else
    wr32(mvhd->payload + 16, (guint32)longest);
  return true;
}

/* Reads exactly `size` bytes at `offset` of `in` (seeking `seekable`, the
 * stream `in` reads: the file's GFileIOStream or its GFileInputStream);
 * false with an error otherwise. */
bool read_at(GSeekable *seekable, GInputStream *in, guint64 offset, guint8 *buf, gsize size,
             const std::string &path, GError **error)
{
  GError *err = nullptr;
  gsize got = 0;
  if (!g_seekable_seek(seekable, (goffset)offset, G_SEEK_SET, nullptr, &err) ||
      !g_input_stream_read_all(in, buf, size, &got, nullptr, &err) || got != size) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kIo,
                "%s: cannot read %zu bytes at offset %" G_GUINT64_FORMAT ": %s", path.c_str(), size,
                offset, err ? err->message : "the file ends before");
    g_clear_error(&err);
    return false;
  }
  return true;
}

bool read_at(GFileIOStream *stream, guint64 offset, guint8 *buf, gsize size,
             const std::string &path, GError **error)
{
  return read_at(G_SEEKABLE(stream), g_io_stream_get_input_stream(G_IO_STREAM(stream)), offset, buf,
                 size, path, error);
}

/* Finds the top-level moov: its offset and size with header, and the header's size. */
bool find_moov(GFileIOStream *stream, guint64 file_size, const std::string &path, guint64 &moov,
               guint64 &moov_size, guint &header, GError **error)
{
  bool found = false;
  for (guint64 off = 0; off < file_size;) {
    guint8 h[16];
    if (file_size - off < 8) {
      g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kNotMp4,
                  "%s: %" G_GUINT64_FORMAT " stray bytes at its end", path.c_str(),
                  file_size - off);
      return false;
    }
    if (!read_at(stream, off, h, 8, path, error))
      return false;
    guint64 box = rd32(h);
    guint hdr = 8;
    if (box == 1) {
      if (file_size - off < 16) {
        g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kNotMp4,
                    "%s: its last box header is cut short: a truncated file", path.c_str());
        return false;
      }
      if (!read_at(stream, off + 8, h + 8, 8, path, error))
        return false;
      box = rd64(h + 8);
      hdr = 16;
    } else if (box == 0) {
      box = file_size - off;
    }
    if (off == 0 && memcmp(h + 4, "ftyp", 4) != 0) {
      g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kNotMp4,
                  "%s: not an MP4 file (it does not start with an ftyp box)", path.c_str());
      return false;
    }
    if (box < hdr || box > file_size - off) {
      g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kNotMp4,
                  "%s: its '%s' box at offset %" G_GUINT64_FORMAT " claims %" G_GUINT64_FORMAT
                  " bytes where the file has %" G_GUINT64_FORMAT
                  " left: a truncated or damaged file",
                  path.c_str(), fourcc(h + 4).c_str(), off, box, file_size - off);
      return false;
    }
    if (memcmp(h + 4, "moof", 4) == 0) {
      g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                  "%s: a fragmented MP4 (it has a moof box)", path.c_str());
      return false;
    }
    if (memcmp(h + 4, "moov", 4) == 0) {
      if (found) {
        g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected, "%s: two moov boxes",
                    path.c_str());
        return false;
      }
      found = true;
      moov = off;
      moov_size = box;
      header = hdr;
    }
    off += box;
  }
  if (!found)
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kNotMp4,
                "%s: no moov box (the muxer did not finish the file)", path.c_str());
  return found;
}

void init_debug()
{
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(montage_mp4priming_debug, "montagemp4priming", 0,
                            "gst-montage MP4 AAC priming edit");
    g_once_init_leave(&once, 1);
  }
}

} // namespace

bool mp4_lacks_index(const std::string &path)
{
  GFile *file = g_file_new_for_path(path.c_str());
  GFileInputStream *stream = g_file_read(file, nullptr, nullptr);
  g_object_unref(file);
  if (!stream)
    return false;
  bool mdat = false, moov = false, valid = true;
  guint64 offset = 0;
  for (int boxes = 0; boxes < 4096 && !moov; boxes++) {
    guint8 head[16];
    if (!read_at(G_SEEKABLE(stream), G_INPUT_STREAM(stream), offset, head, 8, path, nullptr))
      break;
    guint64 size = rd32(head);
    for (int i = 4; i < 8; i++)
      valid = valid && g_ascii_isprint(head[i]);
    if (!valid)
      break;
    if (size == 1) {
      if (!read_at(G_SEEKABLE(stream), G_INPUT_STREAM(stream), offset + 8, head + 8, 8, path,
                   nullptr))
        break;
      size = rd64(head + 8);
    }
    mdat = mdat || memcmp(head + 4, "mdat", 4) == 0;
    moov = memcmp(head + 4, "moov", 4) == 0;
    if (size < 8)
      break; /* 0: to the end of the file; else not a box */
    offset += size;
  }
  g_object_unref(stream);
  return valid && mdat && !moov;
}

guint aac_encoder_priming(const char *factory)
{
  if (g_strcmp0(factory, "voaacenc") == 0)
    return 1600;
  if (g_strcmp0(factory, "avenc_aac") == 0)
    return 1024;
  return 0;
}

guint64 aac_encoder_tail(const char *factory, guint64 samples)
{
  const guint priming = aac_encoder_priming(factory);
  if (priming == 0)
    return 0;
  constexpr guint64 kFrame = 1024; /* samples in an AAC-LC frame */
  const guint64 end = (samples + priming + kFrame - 1) / kFrame * kFrame;
  return end - samples;
}

namespace
{

/* The state of aac_encoder_keep_end()'s probe: the streaming thread's. */
struct EndProbe {
  std::shared_ptr<AacEncoderInput> input;
  std::string factory;
  GstAudioInfo info;
  bool have_info = false;
  bool padding = false; /* the silence is being given: not the stream's */
};

guint64 samples_in(const EndProbe *p, gsize bytes)
{
  return p->have_info && GST_AUDIO_INFO_BPF(&p->info) > 0 ? bytes / GST_AUDIO_INFO_BPF(&p->info)
                                                          : 0;
}

/* Gives the encoder behind `pad` its tail of silence, before the EOS. */
void give_silence(GstPad *pad, EndProbe *p)
{
  const guint64 n = aac_encoder_tail(p->factory.c_str(), p->input->samples.load());
  if (n == 0 || !p->have_info)
    return;
  const gsize size = n * GST_AUDIO_INFO_BPF(&p->info);
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, size, nullptr);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  gst_audio_format_info_fill_silence(p->info.finfo, map.data, size);
  gst_buffer_unmap(buf, &map);
  if (GST_AUDIO_INFO_LAYOUT(&p->info) == GST_AUDIO_LAYOUT_NON_INTERLEAVED)
    gst_buffer_add_audio_meta(buf, &p->info, n, nullptr);
  /* No timestamps: a segment that stops at the stream's end would clip
   * them away; untimestamped, they follow its last sample. */
  p->padding = true;
  const GstFlowReturn ret = gst_pad_chain(pad, buf);
  p->padding = false;
  if (ret == GST_FLOW_OK)
    p->input->silence.store(n);
  GST_DEBUG_OBJECT(pad, "%" G_GUINT64_FORMAT " samples of silence after %" G_GUINT64_FORMAT ": %s",
                   n, p->input->samples.load(), gst_flow_get_name(ret));
}

/* The samples `buf` carries: its GstAudioMeta's count where it has one (a
 * clipped non-interleaved buffer keeps its memory and shrinks only the
 * meta), else its size in frames. */
guint64 buffer_samples(const EndProbe *p, GstBuffer *buf)
{
  const GstAudioMeta *meta = gst_buffer_get_audio_meta(buf);
  return meta ? (guint64)meta->samples : samples_in(p, gst_buffer_get_size(buf));
}

GstPadProbeReturn on_encoder_input(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  auto *p = static_cast<EndProbe *>(data);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    if (!p->padding)
      p->input->samples += buffer_samples(p, GST_PAD_PROBE_INFO_BUFFER(info));
    return GST_PAD_PROBE_OK;
  }
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
    for (guint i = 0; !p->padding && i < gst_buffer_list_length(list); i++)
      p->input->samples += buffer_samples(p, gst_buffer_list_get(list, i));
    return GST_PAD_PROBE_OK;
  }
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_CAPS: {
    GstCaps *caps = nullptr;
    gst_event_parse_caps(event, &caps);
    p->have_info = gst_audio_info_from_caps(&p->info, caps);
    break;
  }
  case GST_EVENT_FLUSH_STOP:
    p->input->samples = 0;
    p->input->silence = 0;
    break;
  case GST_EVENT_SEGMENT: {
    /* A segment that stops at the stream's last sample (a demuxer's, which
     * knows the file's duration) made the encoder's last frames, those
     * holding the silence, fall past its stop, and the muxer left them out:
     * the sound again ended short (a --live mix of a song played to its
     * end, 2 frames). Open-ended, the silence is encoded and kept. */
    const GstSegment *segment = nullptr;
    gst_event_parse_segment(event, &segment);
    if (segment->format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID(segment->stop)) {
      GstSegment open = *segment;
      open.stop = GST_CLOCK_TIME_NONE;
      GstEvent *replaced = gst_event_new_segment(&open);
      gst_event_set_seqnum(replaced, gst_event_get_seqnum(event));
      gst_event_unref(event);
      GST_PAD_PROBE_INFO_DATA(info) = replaced;
    }
    break;
  }
  case GST_EVENT_EOS:
    give_silence(pad, p);
    break;
  default:
    break;
  }
  return GST_PAD_PROBE_OK;
}

} // namespace

std::shared_ptr<const AacEncoderInput> aac_encoder_keep_end(GstElement *encoder)
{
  init_debug();
  GstPad *sink = gst_element_get_static_pad(encoder, "sink");
  if (!sink)
    return nullptr;
  GstElementFactory *f = gst_element_get_factory(encoder);
  auto *probe = new EndProbe();
  probe->input = std::make_shared<AacEncoderInput>();
  probe->factory = f ? GST_OBJECT_NAME(f) : "";
  gst_audio_info_init(&probe->info);
  std::shared_ptr<const AacEncoderInput> out = probe->input;
  gst_pad_add_probe(sink,
                    (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
                                      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                    on_encoder_input, probe, [](gpointer d) { delete static_cast<EndProbe *>(d); });
  gst_object_unref(sink);
  return out;
}

bool mp4_skip_audio_priming(const std::string &path, guint priming_samples, GError **error_out,
                            guint64 shown_samples)
{
  if (priming_samples == 0)
    return true;
  init_debug();
  GError *local = nullptr, **error = &local;
  GFile *file = g_file_new_for_path(path.c_str());
  GError *err = nullptr;
  GFileIOStream *stream = g_file_open_readwrite(file, nullptr, &err);
  g_object_unref(file);
  if (!stream) {
    g_set_error(error_out, MONTAGE_MP4_ERROR, (gint)Mp4Error::kIo,
                "%s: cannot open it for writing: %s", path.c_str(), err->message);
    g_error_free(err);
    return false;
  }
  bool ok = g_seekable_seek(G_SEEKABLE(stream), 0, G_SEEK_END, nullptr, &err);
  const guint64 file_size = ok ? (guint64)g_seekable_tell(G_SEEKABLE(stream)) : 0;
  if (!ok) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kIo, "%s: cannot seek in it: %s",
                path.c_str(), err->message);
    g_clear_error(&err);
  }
  guint64 moov = 0, moov_size = 0;
  guint header = 0;
  ok = ok && find_moov(stream, file_size, path, moov, moov_size, header, error);
  if (ok && moov_size > kMaxMoov) {
    g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kUnexpected,
                "%s: a moov box of %" G_GUINT64_FORMAT " bytes", path.c_str(), moov_size);
    ok = false;
  }
  std::vector<guint8> buf(ok ? (gsize)(moov_size - header) : 0);
  ok = ok && read_at(stream, moov + header, buf.data(), buf.size(), path, error) &&
       patch_moov(buf.data(), buf.size(), priming_samples, shown_samples, path, error);
  if (ok) {
    gsize written = 0;
    if (!g_seekable_seek(G_SEEKABLE(stream), (goffset)(moov + header), G_SEEK_SET, nullptr, &err) ||
        !g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(stream)), buf.data(),
                                   buf.size(), &written, nullptr, &err)) {
      g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kIo,
                  "%s: cannot write its moov box: %s", path.c_str(), err->message);
      g_clear_error(&err);
      ok = false;
    }
  }
  if (!g_io_stream_close(G_IO_STREAM(stream), nullptr, &err)) {
    if (ok)
      g_set_error(error, MONTAGE_MP4_ERROR, (gint)Mp4Error::kIo, "%s: cannot close it: %s",
                  path.c_str(), err->message);
    g_clear_error(&err);
    ok = false;
  }
  g_object_unref(stream);
  if (local) {
    GST_INFO("%s: %s", path.c_str(), local->message);
    g_propagate_error(error_out, local);
  }
  if (ok)
    GST_INFO("%s: its sound track skips %u samples of encoder priming and shows %" G_GUINT64_FORMAT
             " (0: all the rest)",
             path.c_str(), priming_samples, shown_samples);
  return ok;
}

bool mp4_fix_audio_priming(const std::string &path, const char *aac_factory, std::string *note,
                           guint64 shown_samples)
{
  init_debug();
  const guint priming = aac_encoder_priming(aac_factory);
  if (priming == 0) {
    GST_WARNING("%s: the priming of the AAC encoder %s is not known: its audio may play late",
                path.c_str(), GST_STR_NULL(aac_factory));
    return false;
  }
  GError *err = nullptr;
  if (mp4_skip_audio_priming(path, priming, &err, shown_samples))
    return true;
  /* Fewer samples encoded than counted (an encoder not given its silence,
   * a count past a segment's stop): the priming is still skipped and the
   * sound shows all it has, rather than all of it playing late. Nothing
   * was written by the refused call. */
  GError *again = nullptr;
  if (shown_samples > 0 && mp4_skip_audio_priming(path, priming, &again, 0)) {
    gchar *text =
        g_strdup_printf("%s: its sound may end a little early: %s", path.c_str(), err->message);
    GST_WARNING("%s", text);
    if (note)
      *note = text;
    g_free(text);
    g_error_free(err);
    return true;
  }
  g_clear_error(&again);
  gchar *text =
      g_strdup_printf("%s: its audio may play %u samples (%.0f ms at 48 kHz) late: "
                      "cannot make it skip the %s encoder's priming: %s",
                      path.c_str(), priming, priming * 1000.0 / 48000, aac_factory, err->message);
  GST_WARNING("%s", text);
  if (note)
    *note = text;
  g_free(text);
  g_error_free(err);
  return false;
}

} // namespace montage
