/* gst-montage: the shot meta montagescene puts on the first frame of each shot.
 *
 * A tag-less GstCustomMeta (gst_meta_register_custom, GStreamer 1.20+) named
 * "GstMontageShotMeta". Having no tags, it survives videoconvert, videoscale
 * and video encoders; its transform function copies it on gst_buffer_copy.
 * Its structure, "montage-shot-start", holds what is known when the shot's
 * first frame leaves montagescene (the shot's features come later, in the
 * `montage-shot` message, when the shot has ended):
 *
 *   index             G_TYPE_UINT    0 for the first shot since start/flush/new segment
 *   transition        G_TYPE_STRING  "cut", "fade" or "dissolve": how the shot begins
 *   transition-start  G_TYPE_UINT64  stream time, ns, where the transition began
 *   transition-end    G_TYPE_UINT64  stream time, ns, of this frame (== start for a cut)
 *   score             G_TYPE_DOUBLE  the detector's score of the boundary (0 for the first shot)
 *
 * Read it with shot_meta_get() (a future montageselect does), without
 * knowing the structure's layout.
 */
#pragma once

#include <gst/gst.h>
#include <gst/montage/types.h>

namespace montage
{

/* Registered name of the meta (gst_meta_get_info(kShotMetaName) after
 * shot_meta_get_info() has run once). */
constexpr const char *kShotMetaName = "GstMontageShotMeta";

/* What the meta says about the shot that starts on the buffer carrying it. */
struct ShotStart {
  guint index = 0;
  Transition transition = Transition::kCut;
  GstClockTime transition_start = GST_CLOCK_TIME_NONE; /* stream time, ns */
  GstClockTime transition_end = GST_CLOCK_TIME_NONE;   /* stream time, ns */
  double score = 0.0;
};

/* Registers the meta on first call (thread-safe) and returns its info;
 * NULL only when GStreamer refuses the registration. */
const GstMetaInfo *shot_meta_get_info();

/* Adds the meta to buf, which must be writable. Returns false when buf is
 * not writable or registration failed. */
bool shot_meta_add(GstBuffer *buf, const ShotStart &start);

/* True with out filled when buf carries the meta, i.e. starts a shot. */
bool shot_meta_get(GstBuffer *buf, ShotStart &out);

/* A shot as the `montage-shot` message carries it (structure name
 * "montage-shot"; fields documented in docs/montagescene.md): index (uint),
 * start, end, duration, transition-start, transition-end, best-inpoint
 * (uint64, ns, stream time; best-inpoint GST_CLOCK_TIME_NONE when not
 * measured), transition (string), has-features (boolean), motion-mean,
 * motion-peak, sharpness, brightness, contrast, colourfulness (double) and
 * histogram (GstValueArray of kShotHistogramBins floats as doubles). Caller
 * frees the structure. */
GstStructure *shot_to_structure(const Shot &shot, guint index);
/* Reads what shot_to_structure() wrote; false when s is not a montage-shot. */
bool shot_from_structure(const GstStructure *s, Shot &shot);

/* "cut", "fade", "dissolve"; and back (false, kind untouched, when unknown). */
const char *transition_name(Transition kind);
bool transition_from_name(const char *name, Transition &kind);

} // namespace montage
