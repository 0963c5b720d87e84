/* tools/text.h: text the tool prints about files.
 *
 * Every message of gst-montage-1.0 (the planned path, --live, extract) is
 * UTF-8, whatever bytes a file name holds: a name that is not UTF-8 (Latin-1
 * from an old disk, a camera's card) printed raw made the line undecodable
 * on a UTF-8 terminal or in a log.
 */
#pragma once

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

/* What is said of a clip that is a still image (a PNG, a JPEG photo: what
 * GStreamer's type finders call image/...), or "" when `path` is not one:
 * "a still image (PNG), not a video: ...". The analysis decodes
 * such a file as one frame without a length, and said "no video frames
 * could be decoded" (the planned path) or "it has no video stream"
 * (--live), which do not say what is wrong with it. Reads the first 64 KiB
 * of a regular file (nothing else is one). */
inline std::string still_image(const char *path)
{
  GStatBuf st;
  if (g_stat(path, &st) != 0 || !S_ISREG(st.st_mode))
    return ""; /* opening a FIFO to read would wait for a writer */
  FILE *f = g_fopen(path, "rb");
  if (!f)
    return "";
  std::vector<guint8> head(64 * 1024);
  head.resize(fread(head.data(), 1, head.size(), f));
  fclose(f);
  if (head.empty())
    return "";
  GstCaps *caps = gst_type_find_helper_for_data(nullptr, head.data(), head.size(), nullptr);
  std::string out;
  if (caps && !gst_caps_is_empty(caps) &&
      g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "image/")) {
    gchar *what = gst_pb_utils_get_codec_description(caps);
    out = std::string("a still image (") + (what ? what : "image") +
          "), not a video: clips are video files (for example MP4/H.264, WebM, AVI)";
    g_free(what);
  }
  if (caps)
    gst_caps_unref(caps);
  return out;
}
inline std::string still_image(const std::string &path)
{
  return still_image(path.c_str());
}

/* Whether `path` is a montage gst-montage rendered: its container's tags
 * (GstDiscoverer, within 10 s) carry the application name every render sets
 * (montage::tagged_as_montage(), encoder.h). Only a regular file that opens
 * with an ISO base media 'ftyp' box (MP4, MOV: the only container the tool
 * writes) is discovered; any other costs a 12-byte read. False when it
 * cannot be read or discovered (the analysis then says why). */
inline bool made_by_gst_montage(const char *path)
{
  GStatBuf st;
  if (g_stat(path, &st) != 0 || !S_ISREG(st.st_mode))
    return false; /* opening a FIFO to read would wait for a writer */
  FILE *f = g_fopen(path, "rb");
  if (!f)
    return false;
  guint8 head[12];
  const bool iso =
      fread(head, 1, sizeof head, f) == sizeof head && memcmp(head + 4, "ftyp", 4) == 0;
  fclose(f);
  if (!iso)
    return false;
  GstDiscoverer *disc = gst_discoverer_new(10 * GST_SECOND, nullptr);
  gchar *abs = g_canonicalize_filename(path, nullptr);
  gchar *uri = g_filename_to_uri(abs, nullptr, nullptr);
  g_free(abs);
  bool made = false;
  if (disc && uri) {
    if (GstDiscovererInfo *info = gst_discoverer_discover_uri(disc, uri, nullptr)) {
      made = montage::tagged_as_montage(gst_discoverer_info_get_tags(info));
      gst_discoverer_info_unref(info);
    }
  }
  g_free(uri);
  if (disc)
    g_object_unref(disc);
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

/* The base name of `path` as shown(). */
inline std::string shown_base_name(const std::string &path)
{
  gchar *base = g_path_get_basename(path.c_str());
  std::string out = shown(base);
  g_free(base);
  return out;
}

} // namespace montage_tool
