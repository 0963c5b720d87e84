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
#include <sys/stat.h>

#include <string>

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

} // namespace montage_tool
