/* tools/text.h: text the tool prints about files.
 *
 * Every message of gst-montage-1.0 (the planned path, --live, extract) is
 * UTF-8, whatever bytes a file name holds: a name that is not UTF-8 (Latin-1
 * from an old disk, a camera's card) printed raw made the line undecodable
 * on a UTF-8 terminal or in a log.
 */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <gst/base/gsttypefindhelper.h>
#include <gst/gst.h>
#include <gst/montage/encoder.h>
#include <gst/pbutils/pbutils.h>
#include <sys/stat.h>

#include <cstring>
#include <string>
#include <vector>

namespace montage_tool
{

/* `path` as a message shows it: UTF-8, with U+FFFD for bytes that are not
 * (g_filename_display_name()), as the status line shows names. */
inline std::string shown(const char *path)
{
  gchar *name = g_filename_display_name(path);
  std::string out(name);
  g_free(name);
  return out;
}
inline std::string shown(const std::string &path)
{
  return shown(path.c_str());
}

/* `line` as valid UTF-8 (U+FFFD for stray bytes): a message from GStreamer
 * or the OS may quote a file name as raw bytes. */
inline std::string valid_utf8(const gchar *line)
{
  gchar *valid = g_utf8_make_valid(line, -1);
  std::string out(valid);
  g_free(valid);
  return out;
}

/* What is said of an input that is an empty file (0 bytes), or "" when
 * `path` is not one. GStreamer's own words were "not a media file GStreamer
 * recognises (Stream contains no data.)", or with --live only "Stream
 * contains no data.", which do not say the file is empty. */
inline std::string empty_file(const char *path)
{
  GStatBuf st;
  if (g_stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != 0)
    return "";
  return "empty file (0 bytes)";
}
inline std::string empty_file(const std::string &path)
{
  return empty_file(path.c_str());
}

/* The caps GStreamer's type finders give the first 64 KiB of the regular
 * file `path` (NULL when it is no regular file, cannot be read, is empty
 * or is not recognised; unref when done). A FIFO is not opened: reading it
 * would wait for a writer. */
inline GstCaps *type_of_file_head(const char *path)
{
  GStatBuf st;
  if (g_stat(path, &st) != 0 || !S_ISREG(st.st_mode))
    return nullptr;
  FILE *f = g_fopen(path, "rb");
  if (!f)
    return nullptr;
  std::vector<guint8> head(64 * 1024);
  head.resize(fread(head.data(), 1, head.size(), f));
  fclose(f);
  if (head.empty())
    return nullptr;
  GstCaps *caps = gst_type_find_helper_for_data(nullptr, head.data(), head.size(), nullptr);
  if (caps && gst_caps_is_empty(caps)) {
    gst_caps_unref(caps);
    return nullptr;
  }
  return caps;
}

/* The file a symbolic link at `path` leads to, following links in turn (at
 * most 40, the kernel's own limit), the path itself when it is no link.
 * Outputs are written to a temporary file renamed into place: renamed onto
 * a link, that would replace the link, not update the file it names. A link
 * whose target does not exist yet gives that target (the file is made
 * there). Newly allocated. */
inline gchar *link_target(const char *path)
{
  gchar *at = g_strdup(path);
  for (int hops = 0; hops < 40 && g_file_test(at, G_FILE_TEST_IS_SYMLINK); hops++) {
    gchar *to = g_file_read_link(at, nullptr);
    if (!to)
      break;
    if (!g_path_is_absolute(to)) {
      gchar *dir = g_path_get_dirname(at);
      gchar *joined = g_build_filename(dir, to, NULL);
      g_free(dir);
      g_free(to);
      to = joined;
    }
    g_free(at);
    at = to;
  }
  return at;
}

/* Makes `*path` (a g_malloc'ed output path) name the file its symbolic link
 * leads to (link_target()), where that is a regular file or a file not made
 * yet: the link is kept and the file written. A link to anything else (a
 * device, a pipe: /dev/stdout) is left as it is, for the caller's check of
 * what the output is. */
inline void follow_output_link(gchar **path)
{
  if (!g_file_test(*path, G_FILE_TEST_IS_SYMLINK))
    return;
  gchar *to = link_target(*path);
  if (!g_file_test(to, G_FILE_TEST_EXISTS) || g_file_test(to, G_FILE_TEST_IS_REGULAR)) {
    g_free(*path);
    *path = to;
  } else {
    g_free(to);
  }
}

/* What is said of a clip that is an image (a PNG, a JPEG photo, a GIF:
 * what GStreamer's type finders call image/...), or "" when `path` is not
 * one: "a still image (PNG), not a video: ...". The analysis decodes a
 * still image as one frame without a length, and said "no video frames
 * could be decoded" (the planned path) or "it has no video stream"
 * (--live), which do not say what is wrong with it. A GIF, animated ones
 * too (what phones export from bursts), is named as such: GStreamer 1.22
 * gives no end to its decoding (the analysis waited 30 s for progress). */
inline std::string still_image(const char *path)
{
  GstCaps *caps = type_of_file_head(path);
  std::string out;
  const char *name = caps ? gst_structure_get_name(gst_caps_get_structure(caps, 0)) : "";
  if (!strcmp(name, "image/gif")) {
    out = "a GIF image, not a video: GIFs, animated ones too, are not taken as clips (GStreamer "
          "decodes them without an end); convert one to a video first (for example "
          "ffmpeg -i in.gif out.mp4)";
  } else if (g_str_has_prefix(name, "image/")) {
    gchar *what = gst_pb_utils_get_codec_description(caps);
    out = std::string("a still image (") + (what ? what : "image") +
          "), not a video: clips are video files (for example MP4/H.264, WebM, AVI)";
    g_free(what);
  }
  if (caps)
    gst_caps_unref(caps);
  return out;
}

/* Whether `path` is a GIF image (type_of_file_head()): such a file is left
 * out before its analysis, which would wait 30 s on GStreamer's decoder. */
inline bool gif_image(const char *path)
{
  GstCaps *caps = type_of_file_head(path);
  const bool gif = caps && gst_structure_has_name(gst_caps_get_structure(caps, 0), "image/gif");
  if (caps)
    gst_caps_unref(caps);
  return gif;
}
inline std::string still_image(const std::string &path)
{
  return still_image(path.c_str());
}

/* Whether GStreamer's type finders take the first 64 KiB of the regular
 * file `path` for audio or video: caps video/... (MP4 and MOV are
 * video/quicktime, WebM video/webm, AVI video/x-msvideo, MPEG-TS
 * video/mpegts), audio/..., application/ogg or application/mxf. False for
 * anything else: text, XML, a JPEG thumbnail, what no type finder knows. A
 * copy of a clip is skipped (expand_inputs()) only where this is true, so
 * that a camera card's identical sidecars are still summed up as not media
 * (montage_tool::not_media_in_dirs()) rather than warned one by one. */
inline bool audio_or_video(const char *path)
{
  GstCaps *caps = type_of_file_head(path);
  bool media = false;
  if (caps) {
    const char *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    media = g_str_has_prefix(name, "video/") || g_str_has_prefix(name, "audio/") ||
            !strcmp(name, "application/ogg") || !strcmp(name, "application/mxf");
    gst_caps_unref(caps);
  }
  return media;
}

namespace detail
{

/* Reads `size` bytes at `offset` of the seekable `in`; false when they
 * cannot all be read. */
inline bool read_at(GInputStream *in, guint64 offset, guint8 *buf, gsize size)
{
  gsize got = 0;
  return g_seekable_seek(G_SEEKABLE(in), (goffset)offset, G_SEEK_SET, nullptr, nullptr) &&
         g_input_stream_read_all(in, buf, size, &got, nullptr, nullptr) && got == size;
}

/* The first ISO base media box of type `type` (4 bytes) among the boxes from
 * byte `start` to byte `end` of `in`: true with its payload's offset and
 * size (bytes, after the 8- or 16-byte header); false when there is none,
 * a box's size does not fit in [start, end), or more than 4096 boxes come
 * before it (a fragmented MP4's moof/mdat pairs: its moov comes first). Only
 * the headers are read, one seek each. */
inline bool find_box(GInputStream *in, guint64 start, guint64 end, const char *type,
                     guint64 &payload, guint64 &size)
{
  constexpr int kMaxBoxes = 4096;
  guint64 off = start;
  for (int n = 0; n < kMaxBoxes && end >= 8 && off <= end - 8; n++) {
    guint8 h[16];
    if (!read_at(in, off, h, 8))
      return false;
    guint64 box = GST_READ_UINT32_BE(h), header = 8;
    if (box == 1) {
      if (end - off < 16 || !read_at(in, off + 8, h + 8, 8))
        return false;
      box = GST_READ_UINT64_BE(h + 8);
      header = 16;
    } else if (box == 0) {
      box = end - off; /* to the end of its parent */
    }
    if (box < header || box > end - off)
      return false;
    if (memcmp(h + 4, type, 4) == 0) {
      payload = off + header;
      size = box - header;
      return true;
    }
    off += box;
  }
  return false;
}

} // namespace detail

/* Whether `path` is a montage gst-montage rendered: its movie's metadata
 * carries the application name every render sets (montage::tag_as_montage(),
 * encoder.h). mp4mux 1.22 writes GST_TAG_APPLICATION_NAME as the iTunes-style
 * item moov/udta/meta/ilst/'©swr' (bytes A9 73 77 72; a 'data' box: 4 bytes of type, 4 of
 * locale, then the UTF-8 text), which qtdemux, and so GstDiscoverer, reads
 * back as application-name among the global tags; that item is read here
 * with GIO, box headers only up to it (a few reads of 8 bytes, whatever the
 * file's size; the copy mp4mux also writes in an XMP packet, as
 * tiff:Software in a top-level 'uuid' box, is not read). The text must be
 * montage::kMontageApplicationName exactly, as montage::tagged_as_montage()
 * asks of the tag. Only a regular file that opens with an ISO base media
 * 'ftyp' box (MP4, MOV: the only container the tool writes) is read
 * further; any other costs an 8-byte read. False when it cannot be read or
 * its boxes do not lead to the item (the analysis then says what is wrong
 * with it). Before, a GstDiscoverer looked at every MP4 for its tags:
 * about 129 M instructions a file, its threads included (callgrind: a
 * cached run over a folder of 3 MP4 clips took 885 M, 499 M now), where
 * this takes about 0.12 M (GIO's first use included). */
inline bool made_by_gst_montage(const char *path)
{
  GStatBuf st;
  if (g_stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 8)
    return false; /* opening a FIFO to read would wait for a writer */
  const guint64 file_size = (guint64)st.st_size;
  GFile *file = g_file_new_for_path(path);
  GFileInputStream *stream = g_file_read(file, nullptr, nullptr);
  g_object_unref(file);
  if (!stream)
    return false;
  GInputStream *in = G_INPUT_STREAM(stream);
  guint8 head[12];
  guint64 moov = 0, moov_size = 0, udta = 0, udta_size = 0, meta = 0, meta_size = 0, ilst = 0,
          ilst_size = 0, swr = 0, swr_size = 0, data = 0, data_size = 0;
  bool made = detail::read_at(in, 0, head, 8) && memcmp(head + 4, "ftyp", 4) == 0 &&
              detail::find_box(in, 0, file_size, "moov", moov, moov_size) &&
              detail::find_box(in, moov, moov + moov_size, "udta", udta, udta_size) &&
              detail::find_box(in, udta, udta + udta_size, "meta", meta, meta_size) &&
              meta_size >= 12 && detail::read_at(in, meta, head, 12);
  if (made) {
    /* 'meta' is a full box (4 bytes of version and flags before its
     * children) in ISO files; QuickTime's has none, its 'hdlr' right away. */
    const guint64 skip = memcmp(head + 4, "hdlr", 4) == 0 ? 0 : 4;
    made = detail::find_box(in, meta + skip, meta + meta_size, "ilst", ilst, ilst_size) &&
           detail::find_box(in, ilst, ilst + ilst_size, "\xa9swr", swr, swr_size) &&
           detail::find_box(in, swr, swr + swr_size, "data", data, data_size);
  }
  const std::string name = montage::kMontageApplicationName;
  if (made) {
    std::vector<guint8> text(name.size());
    made = data_size == 8 + name.size() &&
           detail::read_at(in, data + 8, text.data(), text.size()) &&
           memcmp(text.data(), name.data(), name.size()) == 0;
  }
  g_object_unref(stream);
  return made;
}
inline bool made_by_gst_montage(const std::string &path)
{
  return made_by_gst_montage(path.c_str());
}

/* The line said of a montage the tool made (made_by_gst_montage()) found
 * in a clip directory, which is skipped: an earlier run's output kept
 * beside the clips was analysed and cut into the next montage without a
 * word. A file named itself is a clip all the same. */
inline std::string montage_in_dir(const std::string &path)
{
  return "skipping " + shown(path) +
         ": a montage made by gst-montage (name it as a clip to use it)";
}

/* The one line said of the files found in clip directories that are not
 * media (a camera card's .THM, .XML or .json sidecars), on the planned path
 * and with --live alike, rather than a line each, which flooded the output:
 * "skipped N file(s) in the clip directories that is/are not media: NAMES
 * (-v lists them)", NAMES the first 5 of `names` (base names as shown())
 * and ", ..." when there are more. "" when `names` is empty. */
inline std::string not_media_in_dirs(const std::vector<std::string> &names)
{
  constexpr size_t kNamesShown = 5;
  if (names.empty())
    return "";
  std::string list;
  for (size_t i = 0; i < names.size() && i < kNamesShown; i++)
    list += (i ? ", " : "") + names[i];
  if (names.size() > kNamesShown)
    list += ", ...";
  const bool one = names.size() == 1;
  return "skipped " + std::to_string(names.size()) + (one ? " file" : " files") +
         " in the clip directories that " + (one ? "is" : "are") + " not media: " + list +
         " (-v lists them)";
}

/* The one line said of a clip folder `dir` (as named on the command line)
 * that holds subfolders, `subfolders` their names (sorted, not empty): the
 * tool takes only the files directly in a folder named and said nothing of
 * the rest, so a folder of folders gave a montage of its top level or "no
 * usable clip". "DIR: N subfolder(s) not searched (NAMES): clips are taken
 * only from the files directly in a folder named; name a subfolder too, such
 * as DIR/FIRST, to use its clips", NAMES the first 5 (as shown()) and ",
 * ..." when there are more. */
inline std::string subfolders_not_searched(const std::string &dir,
                                           const std::vector<std::string> &subfolders)
{
  constexpr size_t kNamesShown = 5;
  std::string list;
  for (size_t i = 0; i < subfolders.size() && i < kNamesShown; i++)
    list += (i ? ", " : "") + shown(subfolders[i]);
  if (subfolders.size() > kNamesShown)
    list += ", ...";
  gchar *first =
      g_build_filename(dir.c_str(), subfolders.empty() ? "" : subfolders[0].c_str(), NULL);
  const std::string example = shown(first);
  g_free(first);
  const bool one = subfolders.size() == 1;
  return shown(dir) + ": " + std::to_string(subfolders.size()) +
         (one ? " subfolder" : " subfolders") + " not searched (" + list +
         "): clips are taken only from the files directly in a folder named; name " +
         (one ? "the subfolder" : "a subfolder") + " too, such as " + example +
         ", to use its clips";
}

/* The name of the full-resolution original that the file named `name` (a
 * base name) is a camera's proxy or thumbnail of, when a file of that name
 * is among `names` (base names in the same folder, any case), or "": such
 * files repeat the original's footage at low resolution (a GoPro's .LRV was
 * cut into the montage as a clip of its own, 12 of 38 segments showing the
 * MP4's footage again). The rule, by extension (any case):
 * - .LRV (GoPro's low-resolution video): the original is the same name
 *   with .MP4 (GOPR0001.LRV, GP010001.LRV from the HERO5 on), or, for the
 *   HERO6's names and later, GL for GX or GH (GL010001.LRV of GX010001.MP4
 *   or GH010001.MP4);
 * - .THM (a thumbnail, a small JPEG: GoPro, Canon): the same name with
 *   .MP4, .MOV or .AVI;
 * - .LRF (DJI's low-resolution video): the same name with .MP4 or .MOV.
 * A proxy without its original is kept (it is then the only copy of that
 * footage). Sony's XAVC proxies are in PRIVATE/M4ROOT/SUB/, a subfolder,
 * which a folder scan does not search; Insta360's LRV_*.lrv name other
 * footage (360-degree .insv), which the tool does not take, so neither is
 * handled here. Named on the command line, a proxy is a clip all the same. */
inline std::string camera_proxy_of(const std::string &name, const std::vector<std::string> &names)
{
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0)
    return "";
  const std::string stem = name.substr(0, dot);
  gchar *upper = g_ascii_strup(name.c_str() + dot + 1, -1);
  const std::string ext = upper;
  g_free(upper);
  std::vector<std::string> candidates;
  auto with = [&](const std::string &s, std::initializer_list<const char *> exts) {
    for (const char *e : exts)
      candidates.push_back(s + "." + e);
  };
  if (ext == "LRV") {
    with(stem, {"MP4"});
    if (stem.size() > 2 && g_ascii_toupper(stem[0]) == 'G' && g_ascii_toupper(stem[1]) == 'L') {
      with(stem.substr(0, 1) + "X" + stem.substr(2), {"MP4"});
      with(stem.substr(0, 1) + "H" + stem.substr(2), {"MP4"});
    }
  } else if (ext == "THM") {
    with(stem, {"MP4", "MOV", "AVI"});
  } else if (ext == "LRF") {
    with(stem, {"MP4", "MOV"});
  }
  for (const std::string &c : candidates)
    for (const std::string &n : names)
      if (g_ascii_strcasecmp(c.c_str(), n.c_str()) == 0)
        return n;
  return "";
}

/* The one line said of the camera proxies and thumbnails left out of the
 * clip folder `dir` (camera_proxy_of()), `names` their base names as
 * shown() (not empty): "DIR: skipped N camera proxy/thumbnail file(s)
 * beside their full-resolution originals: NAMES (name one as a clip to use
 * it)", NAMES the first 5 and ", ..." when there are more. */
inline std::string camera_proxies_skipped(const std::string &dir,
                                          const std::vector<std::string> &names)
{
  constexpr size_t kNamesShown = 5;
  std::string list;
  for (size_t i = 0; i < names.size() && i < kNamesShown; i++)
    list += (i ? ", " : "") + names[i];
  if (names.size() > kNamesShown)
    list += ", ...";
  const bool one = names.size() == 1;
  return shown(dir) + ": skipped " + std::to_string(names.size()) + " camera proxy/thumbnail " +
         (one ? "file" : "files") + " beside " + (one ? "its" : "their") +
         " full-resolution original: " + list + " (name one as a clip to use it)";
}

/* The base name of `path` as shown(). */
inline std::string shown_base_name(const std::string &path)
{
  gchar *base = g_path_get_basename(path.c_str());
  std::string out = shown(base);
  g_free(base);
  return out;
}

} // namespace montage_tool
