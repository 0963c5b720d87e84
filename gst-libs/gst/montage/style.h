/* gst-montage: edit styles (pacing, selection weights, target, transitions).
 *
 * A style is a small key file (GLib GKeyFile syntax: [groups], key=value,
 * lists separated by ';', comments on lines starting with '#'). Three are
 * built in, compiled into the library from data/styles/NAME.style and also
 * installed to $datadir/gst-montage/styles/ as examples to copy:
 *
 *   balanced   the default: 4 beats per cut in calm sections, 2 in medium, 1 at peaks
 *   energetic  fast cuts (2 / 1 / 1 beats), targets high motion and colour
 *   calm       long holds (8 / 4 / 2 beats), match cuts on, dissolves at section changes
 *
 * docs/planner.md lists every key with its unit and range. A file sets only
 * the keys it changes: the rest keep the defaults below (the balanced style).
 */
#pragma once

#include <gst/montage/selection.h>
#include <gst/montage/types.h>

#include <string>
#include <vector>

namespace montage
{

/* How often to cut. Beats per cut (>= 1) come from the level of the music at
 * the cut: the section's level when the song has sections, else its energy
 * (< low_energy: low, >= high_energy: high, else medium). */
struct StylePacing {
  guint beats_per_cut_low = 4;
  guint beats_per_cut_medium = 2;
  guint beats_per_cut_high = 1;
  double low_energy = 0.35;  /* 0..1 */
  double high_energy = 0.75; /* 0..1, >= low_energy */
  /* No segment shorter than this (ns), unless the song gives no other way. */
  GstClockTime min_gap = 400 * GST_MSECOND;
  /* No segment longer than this (ns): cut on a beat where one lies within
   * it, and a stretch without beats (an intro, a break, the tail after the
   * last beat) longer than this into even segments off the beat (planner.h). */
  GstClockTime max_hold = 6 * GST_SECOND;
  /* Pacing cost per octave between a segment's beats and the wanted beats
   * (|log2(beats / wanted)|), and bonuses for a cut on a downbeat and on a
   * phrase start (>= 0). */
  double pace_weight = 1.0;
  double downbeat_bonus = 0.3;
  double phrase_bonus = 0.5;
  /* Bars per phrase (>= 1): phrase starts are every phrase_bars downbeats from
   * the first downbeat, and the first downbeat of each section. */
  guint phrase_bars = 4;
  /* Audio fade-out (ns) at the end of an edit shorter than the song; 0: none.
   * Capped at a quarter of the edit. */
  GstClockTime fade_out = 2 * GST_SECOND;
  /* How far (ns) from the requested length the edit may end to land on a
   * downbeat (then on any beat, then at the length itself). */
  GstClockTime end_search = 4 * GST_SECOND;
};

/* How cuts look. The planner records a transition per cut; the renderer
 * applies it. `duration` is centred on the cut (ns; 0 for a cut). */
struct StyleTransitions {
  Transition normal = Transition::kCut;         /* at ordinary cuts */
  Transition section_change = Transition::kCut; /* at the first cut of a section */
  GstClockTime duration = 0;                    /* of a dissolve or fade, ns */
};

struct Style {
  std::string name = "balanced";
  std::string description = "Cuts every 4 beats in calm sections, 2 in medium, 1 at peaks.";
  StylePacing pacing;
  SelectionWeights weights;
  TargetProfile target;
  StyleTransitions transitions;
  std::size_t neighbours = 12;    /* SelectionSettings::neighbours */
  std::size_t variety_window = 8; /* SelectionSettings::variety_window */
};

/* Names of the built-in styles, in a fixed order ("balanced" first). */
std::vector<std::string> builtin_style_names();

/* The text of built-in style `name` (the data/styles/NAME.style file it was
 * compiled from), or "" when there is none by that name. */
std::string builtin_style_text(const std::string &name);

/* Parses key-file text into `out`, starting from the defaults (Style{}).
 * `origin` names the text in error messages (a path or "built-in NAME").
 * Returns true on success; on failure false with `error` set (may be NULL):
 * G_KEY_FILE_ERROR_* for text that is not a key file, G_IO_ERROR_INVALID_DATA
 * naming the group and key for an unknown key, a value of the wrong type or
 * out of range. `out` is only written on success. */
bool parse_style(const std::string &text, const std::string &origin, Style &out, GError **error);

/* Loads a style by name or path, as the tool's --style takes it:
 * - a value containing '/' or ending in ".style" is a file path;
 * - otherwise a name: NAME.style in each directory of $GST_MONTAGE_STYLE_PATH
 *   (':'-separated), then in $XDG_DATA_HOME/gst-montage/styles, then the
 *   built-in styles.
 * Returns true on success; on failure false with `error` set: G_FILE_ERROR_*
 * when a path cannot be read, G_IO_ERROR_NOT_FOUND for an unknown name (the
 * message lists the built-in names), or parse_style()'s errors. */
bool load_style(const std::string &name_or_path, Style &out, GError **error);

/* The built-in balanced style (what Style{} holds). */
Style default_style();

} // namespace montage
