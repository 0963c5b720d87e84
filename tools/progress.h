/* Progress display of gst-montage-1.0 on stderr.
 *
 * One status line redrawn in place (at most 5 times a second; narrower than
 * the terminal, 120 columns at most, file names cut between characters to 24
 * columns) while stderr is a terminal and --quiet is not given; nothing at
 * all otherwise, so logs and pipes get only the warnings and the final
 * summary. Thread-safe: the analysis workers report from their own threads.
 */
#pragma once

#include <gst/gst.h>

#include <mutex>
#include <string>
#include <vector>

namespace montage_tool {

class Progress {
public:
  /* enabled: draw at all (stderr is a terminal and not --quiet). */
  explicit Progress(bool enabled);

  /* Analysis of `n_items` inputs (the song and each clip). */
  void begin_analysis(size_t n_items);
  /* Item `index` (0-based, in begin_analysis order) named `name` reached
   * `fraction` (0..1) of its input; done marks it finished (ok or not). */
  void item(size_t index, const std::string &name, double fraction, bool done = false);

  /* Rendering: position and duration in ns; prints percent and ETA. */
  void render(GstClockTime position, GstClockTime duration);

  /* Prints `line` on its own line without garbling the status line. */
  void print(const std::string &line);

  /* Ends the status line (call before the final summary). */
  void finish();

  bool enabled() const { return enabled_; }

private:
  void draw(const std::string &status, bool force);
  bool enabled_;
  std::mutex lock_;
  std::vector<double> fractions_;
  std::vector<std::string> names_;
  std::vector<bool> done_;
  gint64 last_draw_us_ = 0;
  gint64 render_start_us_ = 0;
  size_t last_width_ = 0; /* terminal columns of the line drawn last */
  bool drawn_ = false;
};

} // namespace montage_tool
