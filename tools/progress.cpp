/* Progress display of gst-montage-1.0; see progress.h. */
#include "progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace montage_tool {

namespace
{

/* Columns of the widest status line (on a terminal at least as wide), and
 * of a file name in it. */
constexpr size_t kLineColumns = 120;
constexpr size_t kNameColumns = 24;

/* Terminal columns a character takes: two for a wide (East Asian) one, none
 * for a combining mark or another zero-width one, else one. */
size_t columns_of(gunichar c)
{
  return g_unichar_iszerowidth(c) ? 0 : g_unichar_iswide(c) ? 2 : 1;
}

size_t columns_of(const std::string &utf8)
{
  size_t n = 0;
  for (const gchar *p = utf8.c_str(); *p; p = g_utf8_next_char(p))
    n += columns_of(g_utf8_get_char(p));
  return n;
}

/* The start of `utf8` (valid UTF-8) that fits in `columns` terminal columns,
 * cut between characters, never inside one; a text that is cut ends in "..."
 * (one character, U+2026) when `ellipsis`. */
std::string fit_columns(const std::string &utf8, size_t columns, bool ellipsis)
{
  if (columns_of(utf8) <= columns)
    return utf8;
  const size_t room = ellipsis && columns > 0 ? columns - 1 : columns;
  size_t used = 0;
  const gchar *p = utf8.c_str();
  for (; *p; p = g_utf8_next_char(p)) {
    const size_t w = columns_of(g_utf8_get_char(p));
    if (used + w > room)
      break;
    used += w;
  }
  std::string out = utf8.substr(0, (size_t)(p - utf8.c_str()));
  return ellipsis && columns > 0 ? out + "\u2026" : out;
}

/* Columns the status line may take: one less than the terminal's (a line
 * that fills the last column wraps on some terminals, and each redraw then
 * starts on its second row, leaving the first behind), at most kLineColumns;
 * kLineColumns when stderr's terminal does not say. Asked at each draw, so a
 * resized window is followed. */
size_t line_columns()
{
  struct winsize size = {};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 1)
    return std::min<size_t>(kLineColumns, size.ws_col - 1u);
  return kLineColumns;
}

} // namespace

Progress::Progress(bool enabled) : enabled_(enabled) {}

void Progress::begin_analysis(size_t n_items)
{
  std::lock_guard<std::mutex> guard(lock_);
  fractions_.assign(n_items, 0.0);
  names_.assign(n_items, "");
  done_.assign(n_items, false);
}

void Progress::item(size_t index, const std::string &name, double fraction, bool done)
{
  if (!enabled_)
    return;
  std::lock_guard<std::mutex> guard(lock_);
  if (index >= fractions_.size())
    return;
  names_[index] = name;
  fractions_[index] = done ? 1.0 : std::clamp(fraction, 0.0, 1.0);
  done_[index] = done_[index] || done;
  size_t n_done = std::count(done_.begin(), done_.end(), true);
  double overall = 0;
  for (double f : fractions_)
    overall += f;
  overall /= std::max<size_t>(1, fractions_.size());
  std::string status = "analysing " + std::to_string(n_done) + "/" + std::to_string(done_.size()) +
                       " (" + std::to_string((int)(overall * 100)) + "%)";
  for (size_t i = 0; i < names_.size(); i++) {
    if (done_[i] || names_[i].empty())
      continue;
    /* The name as UTF-8 (bytes that are not are shown as U+FFFD), cut
     * between characters to its columns. */
    gchar *base = g_filename_display_basename(names_[i].c_str());
    status += " | " + fit_columns(base, kNameColumns, true) + " " +
              std::to_string((int)(fractions_[i] * 100)) + "%";
    g_free(base);
  }
  draw(status, done);
}

void Progress::render(GstClockTime position, GstClockTime duration)
{
  if (!enabled_ || !GST_CLOCK_TIME_IS_VALID(duration) || duration == 0)
    return;
  std::lock_guard<std::mutex> guard(lock_);
  gint64 now = g_get_monotonic_time();
  if (!render_start_us_)
    render_start_us_ = now;
  double fraction = std::min(1.0, (double)position / duration);
  double elapsed = (now - render_start_us_) / 1e6;
  gchar *status;
  if (fraction > 0.02 && fraction < 1.0)
    status = g_strdup_printf("rendering %3.0f%% (%.0f s, about %.0f s left)", fraction * 100,
                             elapsed, elapsed * (1 - fraction) / fraction);
  else
    status = g_strdup_printf("rendering %3.0f%% (%.0f s)", fraction * 100, elapsed);
  draw(status, fraction >= 1.0);
  g_free(status);
}

void Progress::draw(const std::string &status, bool force)
{
  gint64 now = g_get_monotonic_time();
  if (!force && now - last_draw_us_ < 200000)
    return;
  last_draw_us_ = now;
  const std::string line = fit_columns(status, line_columns(), false);
  const size_t width = columns_of(line);
  const size_t pad = last_width_ > width ? last_width_ - width : 0;
  fprintf(stderr, "\r%s%*s", line.c_str(), (int)pad, "");
  fflush(stderr);
  last_width_ = width;
  drawn_ = true;
}

void Progress::print(const std::string &line)
{
  std::lock_guard<std::mutex> guard(lock_);
  if (drawn_) {
    fprintf(stderr, "\r%*s\r", (int)last_width_, "");
    last_width_ = 0;
  }
  fprintf(stderr, "%s\n", line.c_str());
  fflush(stderr);
  last_draw_us_ = 0; /* redraw on the next update */
}

void Progress::finish()
{
  std::lock_guard<std::mutex> guard(lock_);
  if (drawn_)
    fprintf(stderr, "\r%*s\r", (int)last_width_, "");
  drawn_ = false;
  last_width_ = 0;
  render_start_us_ = 0;
}

} // namespace montage_tool
