/* gst-montage: the shot meta montagescene puts on the first frame of each shot.
 *
 * A tag-less GstCustomMeta (gst_meta_register_custom, GStreamer 1.20+) named
 * "GstMontageShotMeta". Having no tags, it survives videoconvert, videoscale
 * and video encoders; its transform function copies it on gst_buffer_copy.
 * Its structure, "montage-shot-start", holds what is known when the shot's
 * first frame leaves montagescene (the shot's features come later, in the
 * `montage-shot` message, when the shot has ended):
 *
 *   index             G_TYPE_UINT    0 for the first shot since start/flush, counting on
 *                                    across new segments (as the montage-shot messages)
 *   transition        G_TYPE_STRING  "cut", "fade" or "dissolve": how the shot begins at a
 *                                    boundary; "none" for a shot begun by no boundary (the
 *                                    stream's start, a flush, a new segment or new caps)
 *   transition-start  G_TYPE_UINT64  stream time, ns, where the transition began
 *   transition-end    G_TYPE_UINT64  stream time, ns, of the shot's first clean frame: this
 *                                    frame, or for a cut on a one-frame insert or a flash
 *                                    straight into a cut (A B C), C's (docs/montagescene.md)
 *   score             G_TYPE_DOUBLE  the detector's score of the boundary (0 for the first shot)
 *
 * Read it with shot_meta_get() (montageselect does), without knowing the
 * structure's layout.
 *
 * A second tag-less custom meta, "GstMontageShotFeaturesMeta", carries what
 * has been measured of the current shot so far, so that a live element
 * downstream (montageselect) can choose among inputs before their shots end.
 * montagescene measures one frame in kShotFeaturesEvery (counted from the
 * start of the stream or segment) and puts the meta, updated, on each
 * measured frame; the first frames of a shot may carry none until its first
 * measured frame of the shot's own picture (a flash, or the insert a shot was
 * cut on, is left out of the account, as of the shot's features). Its structure,
 * "montage-shot-features":
 *
 *   index          G_TYPE_UINT    the shot (as in montage-shot-start)
 *   start          G_TYPE_UINT64  stream time, ns, of the shot's first frame
 *   frames         G_TYPE_UINT    frames measured so far (>= 1)
 *   motion-mean, motion-peak, sharpness, brightness, contrast, colourfulness
 *                  G_TYPE_DOUBLE  ShotFeatures' fields over the measured frames
 *   best-inpoint   G_TYPE_UINT64  stream time, ns, of the sharpest measured frame
 *   histogram      GstValueArray  kShotHistogramBins doubles (sum 1) of that frame
 *
 * Read it with shot_features_meta_get().
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
  /* False for a shot begun by no boundary (the stream's start, a flush, a
   * new segment or new caps): its transition is written "none"
   * (kNoTransitionName) and read back as kCut with this false. */
  bool boundary = true;
};

/* The `transition` of a shot begun by no boundary (the stream's start, a
 * flush, a new segment, new caps): in the shot meta and the montage-shot
 * structure. Transition has no such value (the planner and the cache know
 * cut, fade and dissolve): it reads back as kCut, with `boundary` false. */
constexpr const char *kNoTransitionName = "none";

/* Registers the meta on first call (thread-safe) and returns its info;
 * NULL only when GStreamer refuses the registration. */
const GstMetaInfo *shot_meta_get_info();

/* Adds the meta to buf, which must be writable. Returns false when buf is
 * not writable or registration failed. */
bool shot_meta_add(GstBuffer *buf, const ShotStart &start);

/* True with out filled when buf carries the meta, i.e. starts a shot. */
bool shot_meta_get(GstBuffer *buf, ShotStart &out);

/* Registered name of the features-so-far meta. */
constexpr const char *kShotFeaturesMetaName = "GstMontageShotFeaturesMeta";

/* montagescene measures, and attaches the features meta to, one frame in this
 * many (from the start of the stream or segment): a quarter of the frames keeps
 * the measurement at about 0.03 ms per frame on top of the detector's own. */
constexpr guint kShotFeaturesEvery = 4;

/* The features of the current shot, measured so far. */
struct ShotProgress {
  guint index = 0;                       /* shot index, as ShotStart::index */
  GstClockTime start = GST_CLOCK_TIME_NONE; /* stream time of its first frame, ns */
  guint frames = 0;                      /* frames measured (>= 1 when valid) */
  ShotFeatures features;                 /* over those frames (types.h scales) */
};

/* Registers the features meta on first call (thread-safe) and returns its
 * info; NULL only when GStreamer refuses the registration. */
const GstMetaInfo *shot_features_meta_get_info();

/* Adds the features meta to buf, which must be writable. Returns false when
 * buf is NULL or not writable, or registration failed. */
bool shot_features_meta_add(GstBuffer *buf, const ShotProgress &progress);

/* True with out filled when buf carries the features meta. */
bool shot_features_meta_get(GstBuffer *buf, ShotProgress &out);

/* A shot as the `montage-shot` message carries it (structure name
 * "montage-shot"; fields documented in docs/montagescene.md): index (uint),
 * start, end, duration, transition-start, transition-end, best-inpoint
 * (uint64, ns, stream time; best-inpoint GST_CLOCK_TIME_NONE when
 * has-features is false), transition (string), has-features (boolean), motion-mean,
 * motion-peak, sharpness, brightness, contrast, colourfulness (double) and
 * histogram (GstValueArray of kShotHistogramBins floats as doubles). Caller
 * frees the structure. boundary false (a shot begun by the stream's start,
 * a flush, a new segment or new caps) writes transition "none"
 * (kNoTransitionName) whatever shot.transition says. */
GstStructure *shot_to_structure(const Shot &shot, guint index, bool boundary = true);
/* Reads what shot_to_structure() wrote; false when s is not a montage-shot.
 * "none" reads as Transition::kCut; *boundary (when given) says whether the
 * shot began at a boundary (false for "none"). */
bool shot_from_structure(const GstStructure *s, Shot &shot, bool *boundary = nullptr);

/* "cut", "fade", "dissolve"; and back (false, kind untouched, when unknown). */
const char *transition_name(Transition kind);
bool transition_from_name(const char *name, Transition &kind);

} // namespace montage
