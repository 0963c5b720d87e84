/**
 * SECTION:element-montageselect
 * @title: montageselect
 *
 * A multi-camera vision mixer that cuts on the music. Video inputs come in on
 * request pads `sink_%u`; the output is always one of them, forwarded
 * untouched (the same GstBuffer and GstMemory: never mapped, never copied),
 * the others are dropped. On a beat it may switch to another input, chosen by
 * the selection engine (montage::SelectionEngine, gst/montage/selection.h)
 * from each input's latest shot features.
 *
 * ## Beats
 * A `beat` request pad takes montagebeat's audio output: the element reads the
 * MontageBeatMeta on it (gst/montage/beatmeta.h) and forwards nothing from it.
 * Without a beat pad, #GstMontageSelect:bpm makes a regular beat grid from the
 * first output frame (when the beat pad is released while running, before
 * its EOS, from the first frame decided without it, with a warning message
 * that says so; bpm 0: no beat switches from then on). A switch lands on the first output frame at
 * or after the beat (its running time is in [beat, beat + one frame)). A beat montagebeat knew only
 * after the buffer holding it had gone out rides on the next buffer out, which may start after that
 * frame (a beat 0-5 ms before a frame, in a buffer ending after the frame's start): so frame t (t
 * to t + d) is decided once the beat pad's data reaches its end t + d (or the pad is EOS, or, live,
 * the latency has passed), and every beat read by then that is at or before t
 * is the frame's. A beat carried on a buffer starting later still lands on
 * the next frame decided after it comes. How many beats pass
 * between switches is #GstMontageSelect:beats-per-cut, or with 0 the style's
 * pacing (beats per cut for low, medium and high energy; the energy at a beat
 * is montagebeat's `energy` on its meta: how loud the music is against the
 * song so far, montage::LiveEnergyLevel; 0.5 without it and in bpm mode). With
 * two or more beats per cut and a known meter, the switch waits for a
 * downbeat, up to twice the count. No switch comes sooner than the style's
 * `min-gap` after the shot on screen began: the previous switch, or a cut in
 * the input on air since (montagescene's shot meta at a boundary), which the
 * viewer sees as a cut too.
 *
 * #GstMontageSelect:beat-switch-until ends the beat switches: no beat switch
 * is made on an output frame that starts after that running time (a switch
 * at it is made; the beats still count towards the pacing). An application
 * that knows where its mix will end sets it to that end less the style's
 * `min-gap`, so that the mix does not end on a shot shorter than any other
 * (gst-montage-1.0 --live does so from -d and the song's and clips'
 * lengths). It holds back beat switches only: the input on air is still
 * switched away from when it is lost (reason `input-lost`: EOS, an error
 * upstream, no data within the grace; see Live), as the other choice is no
 * picture, and a manual take (#GstMontageSelect:active-pad) still comes, as
 * the application asked for it. Default GST_CLOCK_TIME_NONE: no limit.
 *
 * ## Choosing an input
 * At a switch, each input is a point in the engine's feature space: the
 * features montagescene measured so far of the input's current shot (the
 * "GstMontageShotFeaturesMeta", gst/montage/shotmeta.h); an input without it
 * (no montagescene upstream) has no position and scores 0.5 for closeness. The
 * target comes from the style and the beat's energy. An input is never chosen
 * less than #GstMontageSelect:min-shot-length after its own cut (a frame
 * carrying montagescene's "GstMontageShotMeta" for a shot boundary), nor
 * when it is not delivering. The shot an input starts with (its first frame,
 * or its first after a flush) follows no cut: as a vision mixer's sources,
 * inputs can be taken as soon as they deliver, so at a live start the first
 * switch comes on the first beat the pacing and the style's `min-gap` (from
 * the `start` switch) allow. Freshness is the part of the input's current shot
 * not yet shown; showing again a shot already on air counts as reuse. When the
 * engine's best is the input on air, there is no switch.
 *
 * ## Manual take
 * #GstMontageSelect:active-pad (the name input-selector uses) reads the
 * input on air (NULL before the first frame; an input that stopped stays the
 * one on air until another is switched to). Setting it to a video input is a
 * take, as on a vision mixer, fitted to the music: that input goes on air on
 * the first output frame at or after the next beat (reason `take`, with the
 * beat's time), whatever the pacing, the style's `min-gap` and
 * min-shot-length would say. It does not wait for a beat when no input is on
 * air yet, when there are no beats at all (no beat pad and bpm 0), or once
 * 2 s of running time have passed since the first output frame that saw it
 * (longer than a beat at montagebeat's slowest tempo, 40 BPM: beats have
 * stopped); then it comes on the next frame (beat-time NONE). The take waits
 * while its input cannot show the frame (no data yet, another format, or an
 * EOS within the style's `min-gap`), and is dropped when the input ends or
 * is released. Setting NULL cancels a take not yet made; a pad that is not
 * a video input of this element is ignored (a warning in the debug log).
 * Setting the input on air keeps it on air at that frame. After a take, the
 * pacing counts beats from it, and beat switches go on as before. A stop
 * (READY) drops a take not yet made.
 *
 * ## Output
 * Output frames follow a regular grid at the frame rate of the output caps:
 * the caps of the first input to send caps (at once the format every input
 * must have: the same memory type, format, size, interlacing and pixel aspect
 * ratio, which the caps query of every input answers from then on, so that
 * converters upstream convert to it; frame rate, colorimetry and chroma siting
 * may differ) at the frame rate downstream chooses (a capsfilter, an
 * encoder), or where downstream takes any, the highest among the inputs'
 * caps that arrived by then (30 fps when none has one). The inputs' caps
 * queries answer any frame rate, before the first caps as well. An input of another
 * colorimetry is shown under the output's caps (read with the output's
 * matrix, transfer and range downstream: colours shift); a videoconvert with
 * a colorimetry in each input's capsfilter avoids it (docs/montageselect.md).
 * Caps with the meta:GstVideoOverlayComposition feature are neither offered
 * nor accepted: an overlay in front of an input (timeoverlay, textoverlay)
 * blends into the frame (without_overlay_feature()). The output caps do not
 * change until the element goes back to READY. An input whose caps differ, at the
 * start or later, is accepted but not shown: a warning names it, a
 * RECONFIGURE event goes upstream of it (a converter there then converts to
 * the output's format), and it is out of the choice (when on air: switched
 * away from, reason `input-lost`) until it sends matching caps again.
 *
 * Going back to READY forgets the run (the inputs' shots and time on air,
 * the input on air, the format, the switch count): a run after a stop makes
 * the same choices as the first.
 *
 * A video input's allocation query is answered with the metas downstream
 * takes (GstVideoMeta: an upstream decoder may then send frames with padded
 * rows instead of copying them packed), no pool or allocator; an element
 * downstream that answers only once negotiated fails an input's first query,
 * which comes before the output is negotiated (propose_allocation).
 *
 * Frame t (running time t to t + d, d the grid's frame duration) shows the
 * on-air input's buffer that starts nearest to t, as videorate chooses: the
 * last to start before the frame's middle m = t + d / 2 (a buffer starting
 * exactly at m is the next frame's), provided it lasts until m
 * (start < m <= start + duration); it goes out with duration d and as PTS
 * the position of running time t in the output segment (Timestamps, below):
 * a buffer whose timestamp or duration differs is restamped (a shallow copy
 * when it is shared: still the same memory). An input slower than the grid is
 * shown again: a new GstBuffer on the same memory, with the frame's flags
 * but DISCONT and RESYNC, and its metas that copy (GstVideoMeta: the strides
 * and plane offsets of that memory; crop, colour, ...) but for montagescene's
 * shot metas (a repeat begins no shot; before, a repeat had no metas at all,
 * and a reader took memory with padded rows as packed rows). Once an input
 * is EOS its last buffer is shown on each frame whose middle it covers (not
 * within the grace after it); the output ends (EOS) when every input is EOS
 * and none covers the next frame's middle. With a beat pad and no video
 * input the beats are dropped, and at the beat pad's EOS the output ends
 * with a warning (no video input). When every video input is released
 * after frames went out, the frames go on as GAP events, paced by the
 * beat pad's data (or, live, the latency); without a beat pad GstAggregator
 * does not call the element while it has no sink pad, and the frames
 * missed meanwhile go out as one GAP event when an input is requested again
 * (below: frames in a GAP). Sampling the middle, as a
 * nearest-frame rate conversion does, keeps an input whose timestamps sit a little before or after
 * the grid's (two live sources started a fraction of a millisecond apart) on the frames it covers:
 * a last buffer that overlaps a grid frame by 0.2 ms does not make one more output frame after the
 * other inputs have ended. Before the first frame after a switch downstream force-key-unit events
 * (gst_video_event_new_downstream_force_key_unit(), all-headers TRUE, count
 * 1, 2, ...; one timed and one for the next frame: gst/montage/keyunit.h)
 * ask an encoder for a keyframe there. An input's own force-key-unit
 * events (montagescene's at a cut) go on just before the output frame that
 * first shows the frame after them, restamped to that frame, while the input
 * is on air.
 *
 * ## Timestamps
 * Everything is decided in running time: the inputs' buffers, the beats and
 * #GstMontageSelect:beat-switch-until are compared as running times, and the
 * `montage-switch` message's `running-time` and `beat-time` are running
 * times. What goes downstream is stamped in the output segment (GstAggregator's
 * source pad segment, which a seek on the element sets): output frame t has
 * PTS gst_segment_position_from_running_time(segment, t), a GAP event for it
 * that timestamp, and its force-key-unit events that timestamp, its stream
 * time and running time t. Without a seek the output segment starts at 0 and
 * the PTS is t; after a flushing seek to 2 s (the inputs' and the output's
 * segments start at 2 s, running time starts again at 0) the first frame
 * has PTS 2 s and running time 0 (before, its PTS was 0, before the
 * segment's start, and a sink clipped it). A frame at or after the
 * segment's stop ends the output (EOS).
 *
 * ## Live
 * The element reports one output frame of latency on top of its inputs'
 * (which also covers the wait for the beats to the frame's end: see Beats;
 * no more latency than before). An
 * input that stops (EOS, an error upstream, no buffer for more than
 * #GstMontageSelect:grace-frames output frames by the time the latency has
 * passed, or its pad released) is taken out of the choice; if it was on air
 * the element switches at once to the best other input (reason
 * `input-lost`; after #GstMontageSelect:beat-switch-until as well). When no input can show the
 * frame, a GAP event covers it, so the output never stalls; where every
 * input's data queued starts later, one GAP event covers the frames up to
 * the first that data reaches (not one per frame, at once); from the first
 * frame decided on, after the caps and a segment, so that a live sink
 * prerolls where no input can show the first frames. Pads can be requested and released in
 * PLAYING.
 *
 * A GAP event on a video input (a source with no frame for a while;
 * montagescene passes GAPs on) is no frame: it says that nothing comes for
 * its span, so the frames in it are decided without waiting for the input,
 * whose latest frame is shown again within the grace, as for a late frame
 * (below); after that the input cannot show frames until its next buffer:
 * when on air, the mix switches to the best other input (`input-lost`), or
 * with none a GAP event goes out. (GstAggregator queues a GAP event as an
 * empty buffer flagged GAP; before, that buffer went out as a 0-byte video
 * frame, and the input counted as delivering.) A GAP on the beat pad is
 * music without beats.
 *
 * Late frames: when the latency has passed and an input's frame for output
 * frame t has not come (late, or missing from its stream), the input's
 * latest frame is shown again if it ended no more than grace-frames output
 * frames before t's middle (the rule of available_at()); only then is the
 * input lost. The default, one frame, comes from what a live input does when
 * it is busy: a camera or a network source that misses its slot by one
 * frame period (scheduling, a retransmission) delivers that frame on the next
 * slot. One frame shown twice is not seen at 25 fps and up, where a cut away
 * and back (input-lost, then a beat switch back) is two cuts the viewer sees;
 * a frame repeated, not a wait, so the latency stays one frame. To show it
 * again the element keeps a reference to the on-air input's latest frame as
 * it goes out, unless that input's next frame is queued already (then the
 * frame goes as its only reference): live, where the next frame has seldom
 * come yet, an element downstream that writes into frames in place
 * (timeoverlay) then copies the frame's memory; with grace-frames 0 every
 * frame is given away, as before.
 * An input may be flushed on its own while playing (FLUSH_START/FLUSH_STOP
 * from upstream: a seek there): its stream starts again (no cut to hold it
 * back, as at the start); a frame already decided from it still goes out.
 *
 * No switch is made that could not hold: an input whose EOS has arrived (by
 * the time the frame is decided) and whose data ends less than the style's
 * `min-gap` (at least two output frames) after the frame is not switched to,
 * whatever the reason, nor kept on air at a beat. So when live inputs end one
 * after the other, the mix ends with the input on air (GAP for any frame
 * left) instead of cutting, `input-lost`, to the input that started a few
 * milliseconds later for its last frame, a flash.
 *
 * ## Signals
 * With GstAggregator's #GstAggregator:emit-signals, `samples-selected` comes
 * before each output frame (a buffer or a GAP event) with its PTS and
 * duration, from the streaming thread; within it
 * gst_aggregator_peek_next_sample() on the input on air gives the frame
 * that goes out (a GstSample with the output caps), NULL on the others and
 * for a GAP. Only that input's frame is used: the others' are dropped.
 *
 * ## `montage-switch` element message (one per change of the input on air)
 * - `running-time` (G_TYPE_UINT64): the first output frame from the new input, ns.
 * - `beat-time` (G_TYPE_UINT64): running time of the beat that caused it (or
 *   that a take landed on), ns; GST_CLOCK_TIME_NONE for a switch without a
 *   beat.
 * - `reason` (G_TYPE_STRING): `start` (the first input on air), `beat`,
 *   `input-lost` (the input on air stopped delivering), or `take` (a manual
 *   take: #GstMontageSelect:active-pad set).
 * - `previous-pad`, `new-pad` (G_TYPE_STRING): pad names; previous-pad is ""
 *   for the first.
 * - `count` (G_TYPE_UINT): switches so far, this one included.
 * - `total`, `closeness`, `freshness`, `reuse`, `jump-cut`, `variety`,
 *   `match-cut`, `inpoint`, `fit`, `jitter` (G_TYPE_DOUBLE): the engine's
 *   score breakdown of the new input (montage::ScoreBreakdown; terms 0..1).
 * - `runner-up` (G_TYPE_DOUBLE): total of the second best usable input.
 * - `candidates` (G_TYPE_UINT): inputs that were usable at this switch.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e montageselect name=sel bpm=120 ! videoconvert ! x264enc ! mp4mux ! \
 *     filesink location=mix.mp4 \
 *   videotestsrc is-live=true num-buffers=300 ! \
 *     video/x-raw,format=I420,width=640,height=360,framerate=30/1 ! sel. \
 *   videotestsrc is-live=true num-buffers=300 pattern=ball ! \
 *     video/x-raw,format=I420,width=640,height=360,framerate=30/1 ! sel.
 * ]|
 * docs/montageselect.md has multi-camera pipelines with montagebeat and
 * montagescene, to MP4, RTP and SRT.
 */
#include "gstmontageselect.h"

#include <gst/montage/beatmeta.h>
#include <gst/montage/keyunit.h>
#include <gst/montage/selection.h>
#include <gst/montage/shotmeta.h>
#include <gst/montage/style.h>
#include <gst/video/video.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

GST_DEBUG_CATEGORY_STATIC(gst_montage_select_debug);
#define GST_CAT_DEFAULT gst_montage_select_debug

namespace
{

constexpr double kDefaultBpm = 120.0;
constexpr guint kDefaultBeatsPerCut = 0;
constexpr GstClockTime kDefaultMinShotLength = GST_SECOND;
constexpr const char *kDefaultStyle = "balanced";
constexpr guint64 kDefaultSeed = 1;
/* No limit on the beat switches: see the beat-switch-until property. */
constexpr GstClockTime kDefaultBeatSwitchUntil = GST_CLOCK_TIME_NONE;
/* How long a manual take (active-pad) waits for a beat, in running time:
 * longer than a beat at montagebeat's slowest tempo (BeatTrackerConfig's
 * min_bpm, 40 BPM: 1.5 s), so that with beats coming a take always lands on
 * one; past it, beats have stopped (a silence, a break) and the take comes at
 * once. */
constexpr GstClockTime kTakeWait = 2 * GST_SECOND;
/* How long after the first output frame, in running time, a live input's
 * latest frame is shown again however late its next one is, while the
 * pipeline's latency is not configured yet (no LATENCY event has come from
 * downstream): GstAggregator may wait less than upstream holds then (its
 * first latency query fails or misses an element without caps yet), and
 * the input on air is not lost. The first LATENCY event comes once the
 * sinks prerolled, within the first frames; the limit bounds it where none
 * comes (no sink sends one). */
constexpr GstClockTime kStartHold = GST_SECOND;
/* Audio on the beat pad without a beat meta before a warning that no
 * montagebeat feeds it (trial h115's finding 13): longer than montagebeat
 * takes to find its first beat (about 2 s). */
constexpr GstClockTime kNoBeatWarning = 10 * GST_SECOND;
/* How long an input may send frames in another format than the output's
 * after its upstream said it can make the output's (a RECONFIGURE went up)
 * before the warning: longer than a queue's default (1 s) of frames
 * negotiated before. */
constexpr GstClockTime kFormatWait = 2 * GST_SECOND;
/* One output frame: see the grace-frames property. */
constexpr guint kDefaultGraceFrames = 1;
/* Output frame duration when the caps carry no frame rate. */
constexpr GstClockTime kFallbackFrame = GST_SECOND / 30;

enum {
  PROP_0,
  PROP_BPM,
  PROP_BEATS_PER_CUT,
  PROP_MIN_SHOT_LENGTH,
  PROP_STYLE,
  PROP_SEED,
  PROP_GRACE_FRAMES,
  PROP_ACTIVE_PAD,
  PROP_BEAT_SWITCH_UNTIL,
};

/* active-pad's spec, for its notify at each switch. */
GParamSpec *active_pad_pspec = nullptr;

GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw(ANY)"));
GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS("video/x-raw(ANY)"));
GstStaticPadTemplate beat_template = GST_STATIC_PAD_TEMPLATE(
    "beat", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS("audio/x-raw(ANY)"));

/* A beat in running time. */
struct Beat {
  GstClockTime time = GST_CLOCK_TIME_NONE;
  double strength = 0.0;
  /* The music's energy at the beat, 0..1 (the meta's `energy`; 0.5, the
   * medium pace, when the meta has none or in bpm mode). */
  double energy = 0.5;
  bool downbeat = false;
  bool meter_known = false;
};

/* Per-pad C++ state (GstMontageSelectPad::input). Streaming fields are
 * touched from the aggregate thread (the element's source pad task) and, at a
 * FLUSH_STOP, from upstream's streaming thread: both under
 * SelectState::stream_lock. */
struct Input {
  bool is_beat = false;
  std::size_t slot = 0;               /* engine item index (video pads) */
  std::atomic<bool> released{false};  /* set by release_pad */
  bool seen_data = false;
  /* Set on the upstream streaming thread as they arrive, before the pad's
   * queue: an EOS has come (its stream ends after the buffers queued), and
   * the running time where the buffers that arrived end (the latest end of
   * any buffer, PTS + duration in arrival_segment; a pad probe sees every
   * buffer the pad receives, live or not). */
  std::atomic<bool> eos_arrived{false};
  std::atomic<GstClockTime> arrived_end{GST_CLOCK_TIME_NONE};
  GstSegment arrival_segment; /* the latest SEGMENT to arrive (streaming thread only) */
  GstCaps *caps = nullptr; /* of its latest CAPS event */
  bool caps_ok = false;    /* those caps have the output's format */
  bool lost = false;
  /* The buffer showing now (may be NULL once given away downstream). */
  GstBuffer *current = nullptr;
  GstClockTime cur_start = GST_CLOCK_TIME_NONE; /* running time */
  GstClockTime cur_end = GST_CLOCK_TIME_NONE;
  bool cur_sent = false;
  bool cur_caps_ok = false; /* caps_ok when it came */
  /* Running time up to which a GAP event said the input has no frame (the
   * latest GAP's end; NONE: none since the start or a flush). */
  GstClockTime gap_end = GST_CLOCK_TIME_NONE;
  /* Its shots. */
  GstClockTime shot_start = GST_CLOCK_TIME_NONE; /* running time its current shot began */
  /* Running time of its latest cut (a shot begun by a boundary); NONE while
   * its current shot began with its stream (first frame, flush). */
  GstClockTime cut = GST_CLOCK_TIME_NONE;
  bool shot_seen = false; /* a shot meta came since the start or a flush */
  guint shot_serial = 0;
  guint aired_serial = G_MAXUINT; /* shot last on air */
  GstClockTime aired = 0;         /* time that shot has been on air, ns */
  montage::SelectionItem item;
  bool item_changed = false;
  /* Beat pad: running time up to which beats are known. */
  GstClockTime covered_end = 0;
  /* Upstream's force-key-unit requests (montagescene at a cut): one came
   * for the input's next frame (key_unit_next), or is that of the frame
   * showing now or of one dropped unshown before it (cur_key_unit); the
   * request's count. */
  bool key_unit_next = false;
  bool cur_key_unit = false;
  guint key_unit_count = 0;
  /* Beat pad: a beat meta came; running time of its first buffer; the
   * warning that no montagebeat feeds it was looked into. */
  bool beat_meta_seen = false;
  GstClockTime beat_first = GST_CLOCK_TIME_NONE;
  bool beat_checked = false;
  /* Caps of another format whose upstream said it can make the output's
   * (a RECONFIGURE went up, no warning yet): running time of the first
   * frame in them taken since (NONE: none yet). */
  bool format_warning_due = false;
  GstClockTime mismatch_since = GST_CLOCK_TIME_NONE;

  void clear_current()
  {
    gst_clear_buffer(&current);
    cur_start = cur_end = GST_CLOCK_TIME_NONE;
    cur_sent = false;
    cur_caps_ok = false;
  }

  /* Back to the state of a new pad, for the element's next run (stop): all
   * but what the pad is (is_beat, slot, released). */
  void reset_for_next_run()
  {
    seen_data = false;
    eos_arrived = false;
    arrived_end = GST_CLOCK_TIME_NONE;
    gst_segment_init(&arrival_segment, GST_FORMAT_UNDEFINED);
    gst_clear_caps(&caps);
    caps_ok = false;
    lost = false;
    clear_current();
    gap_end = GST_CLOCK_TIME_NONE;
    shot_start = GST_CLOCK_TIME_NONE;
    cut = GST_CLOCK_TIME_NONE;
    shot_seen = false;
    shot_serial = 0;
    aired_serial = G_MAXUINT;
    aired = 0;
    item = montage::SelectionItem();
    item.source = slot;
    item_changed = false;
    covered_end = 0;
    key_unit_next = cur_key_unit = false;
    beat_meta_seen = false;
    beat_first = GST_CLOCK_TIME_NONE;
    beat_checked = false;
    format_warning_due = false;
    mismatch_since = GST_CLOCK_TIME_NONE;
  }
};

struct Settings {
  double bpm = kDefaultBpm;
  guint beats_per_cut = kDefaultBeatsPerCut;
  GstClockTime min_shot_length = kDefaultMinShotLength;
  std::string style = kDefaultStyle;
  guint64 seed = kDefaultSeed;
  guint grace_frames = kDefaultGraceFrames;
  GstClockTime beat_switch_until = kDefaultBeatSwitchUntil;
};

/* Element C++ state, created in _init and deleted in _finalize. */
struct SelectState {
  std::mutex settings_lock;
  Settings settings;

  /* Object lock: */
  /* The first caps that came on a video input: the format of the output and
   * of every input shown, kept until stop. */
  GstCaps *format_caps = nullptr;
  GstCaps *out_caps = nullptr; /* output caps once negotiated */
  GstClockTime frame = 0;      /* output frame duration, ns; 0 before caps */
  gint fps_n = 30, fps_d = 1;  /* output frame rate (30/1 when the caps have none) */
  /* The highest frame rate among the video caps that arrived on any input
   * since the start (0/1: none with a rate): the output's rate where
   * downstream leaves it free (fixate_src_caps). */
  gint max_rate_n = 0, max_rate_d = 1;
  std::size_t next_slot = 0;
  bool have_beat_pad = false;
  /* A manual take waiting for its frame (active-pad set; ref), and a serial
   * that changes at each set. Cleared once done, and at stop. */
  GstMontageSelectPad *take = nullptr;
  guint take_serial = 0;
  /* While samples-selected is emitted (emit-signals): the frame going out
   * and the input it comes from (not a ref: compared only), for
   * peek_next_sample(); NULL otherwise. */
  GstSample *selected = nullptr;
  const GstMontageSelectPad *selected_pad = nullptr;

  /* Held by aggregate() while it reads and changes the inputs' streaming
   * state (Input, the fields below), by an input's flush (a FLUSH_STOP on
   * that input alone comes on upstream's streaming thread while the aggregate
   * thread runs) and by the element's flush: a flush never clears an input's
   * frame in the middle of a frame's decision. Taken before the object lock
   * and any pad lock, never held while pushing downstream or posting. */
  std::mutex stream_lock;

  /* Aggregate thread (and start/stop), under stream_lock: */
  montage::Style style;
  std::unique_ptr<montage::SelectionEngine> engine;
  montage::FeatureScale scale;
  GstMontageSelectPad *on_air = nullptr; /* ref */
  GstClockTime on_air_since = GST_CLOCK_TIME_NONE;
  GstClockTime next_t = GST_CLOCK_TIME_NONE; /* running time of the next output frame */
  /* The output grid: frame k at grid_origin + k / (grid_fps_n / grid_fps_d).
   * Restarted at next_t (grid_origin = next_t, frame_index = 0) when the
   * output's rate changes (downstream renegotiating): before, the frame
   * index went on at the new rate from the old origin, so after 30 -> 60 fps
   * the next frame's end lay before its start and every input frame was
   * dropped (review h129's finding 1). grid_start: the first output frame's
   * running time since start/flush, not moved by a restart (kStartHold). */
  GstClockTime grid_origin = GST_CLOCK_TIME_NONE;
  GstClockTime grid_start = GST_CLOCK_TIME_NONE;
  gint grid_fps_n = 0, grid_fps_d = 1;
  guint64 frame_index = 0; /* of the next output frame */
  GstClockTime bpm_origin = GST_CLOCK_TIME_NONE;
  std::deque<Beat> beats;
  guint beats_since_switch = 0;
  guint switches = 0;
  /* A LATENCY event came from downstream since start (the pipeline's
   * latency is configured). */
  std::atomic<bool> latency_configured{false};
  bool pushed = false;      /* a buffer went out since start/flush */
  bool segment_out = false; /* a segment event went out since start/flush */
  /* The take being waited for: its serial, and the first output frame that
   * saw it (running time; NONE: none seen since start/flush). */
  guint take_serial_seen = 0;
  GstClockTime take_since = GST_CLOCK_TIME_NONE;
};

} // namespace

struct _GstMontageSelectPad {
  GstAggregatorPad parent;
  Input *input;
};

G_DEFINE_TYPE(GstMontageSelectPad, gst_montage_select_pad, GST_TYPE_AGGREGATOR_PAD);

static GstFlowReturn gst_montage_select_pad_flush(GstAggregatorPad *aggpad, GstAggregator *agg);

/* The running time where a buffer's data ends in the input's arrival
 * segment, or NONE when it has no timestamp or lies outside the segment. */
static GstClockTime arrival_end_of(Input *in, GstBuffer *buffer)
{
  if (!GST_BUFFER_PTS_IS_VALID(buffer) || in->arrival_segment.format != GST_FORMAT_TIME)
    return GST_CLOCK_TIME_NONE;
  GstClockTime end = GST_BUFFER_PTS(buffer);
  if (GST_BUFFER_DURATION_IS_VALID(buffer))
    end += GST_BUFFER_DURATION(buffer);
  return gst_segment_to_running_time(&in->arrival_segment, GST_FORMAT_TIME, end);
}

/* A probe on each video input (upstream's streaming thread, before the
 * pad's queue): notes how far the input's data has arrived, for every buffer
 * it receives. GstAggregatorPad's skip_buffer vfunc, which did this before,
 * is called only when live and only for the oldest queued buffer, so the
 * arrival lagged by the queue. Passes every buffer on. */
static GstPadProbeReturn arrival_probe(GstPad *pad, GstPadProbeInfo *info, gpointer)
{
  Input *in = GST_MONTAGE_SELECT_PAD(pad)->input;
  if (in->is_beat)
    return GST_PAD_PROBE_OK;
  GstClockTime end = GST_CLOCK_TIME_NONE;
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    end = arrival_end_of(in, GST_PAD_PROBE_INFO_BUFFER(info));
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
    for (guint i = 0; i < gst_buffer_list_length(list); i++) {
      const GstClockTime e = arrival_end_of(in, gst_buffer_list_get(list, i));
      if (GST_CLOCK_TIME_IS_VALID(e) && (!GST_CLOCK_TIME_IS_VALID(end) || e > end))
        end = e;
    }
  }
  const GstClockTime before = in->arrived_end;
  if (GST_CLOCK_TIME_IS_VALID(end) && (!GST_CLOCK_TIME_IS_VALID(before) || end > before))
    in->arrived_end = end;
  return GST_PAD_PROBE_OK;
}

static void gst_montage_select_pad_constructed(GObject *object)
{
  G_OBJECT_CLASS(gst_montage_select_pad_parent_class)->constructed(object);
  gst_pad_add_probe(GST_PAD(object),
                    (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                    arrival_probe, nullptr, nullptr);
}

static void gst_montage_select_pad_finalize(GObject *object)
{
  GstMontageSelectPad *pad = GST_MONTAGE_SELECT_PAD(object);
  pad->input->clear_current();
  gst_clear_caps(&pad->input->caps);
  delete pad->input;
  pad->input = nullptr;
  G_OBJECT_CLASS(gst_montage_select_pad_parent_class)->finalize(object);
}

static void gst_montage_select_pad_class_init(GstMontageSelectPadClass *klass)
{
  G_OBJECT_CLASS(klass)->constructed = gst_montage_select_pad_constructed;
  G_OBJECT_CLASS(klass)->finalize = gst_montage_select_pad_finalize;
  GST_AGGREGATOR_PAD_CLASS(klass)->flush = GST_DEBUG_FUNCPTR(gst_montage_select_pad_flush);
}

static void gst_montage_select_pad_init(GstMontageSelectPad *pad)
{
  pad->input = new Input();
  gst_segment_init(&pad->input->arrival_segment, GST_FORMAT_UNDEFINED);
}

struct _GstMontageSelect {
  GstAggregator parent;
  SelectState *state;
};

G_DEFINE_TYPE(GstMontageSelect, gst_montage_select, GST_TYPE_AGGREGATOR);

/* An input's flush (its FLUSH_STOP, on upstream's streaming thread, or the
 * element's stop): its stream starts again. Under the element's stream_lock,
 * as the aggregate thread may be deciding a frame with this input's state. */
static GstFlowReturn gst_montage_select_pad_flush(GstAggregatorPad *aggpad, GstAggregator *agg)
{
  std::lock_guard<std::mutex> lock(GST_MONTAGE_SELECT(agg)->state->stream_lock);
  Input *in = GST_MONTAGE_SELECT_PAD(aggpad)->input;
  in->clear_current();
  in->gap_end = GST_CLOCK_TIME_NONE;
  in->covered_end = 0;
  in->lost = false;
  in->cut = GST_CLOCK_TIME_NONE;
  in->shot_seen = false;
  in->eos_arrived = false;
  in->arrived_end = GST_CLOCK_TIME_NONE;
  in->key_unit_next = in->cur_key_unit = false;
  return GST_FLOW_OK;
}
GST_ELEMENT_REGISTER_DEFINE(montageselect, "montageselect", GST_RANK_NONE,
                            GST_TYPE_MONTAGE_SELECT);

namespace
{

GstClockTime running_time(GstAggregatorPad *pad, GstClockTime ts)
{
  if (!GST_CLOCK_TIME_IS_VALID(ts) || pad->segment.format != GST_FORMAT_TIME)
    return ts;
  return gst_segment_to_running_time(&pad->segment, GST_FORMAT_TIME, ts);
}

/* Caps reduced to what decides a frame's memory layout (memory features,
 * format, size, interlacing, pixel aspect ratio), for comparing inputs: frame
 * rate, colorimetry, chroma siting and multiview fields may differ. */
GstCaps *without_rate(GstCaps *caps)
{
  GstCaps *c = gst_caps_copy(caps);
  for (guint i = 0; i < gst_caps_get_size(c); i++)
    gst_structure_remove_fields(gst_caps_get_structure(c, i), "framerate", "colorimetry",
                                "chroma-site", "multiview-mode", "multiview-flags", NULL);
  return c;
}

/* `caps` (consumed) with any frame rate (0/1 to G_MAXINT/1) where a
 * structure has one: the inputs' rates are free (each is placed on the
 * output's grid), and the output's is downstream's choice. */
GstCaps *with_any_rate(GstCaps *caps)
{
  caps = gst_caps_make_writable(caps);
  for (guint i = 0; i < gst_caps_get_size(caps); i++) {
    GstStructure *s = gst_caps_get_structure(caps, i);
    if (gst_structure_has_field(s, "framerate"))
      gst_structure_set(s, "framerate", GST_TYPE_FRACTION_RANGE, 0, 1, G_MAXINT, 1, NULL);
  }
  return caps;
}

/* Caps without the structures that carry the meta:GstVideoOverlayComposition
 * feature (GST_CAPS_FEATURE_META_GST_VIDEO_OVERLAY_COMPOSITION): the inputs'
 * caps query and accept-caps do not offer it, so that an overlay element in
 * front of an input (timeoverlay, textoverlay) blends into the frame. Such
 * an element offers the feature, sends caps with it, then caps without it
 * once downstream's allocation query lacks the meta (fakesink, encoders):
 * the first caps set the output format, the second differed from it, and
 * the input flipped between the two for ever (no frame shown). compositor
 * does not take the feature either. Consumes `caps`. */
GstCaps *without_overlay_feature(GstCaps *caps)
{
  caps = gst_caps_make_writable(caps);
  for (guint i = gst_caps_get_size(caps); i > 0; i--) {
    GstCapsFeatures *features = gst_caps_get_features(caps, i - 1);
    if (features && !gst_caps_features_is_any(features) &&
        gst_caps_features_contains(features, GST_CAPS_FEATURE_META_GST_VIDEO_OVERLAY_COMPOSITION))
      gst_caps_remove_structure(caps, i - 1);
  }
  return caps;
}

bool caps_match(GstCaps *a, GstCaps *b)
{
  GstCaps *x = without_rate(a), *y = without_rate(b);
  const bool same = gst_caps_is_equal(x, y);
  gst_caps_unref(x);
  gst_caps_unref(y);
  return same;
}

std::vector<GstMontageSelectPad *> sink_pads(GstElement *element)
{
  std::vector<GstMontageSelectPad *> pads;
  GST_OBJECT_LOCK(element);
  for (GList *l = element->sinkpads; l; l = l->next)
    pads.push_back(GST_MONTAGE_SELECT_PAD(gst_object_ref(l->data)));
  GST_OBJECT_UNLOCK(element);
  return pads;
}

void unref_pads(std::vector<GstMontageSelectPad *> &pads)
{
  for (GstMontageSelectPad *p : pads)
    gst_object_unref(p);
  pads.clear();
}

/* Reads the shot metas of a buffer an input delivers. */
void read_shot_metas(SelectState *state, Input *in, GstBuffer *buf, GstClockTime rt)
{
  montage::ShotStart start;
  if (montage::shot_meta_get(buf, start)) {
    in->shot_start = rt;
    /* The input's first shot since the start (or a flush) follows no cut:
     * nothing to hold the input back for. A later shot montagescene begins
     * without a boundary (it starts its analysis again at each SEGMENT:
     * a loop, the next file of a playlist or concat) shows a jump like a
     * cut, and is held back like one (a code review's finding: it wiped
     * the input's last cut). */
    in->cut = start.boundary || in->shot_seen ? rt : GST_CLOCK_TIME_NONE;
    in->shot_seen = true;
    in->shot_serial++;
    in->item.has_features = false;
    in->item.histogram.clear();
    in->item_changed = true;
  }
  montage::ShotProgress progress;
  if (montage::shot_features_meta_get(buf, progress) && progress.frames > 0) {
    in->item.has_features = true;
    in->item.point = state->scale.normalise(progress.features);
    in->item.histogram = std::move(progress.features.histogram);
    in->item_changed = true;
  }
}

} // namespace

/* ---- properties ---- */

/* active-pad set: a manual take of `pad` (NULL: none). Ignored, with a
 * warning in the debug log, when `pad` is not one of this element's video
 * inputs. */
static void set_active_pad(GstMontageSelect *self, GstPad *pad)
{
  if (pad && (!GST_IS_MONTAGE_SELECT_PAD(pad) ||
              !gst_object_has_as_parent(GST_OBJECT(pad), GST_OBJECT(self)) ||
              GST_MONTAGE_SELECT_PAD(pad)->input->is_beat)) {
    GST_WARNING_OBJECT(self, "active-pad: %" GST_PTR_FORMAT " is not a video input of %s; ignored",
                       pad, GST_OBJECT_NAME(self));
    return;
  }
  GST_OBJECT_LOCK(self);
  gst_object_replace((GstObject **)&self->state->take, GST_OBJECT(pad));
  self->state->take_serial++;
  GST_OBJECT_UNLOCK(self);
  GST_INFO_OBJECT(self, "manual take of %s", pad ? GST_PAD_NAME(pad) : "(none)");
}

static void gst_montage_select_set_property(GObject *object, guint prop_id, const GValue *value,
                                            GParamSpec *pspec)
{
  SelectState *state = GST_MONTAGE_SELECT(object)->state;
  if (prop_id == PROP_ACTIVE_PAD) {
    set_active_pad(GST_MONTAGE_SELECT(object), GST_PAD(g_value_get_object(value)));
    return;
  }
  std::lock_guard<std::mutex> lock(state->settings_lock);
  Settings &s = state->settings;
  switch (prop_id) {
  case PROP_BPM:
    s.bpm = g_value_get_double(value);
    break;
  case PROP_BEATS_PER_CUT:
    s.beats_per_cut = g_value_get_uint(value);
    break;
  case PROP_MIN_SHOT_LENGTH:
    s.min_shot_length = g_value_get_uint64(value);
    break;
  case PROP_STYLE: {
    const gchar *v = g_value_get_string(value);
    s.style = v ? v : kDefaultStyle;
    break;
  }
  case PROP_SEED:
    s.seed = g_value_get_uint64(value);
    break;
  case PROP_GRACE_FRAMES:
    s.grace_frames = g_value_get_uint(value);
    break;
  case PROP_BEAT_SWITCH_UNTIL:
    s.beat_switch_until = g_value_get_uint64(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_montage_select_get_property(GObject *object, guint prop_id, GValue *value,
                                            GParamSpec *pspec)
{
  SelectState *state = GST_MONTAGE_SELECT(object)->state;
  if (prop_id == PROP_ACTIVE_PAD) {
    /* NULL once the input on air was released (it stays nominally on air
     * until another input can be switched to): before, its pad came back,
     * without a parent (trial h115's finding 16). */
    GST_OBJECT_LOCK(object);
    GstMontageSelectPad *on_air = state->on_air;
    g_value_set_object(value, on_air && !on_air->input->released ? on_air : nullptr);
    GST_OBJECT_UNLOCK(object);
    return;
  }
  std::lock_guard<std::mutex> lock(state->settings_lock);
  const Settings &s = state->settings;
  switch (prop_id) {
  case PROP_BPM:
    g_value_set_double(value, s.bpm);
    break;
  case PROP_BEATS_PER_CUT:
    g_value_set_uint(value, s.beats_per_cut);
    break;
  case PROP_MIN_SHOT_LENGTH:
    g_value_set_uint64(value, s.min_shot_length);
    break;
  case PROP_STYLE:
    g_value_set_string(value, s.style.c_str());
    break;
  case PROP_SEED:
    g_value_set_uint64(value, s.seed);
    break;
  case PROP_GRACE_FRAMES:
    g_value_set_uint(value, s.grace_frames);
    break;
  case PROP_BEAT_SWITCH_UNTIL:
    g_value_set_uint64(value, s.beat_switch_until);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

/* ---- pads ---- */

static GstAggregatorPad *gst_montage_select_create_new_pad(GstAggregator *agg,
                                                           GstPadTemplate *templ,
                                                           const gchar *req_name,
                                                           const GstCaps *)
{
  GstMontageSelect *self = GST_MONTAGE_SELECT(agg);
  SelectState *state = self->state;
  const bool beat = g_strcmp0(GST_PAD_TEMPLATE_NAME_TEMPLATE(templ), "beat") == 0;
  gchar *name = nullptr;
  std::size_t slot = 0;
  GST_OBJECT_LOCK(self);
  if (beat) {
    if (state->have_beat_pad) {
      GST_OBJECT_UNLOCK(self);
      GST_WARNING_OBJECT(self, "montageselect has one beat pad; release it before asking again");
      return nullptr;
    }
    state->have_beat_pad = true;
    name = g_strdup("beat");
  } else {
    guint serial = (guint)state->next_slot;
    if (req_name && g_str_has_prefix(req_name, "sink_") && !strchr(req_name, '%')) {
      const guint64 wanted = g_ascii_strtoull(req_name + 5, nullptr, 10);
      if (wanted < G_MAXUINT)
        serial = (guint)wanted;
    }
    name = g_strdup_printf("sink_%u", serial);
    for (GList *l = GST_ELEMENT(self)->sinkpads; l; l = l->next)
      if (g_strcmp0(GST_OBJECT_NAME(l->data), name) == 0) {
        GST_OBJECT_UNLOCK(self);
        GST_WARNING_OBJECT(self, "a pad named %s exists already", name);
        g_free(name);
        return nullptr;
      }
    slot = state->next_slot++;
  }
  GST_OBJECT_UNLOCK(self);
  GstMontageSelectPad *pad = GST_MONTAGE_SELECT_PAD(g_object_new(
      GST_TYPE_MONTAGE_SELECT_PAD, "name", name, "direction", GST_PAD_SINK, "template", templ,
      NULL));
  g_free(name);
  pad->input->is_beat = beat;
  pad->input->slot = slot;
  pad->input->item.source = slot;
  return GST_AGGREGATOR_PAD(pad);
}

static void gst_montage_select_release_pad(GstElement *element, GstPad *pad)
{
  GstMontageSelect *self = GST_MONTAGE_SELECT(element);
  Input *in = GST_MONTAGE_SELECT_PAD(pad)->input;
  GST_OBJECT_LOCK(self);
  in->released = true;
  const bool was_on_air = GST_MONTAGE_SELECT_PAD(pad) == self->state->on_air;
  GST_OBJECT_UNLOCK(self);
  if (was_on_air) /* active-pad reads NULL from now on */
    g_object_notify_by_pspec(G_OBJECT(self), active_pad_pspec);
  if (in->is_beat) {
    GST_OBJECT_LOCK(self);
    self->state->have_beat_pad = false;
    /* Not at the end of its stream: releasing a beat pad that is EOS is
     * the application's cleanup (the music ended). */
    const bool running =
        GST_STATE(self) >= GST_STATE_PAUSED && !gst_aggregator_pad_is_eos(GST_AGGREGATOR_PAD(pad));
    GST_OBJECT_UNLOCK(self);
    double bpm;
    {
      std::lock_guard<std::mutex> lock(self->state->settings_lock);
      bpm = self->state->settings.bpm;
    }
    /* Said, as the mix changes its beats: an application that unplugs its
     * music gets cuts on the bpm grid, out of step with anything heard
     * (trial h115's finding 3: before, silently). */
    if (running && bpm > 0.0)
      GST_ELEMENT_WARNING(self, STREAM, FAILED,
                          ("The beat pad of %s was released: switches now follow the bpm "
                           "property's regular grid (%g BPM) from the next frame; set bpm to 0 "
                           "for no beat switches.",
                           GST_ELEMENT_NAME(self), bpm),
                          ("beat pad released while running"));
    else if (running)
      GST_ELEMENT_WARNING(self, STREAM, FAILED,
                          ("The beat pad of %s was released: no more beat switches (bpm is 0).",
                           GST_ELEMENT_NAME(self)),
                          ("beat pad released while running"));
  }
  GST_ELEMENT_CLASS(gst_montage_select_parent_class)->release_pad(element, pad);
}

/* ---- caps ---- */

/* What a video input may send: the answer to its caps query, which
 * accept-caps follows. Before any input has caps, what downstream takes, at
 * any frame rate (before, downstream's rate: a capsfilter's 30/1 there left
 * a 25 fps input unlinked; trial h115's finding 6). Then
 * the output's format (the first input's caps, format_caps) at any frame rate
 * (and colorimetry, chroma siting), which converters upstream convert to; but
 * when upstream cannot make that format (filter: what upstream can make),
 * whatever it makes: such caps are accepted, so that the input's stream goes
 * on, and the input is not shown while it has them (sink_event). Never caps
 * with the meta:GstVideoOverlayComposition feature (without_overlay_feature()):
 * an input that can make only those is not negotiated. */
static GstCaps *input_caps(GstMontageSelect *self, GstAggregatorPad *pad, GstCaps *filter)
{
  GST_OBJECT_LOCK(self);
  GstCaps *format = self->state->format_caps ? without_rate(self->state->format_caps) : nullptr;
  GST_OBJECT_UNLOCK(self);
  GstCaps *templ = gst_pad_get_pad_template_caps(GST_PAD(pad));
  GstCaps *caps;
  if (!format) {
    caps =
        with_any_rate(gst_pad_peer_query_caps(GST_AGGREGATOR_SRC_PAD(GST_AGGREGATOR(self)), templ));
    gst_caps_unref(templ);
  } else {
    for (guint i = 0; i < gst_caps_get_size(format); i++)
      gst_structure_set(gst_caps_get_structure(format, i), "framerate", GST_TYPE_FRACTION_RANGE, 0,
                        1, G_MAXINT, 1, NULL);
    if (filter && !gst_caps_can_intersect(filter, format)) {
      gst_caps_unref(format);
      caps = templ;
    } else {
      gst_caps_unref(templ);
      caps = format;
    }
  }
  if (filter) {
    GstCaps *c = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(caps);
    caps = c;
  }
  return without_overlay_feature(caps);
}

static gboolean gst_montage_select_sink_query(GstAggregator *agg, GstAggregatorPad *aggpad,
                                              GstQuery *query)
{
  GstMontageSelect *self = GST_MONTAGE_SELECT(agg);
  Input *in = GST_MONTAGE_SELECT_PAD(aggpad)->input;
  if (in->is_beat)
    return GST_AGGREGATOR_CLASS(gst_montage_select_parent_class)->sink_query(agg, aggpad, query);
  switch (GST_QUERY_TYPE(query)) {
  case GST_QUERY_CAPS: {
    GstCaps *filter = nullptr;
    gst_query_parse_caps(query, &filter);
    GstCaps *caps = input_caps(self, aggpad, filter);
    gst_query_set_caps_result(query, caps);
    gst_caps_unref(caps);
    return TRUE;
  }
  case GST_QUERY_ACCEPT_CAPS: {
    /* What the caps query answers for these caps (GstPad's default rule). */
    GstCaps *caps = nullptr;
    gst_query_parse_accept_caps(query, &caps);
    GstCaps *allowed = input_caps(self, aggpad, caps);
    gst_query_set_accept_caps_result(query, gst_caps_is_subset(caps, allowed));
    gst_caps_unref(allowed);
    return TRUE;
  }
  default:
    return GST_AGGREGATOR_CLASS(gst_montage_select_parent_class)->sink_query(agg, aggpad, query);
  }
}

/* The warning that an input's format is not the output's. */
static void warn_format(GstMontageSelect *self, GstAggregatorPad *aggpad, GstCaps *caps,
                        GstCaps *out)
{
  GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                      ("Input %s has another video format than the output; it will not be "
                       "shown. Put videoconvert and videoscale with a capsfilter in front "
                       "of every input.",
                       GST_PAD_NAME(aggpad)),
                      ("input %" GST_PTR_FORMAT ", output %" GST_PTR_FORMAT, caps, out));
}

static gboolean gst_montage_select_sink_event(GstAggregator *agg, GstAggregatorPad *aggpad,
                                              GstEvent *event)
{
  GstMontageSelect *self = GST_MONTAGE_SELECT(agg);
  Input *in = GST_MONTAGE_SELECT_PAD(aggpad)->input;
  if (gst_video_event_is_force_key_unit(event)) {
    /* An input's own keyframe request (montagescene at a cut) is for its
     * next frame: it goes on, restamped, just before the output frame that
     * first shows that frame, if the input is on air then (the element
     * sends its own at switches). Before, it went on at once with the
     * input's timestamps while the frame went out on the output's grid:
     * where the input's frames lie later than the grid's, the timed request
     * named the frame after the cut frame too, and an encoder keyed both
     * (trial h115's finding 4). */
    GstClockTime ts, stream_time, running_time;
    gboolean all_headers = TRUE;
    guint count = 0;
    if (!in->is_beat && gst_video_event_is_force_key_unit(event) &&
        gst_video_event_parse_downstream_force_key_unit(event, &ts, &stream_time, &running_time,
                                                        &all_headers, &count)) {
      std::lock_guard<std::mutex> lock(self->state->stream_lock);
      in->key_unit_next = true;
      in->key_unit_count = count;
    }
    gst_event_unref(event);
    return TRUE;
  }
  if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS && !in->is_beat) {
    /* Called in order with the pad's buffers (from the aggregate thread):
     * the buffers after it have these caps. */
    GstCaps *caps = nullptr;
    gst_event_parse_caps(event, &caps);
    GST_OBJECT_LOCK(self);
    if (!self->state->format_caps)
      self->state->format_caps = gst_caps_ref(caps); /* (normally set in sink_event_pre_queue) */
    GstCaps *out = gst_caps_ref(self->state->format_caps);
    const bool negotiated = self->state->out_caps != nullptr;
    GST_OBJECT_UNLOCK(self);
    if (!negotiated)
      gst_pad_mark_reconfigure(GST_AGGREGATOR_SRC_PAD(agg));
    const bool changed = !in->caps || !gst_caps_is_equal(in->caps, caps);
    gst_caps_replace(&in->caps, caps);
    const bool was_ok = in->caps_ok;
    in->caps_ok = caps_match(caps, out);
    if (!in->caps_ok && changed) {
      /* Once per change of caps: a converter upstream that negotiated
       * before may now convert to the output's format (caps query). Where
       * upstream says it can make that format (its caps query), only the
       * RECONFIGURE and an INFO; the warning comes if frames in these caps
       * still come kFormatWait later (take_video()). Before, the warning
       * came at once, and at start it was a false alarm where an input's
       * converters without a capsfilter negotiated before the first
       * input's caps set the format, then followed it (trial h115's
       * finding 12). */
      GstCaps *want = input_caps(self, aggpad, nullptr);
      GstCaps *can = gst_pad_peer_query_caps(GST_PAD(aggpad), want);
      const bool follows = can && !gst_caps_is_empty(can);
      gst_clear_caps(&can);
      gst_caps_unref(want);
      {
        std::lock_guard<std::mutex> lock(self->state->stream_lock);
        in->format_warning_due = follows;
        in->mismatch_since = GST_CLOCK_TIME_NONE;
      }
      if (follows)
        GST_INFO_OBJECT(self,
                        "%s has another format than the output; upstream can make the "
                        "output's: reconfiguring it",
                        GST_PAD_NAME(aggpad));
      else
        warn_format(self, aggpad, caps, out);
      gst_pad_push_event(GST_PAD(aggpad), gst_event_new_reconfigure());
    } else if (in->caps_ok && !was_ok) {
      GST_INFO_OBJECT(self, "%s has the output's format", GST_PAD_NAME(aggpad));
    }
    gst_caps_unref(out);
  }
  return GST_AGGREGATOR_CLASS(gst_montage_select_parent_class)->sink_event(agg, aggpad, event);
}

/* The first caps to arrive on a video input set the format at once, so that
 * the caps queries of the other inputs answer it from then on. */
static GstFlowReturn gst_montage_select_sink_event_pre_queue(GstAggregator *agg,
                                                             GstAggregatorPad *aggpad,
                                                             GstEvent *event)
{
  GstMontageSelect *self = GST_MONTAGE_SELECT(agg);
  Input *in = GST_MONTAGE_SELECT_PAD(aggpad)->input;
  if (GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT)
    gst_event_copy_segment(event, &in->arrival_segment);
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS)
    in->eos_arrived = true;
  else if (GST_EVENT_TYPE(event) == GST_EVENT_STREAM_START)
    in->eos_arrived = false;
  const bool video_caps = GST_EVENT_TYPE(event) == GST_EVENT_CAPS && !in->is_beat;
  GstCaps *caps = nullptr;
  if (video_caps) {
    gst_event_parse_caps(event, &caps);
    gst_caps_ref(caps);
  }
  const GstFlowReturn ret = GST_AGGREGATOR_CLASS(gst_montage_select_parent_class)
                                ->sink_event_pre_queue(agg, aggpad, event);
  if (caps) {
    gint n = 0, d = 1;
    const GstStructure *s = gst_caps_get_size(caps) > 0 ? gst_caps_get_structure(caps, 0) : nullptr;
    const bool rate = s && gst_structure_get_fraction(s, "framerate", &n, &d) && n > 0 && d > 0;
    GST_OBJECT_LOCK(self);
    const bool first = ret == GST_FLOW_OK && !self->state->format_caps;
    if (first)
      self->state->format_caps = gst_caps_ref(caps);
    SelectState *state = self->state;
    if (ret == GST_FLOW_OK && rate &&
        (state->max_rate_n == 0 ||
         gst_util_fraction_compare(n, d, state->max_rate_n, state->max_rate_d) > 0)) {
      state->max_rate_n = n;
      state->max_rate_d = d;
    }
    GST_OBJECT_UNLOCK(self);
    if (first)
      GST_INFO_OBJECT(self, "output format from %s: %" GST_PTR_FORMAT, GST_PAD_NAME(aggpad), caps);
    gst_caps_unref(caps);
  }
  return ret;
}

/* The output caps: the format (the first input's caps) at any frame rate
 * downstream takes, fixated by fixate_src_caps(); once negotiated, the same
 * caps while downstream takes them; downstream's new rate mid-stream
 * restarts the output grid there (aggregate()). */
static GstFlowReturn gst_montage_select_update_src_caps(GstAggregator *agg, GstCaps *downstream,
                                                        GstCaps **ret)
{
  GstMontageSelect *self = GST_MONTAGE_SELECT(agg);
  GST_OBJECT_LOCK(self);
  GstCaps *caps = self->state->format_caps ? gst_caps_ref(self->state->format_caps) : nullptr;
  GstCaps *current = self->state->out_caps ? gst_caps_ref(self->state->out_caps) : nullptr;
  GST_OBJECT_UNLOCK(self);
  if (!caps) {
    gst_clear_caps(&current);
    return GST_AGGREGATOR_FLOW_NEED_DATA;
  }
  if (current && gst_caps_can_intersect(downstream, current)) {
    gst_caps_unref(caps);
    *ret = current;
    return GST_FLOW_OK;
  }
  gst_clear_caps(&current);
  caps = with_any_rate(caps);
  *ret = gst_caps_intersect(downstream, caps);
  gst_caps_unref(caps);
  return gst_caps_is_empty(*ret) ? GST_FLOW_NOT_NEGOTIATED : GST_FLOW_OK;
}

/* The output's frame rate, where downstream allows a choice: the nearest to
 * the highest rate among the inputs' caps so far (no input's motion is
 * dropped; the others' frames are shown again), 30/1 when none has a rate.
 * Independent of which input negotiates first (before, the output's rate was
 * that input's, and a mix of cameras at 15, 30 and 60 fps came out at 15 or
 * 30 fps from run to run: trial h115's finding 6). */
static GstCaps *gst_montage_select_fixate_src_caps(GstAggregator *agg, GstCaps *caps)
{
  GstMontageSelect *self = GST_MONTAGE_SELECT(agg);
  GST_OBJECT_LOCK(self);
  gint n = self->state->max_rate_n, d = self->state->max_rate_d;
  GST_OBJECT_UNLOCK(self);
  if (n <= 0) {
    n = 30;
    d = 1;
  }
  caps = gst_caps_make_writable(caps);
  for (guint i = 0; i < gst_caps_get_size(caps); i++) {
    GstStructure *s = gst_caps_get_structure(caps, i);
    if (gst_structure_has_field(s, "framerate"))
      gst_structure_fixate_field_nearest_fraction(s, "framerate", n, d);
  }
  return gst_caps_fixate(caps);
}

static gboolean gst_montage_select_negotiated_src_caps(GstAggregator *agg, GstCaps *caps)
{
  GstMontageSelect *self = GST_MONTAGE_SELECT(agg);
  GstVideoInfo info;
  GstClockTime frame = kFallbackFrame;
  gint fps_n = 30, fps_d = 1;
  if (gst_video_info_from_caps(&info, caps) && info.fps_n > 0 && info.fps_d > 0) {
    fps_n = info.fps_n;
    fps_d = info.fps_d;
    frame = gst_util_uint64_scale_int(GST_SECOND, info.fps_d, info.fps_n);
  }
  GST_OBJECT_LOCK(self);
  gst_caps_replace(&self->state->out_caps, caps);
  self->state->frame = frame;
  self->state->fps_n = fps_n;
  self->state->fps_d = fps_d;
  GST_OBJECT_UNLOCK(self);
  /* One output frame: an input's frame for t may start up to a frame before t;
   * and the beat pad's data is waited for to the end of frame t, t + d
   * (take_beats). */
  gst_aggregator_set_latency(agg, frame, frame);
  GST_DEBUG_OBJECT(self, "output %" GST_PTR_FORMAT ", frame %" GST_TIME_FORMAT, caps,
                   GST_TIME_ARGS(frame));
  return TRUE;
}

/* The allocation query of a video input (upstream's streaming thread):
 * answered with the metas downstream takes, from GstAggregator's allocation
 * query downstream for the output (decide_query), or before the output is
 * negotiated from one with the input's caps. Frames go out untouched, so an
 * upstream element may then send frames whose layout a GstVideoMeta
 * describes (a decoder's padded rows) rather than copy each into packed
 * rows; a repeat keeps those metas (repeat_of()). No pool or allocator is
 * offered: a pool downstream sized for one stream is not shared among the
 * inputs. False (not answered: upstream allocates as it would alone) for the
 * beat pad, or when downstream does not answer. */
static gboolean gst_montage_select_propose_allocation(GstAggregator *agg, GstAggregatorPad *pad,
                                                      GstQuery *decide_query, GstQuery *query)
{
  if (GST_MONTAGE_SELECT_PAD(pad)->input->is_beat)
    return FALSE;
  /* A copy of GstAggregator's query: that one is shared (not writable),
   * and reading the metas of a query that has none creates its meta array
   * in place (gst_query_get_n_allocation_metas()): a GStreamer-CRITICAL
   * ("IS_MUTABLE (structure)") and a leaked GArray for each input's query
   * once the output was negotiated, whenever downstream adds no meta
   * (fakesink, appsink; trial h115's finding 1). */
  GstQuery *downstream = decide_query ? gst_query_copy(decide_query) : nullptr;
  if (!downstream) {
    GstCaps *caps = nullptr;
    gst_query_parse_allocation(query, &caps, nullptr);
    if (!caps)
      return FALSE;
    downstream = gst_query_new_allocation(caps, FALSE);
    if (!gst_pad_peer_query(GST_AGGREGATOR_SRC_PAD(agg), downstream)) {
      gst_query_unref(downstream);
      return FALSE;
    }
  }
  for (guint i = 0; i < gst_query_get_n_allocation_metas(downstream); i++) {
    const GstStructure *params = nullptr;
    const GType api = gst_query_parse_nth_allocation_meta(downstream, i, &params);
    if (!gst_query_find_allocation_meta(query, api, nullptr))
      gst_query_add_allocation_meta(query, api, params);
  }
  gst_query_unref(downstream);
  return TRUE;
}

/* ---- start / stop ---- */

static void reset_streaming(GstMontageSelect *self)
{
  SelectState *state = self->state;
  GST_OBJECT_LOCK(self);
  GstMontageSelectPad *on_air = state->on_air;
  state->on_air = nullptr;
  GST_OBJECT_UNLOCK(self);
  if (on_air)
    gst_object_unref(on_air);
  state->on_air_since = GST_CLOCK_TIME_NONE;
  state->next_t = GST_CLOCK_TIME_NONE;
  state->grid_origin = GST_CLOCK_TIME_NONE;
  state->grid_start = GST_CLOCK_TIME_NONE;
  state->grid_fps_n = 0;
  state->grid_fps_d = 1;
  state->frame_index = 0;
  state->bpm_origin = GST_CLOCK_TIME_NONE;
  state->beats.clear();
  state->beats_since_switch = 0;
  state->pushed = false;
  state->segment_out = false;
  state->take_since = GST_CLOCK_TIME_NONE;
}

static gboolean gst_montage_select_start(GstAggregator *agg)
{
  GstMontageSelect *self = GST_MONTAGE_SELECT(agg);
  SelectState *state = self->state;
  Settings s;
  {
    std::lock_guard<std::mutex> lock(state->settings_lock);
    s = state->settings;
  }
  GError *error = nullptr;
  montage::Style style;
  if (!montage::load_style(s.style, style, &error)) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("montageselect could not load the style \"%s\": %s", s.style.c_str(),
                       error ? error->message : "unknown error"),
                      ("set the style property to balanced, energetic, calm or a .style file"));
    g_clear_error(&error);
    return FALSE;
  }
  state->style = style;
  montage::SelectionSettings settings;
  settings.weights = style.weights;
  settings.axis_weights = style.target.axis_weights;
  settings.neighbours = style.neighbours;
  settings.variety_window = style.variety_window;
  settings.seed = s.seed;
  state->engine = std::make_unique<montage::SelectionEngine>(settings);
  state->switches = 0;
  state->latency_configured = false;
  reset_streaming(self);
  return TRUE;
}

static gboolean gst_montage_select_src_event(GstAggregator *agg, GstEvent *event)
{
  if (GST_EVENT_TYPE(event) == GST_EVENT_LATENCY)
    GST_MONTAGE_SELECT(agg)->state->latency_configured = true;
  return GST_AGGREGATOR_CLASS(gst_montage_select_parent_class)->src_event(agg, event);
}

static gboolean gst_montage_select_stop(GstAggregator *agg)
{
  GstMontageSelect *self = GST_MONTAGE_SELECT(agg);
  std::lock_guard<std::mutex> lock(self->state->stream_lock);
  reset_streaming(self);
  /* Nothing of this run is left for the next (READY -> PAUSED again). */
  std::vector<GstMontageSelectPad *> pads = sink_pads(GST_ELEMENT(agg));
  for (GstMontageSelectPad *p : pads)
    p->input->reset_for_next_run();
  unref_pads(pads);
  self->state->engine.reset();
  GST_OBJECT_LOCK(self);
  gst_clear_caps(&self->state->out_caps);
  gst_clear_caps(&self->state->format_caps);
  self->state->max_rate_n = 0;
  self->state->max_rate_d = 1;
  self->state->frame = 0;
  gst_clear_object(&self->state->take);
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static GstFlowReturn gst_montage_select_flush(GstAggregator *agg)
{
  std::lock_guard<std::mutex> lock(GST_MONTAGE_SELECT(agg)->state->stream_lock);
  reset_streaming(GST_MONTAGE_SELECT(agg));
  return GST_FLOW_OK;
}

/* ---- aggregation ---- */

namespace
{

/* What one aggregate() call sees of the pads. */
struct Frame {
  GstClockTime t = 0; /* running time of the output frame */
  /* Its position in the output segment (the source pad's, which a seek
   * sets): what its PTS, its GAP event and its key-unit request carry. */
  GstClockTime pos = GST_CLOCK_TIME_NONE;
  GstClockTime d = 0; /* its duration */
  GstClockTime m = 0; /* its middle, t + d / 2: inputs are sampled there */
  /* How long an input's latest frame may have ended before m and still be
   * shown (again): grace-frames output frames. */
  GstClockTime grace = 0;
  bool timeout = false;
  Settings settings;
  std::vector<GstMontageSelectPad *> pads; /* refs */
  GstMontageSelectPad *beat = nullptr;     /* among pads */
};

/* Whether the input's current buffer started before running time m and
 * lasts until m, or, unless the input is EOS (its data has ended), ended at
 * most `grace` before it (a frame late or missing: the latest is shown
 * again). */
bool covers(const Input *in, GstAggregatorPad *pad, GstClockTime m, GstClockTime grace)
{
  if (in->is_beat || in->released || !in->cur_caps_ok || in->lost ||
      !GST_CLOCK_TIME_IS_VALID(in->cur_start) || in->current == nullptr || in->cur_start >= m)
    return false;
  return in->cur_end + (gst_aggregator_pad_is_eos(pad) ? 0 : grace) >= m;
}

/* Whether the input can show output frame f: its current buffer covers the
 * frame's middle f.m, or ended at most f.grace before it. At EOS an input's
 * last buffer is shown to its end (an input slower than the grid shows it
 * on each frame whose middle it covers; before, it was shown once and the
 * output ended a frame early), not within the grace after it. */
bool available_at(const Input *in, GstAggregatorPad *pad, const Frame &f)
{
  return covers(in, pad, f.m, f.grace);
}

/* Whether the pad's queue holds a buffer that starts before the middle of
 * the output frame after f: that frame will show it, not the current one
 * again. That middle is f.m + f.d to within a nanosecond either way (the
 * grid's frame durations differ by 1 ns at rates like 30000/1001), so a
 * buffer must start 1 ns earlier still: one starting on the real middle
 * is not taken by the next frame, which would then have nothing to show
 * (an input-lost switch for one frame; a review's finding). The empty
 * GAP-flagged buffer GstAggregator queues for a GAP event is no frame
 * (take_video() drops it), so it does not count: the current frame is
 * still the one to show again within the grace. */
bool next_frame_queued(GstAggregatorPad *pad, const Frame &f)
{
  GstBuffer *buf = gst_aggregator_pad_peek_buffer(pad);
  if (!buf)
    return false;
  if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP) && gst_buffer_get_size(buf) == 0) {
    gst_buffer_unref(buf);
    return false;
  }
  const GstClockTime start = running_time(pad, GST_BUFFER_PTS(buf));
  gst_buffer_unref(buf);
  return GST_CLOCK_TIME_IS_VALID(start) && start + 1 < f.m + f.d;
}

/* Whether the input's stream is known to end before running time `until`:
 * its EOS has arrived and neither its current buffer nor any buffer queued
 * behind it reaches `until`. Unknown (no EOS yet): false. */
bool ends_before(const Input *in, GstClockTime until)
{
  if (!in->eos_arrived)
    return false;
  GstClockTime end = GST_CLOCK_TIME_IS_VALID(in->cur_end) ? in->cur_end : 0;
  const GstClockTime arrived = in->arrived_end;
  if (GST_CLOCK_TIME_IS_VALID(arrived))
    end = std::max(end, arrived);
  return end < until;
}

} // namespace

/* Pops the beat pad's buffers that start before the end of frame f (t + d)
 * and reads their beats: those at or before t are frame t's, the later ones
 * wait in state->beats for their frame. Reading to the frame's end, not to
 * t, finds a beat before t that montagebeat knew only after the buffer
 * holding it had gone out: it rides on the next buffer out (beatmeta.h),
 * which may start after t (a beat 0-5 ms before a frame, in a buffer ending
 * after the frame's start). Returns true when more beat data is needed before
 * frame t can be decided: the pad's data does not reach the frame's end yet
 * (and the pad has data, not EOS). The wait is within the element's latency
 * of one output frame (negotiated_src_caps); when live and the beats come
 * later still, the frame is decided at the timeout without them, and a beat
 * read after its frame lands on the next frame decided. */
/* What feeds a pad, walking upstream through elements with one sink pad
 * (and into and out of bins through ghost pads), at most 64 steps. */
enum class Feeder { montagebeat, source_without, unknown };
static Feeder beat_feeder(GstPad *sinkpad)
{
  GstPad *pad = gst_pad_get_peer(sinkpad);
  Feeder found = Feeder::unknown;
  for (int step = 0; pad && step < 64; step++) {
    GstPad *next = nullptr;
    GstElement *element = gst_pad_get_parent_element(pad);
    if (GST_IS_GHOST_PAD(pad)) {
      next = gst_ghost_pad_get_target(GST_GHOST_PAD(pad)); /* into the bin */
    } else if (!element && GST_IS_PROXY_PAD(pad)) {
      /* A ghost sink pad's inside: out of the bin, to what feeds it. */
      if (GstProxyPad *ghost = gst_proxy_pad_get_internal(GST_PROXY_PAD(pad))) {
        next = gst_pad_get_peer(GST_PAD(ghost));
        gst_object_unref(ghost);
      }
    } else if (element) {
      GstElementFactory *factory = gst_element_get_factory(element);
      GST_OBJECT_LOCK(element);
      const guint16 sinks = element->numsinkpads;
      GstPad *up = sinks == 1 ? GST_PAD(gst_object_ref(element->sinkpads->data)) : nullptr;
      GST_OBJECT_UNLOCK(element);
      if (factory && g_strcmp0(GST_OBJECT_NAME(factory), "montagebeat") == 0)
        found = Feeder::montagebeat;
      else if (sinks == 0 && !GST_IS_BIN(element))
        found = Feeder::source_without;
      else if (up)
        next = gst_pad_get_peer(up);
      if (up)
        gst_object_unref(up);
    }
    if (element)
      gst_object_unref(element);
    gst_object_unref(pad);
    pad = found == Feeder::unknown ? next : nullptr;
    if (found != Feeder::unknown && next)
      gst_object_unref(next);
  }
  if (pad)
    gst_object_unref(pad);
  return found;
}

static bool take_beats(GstMontageSelect *self, Frame &f)
{
  SelectState *state = self->state;
  GstAggregatorPad *pad = GST_AGGREGATOR_PAD(f.beat);
  Input *in = f.beat->input;
  const GstClockTime frame_end = f.t + f.d;
  GstBuffer *buf;
  while ((buf = gst_aggregator_pad_peek_buffer(pad))) {
    const GstClockTime start = running_time(pad, GST_BUFFER_PTS(buf));
    if (GST_CLOCK_TIME_IS_VALID(start) && start >= frame_end) {
      gst_buffer_unref(buf);
      break;
    }
    gst_buffer_unref(buf);
    buf = gst_aggregator_pad_pop_buffer(pad);
    if (!buf)
      break;
    in->seen_data = true;
    MontageBeatInfo beats[16];
    const guint n = std::min<guint>(montage_buffer_get_beats(buf, beats, 16), 16);
    in->beat_meta_seen = in->beat_meta_seen || n > 0;
    if (!GST_CLOCK_TIME_IS_VALID(in->beat_first))
      in->beat_first = start;
    for (guint k = 0; k < n; k++) {
      Beat b;
      b.time = running_time(pad, beats[k].time);
      b.strength = beats[k].strength;
      b.energy = beats[k].energy >= 0 ? std::min(beats[k].energy, 1.0) : 0.5;
      b.downbeat = beats[k].downbeat;
      b.meter_known = beats[k].bar_position > 0;
      if (GST_CLOCK_TIME_IS_VALID(b.time) &&
          (state->beats.empty() || b.time > state->beats.back().time)) {
        GST_DEBUG_OBJECT(self, "beat at %" GST_TIME_FORMAT ", strength %.2f%s",
                         GST_TIME_ARGS(b.time), b.strength, b.downbeat ? ", downbeat" : "");
        state->beats.push_back(b);
      }
    }
    if (GST_CLOCK_TIME_IS_VALID(start)) {
      GstClockTime end = start;
      if (GST_BUFFER_DURATION_IS_VALID(buf))
        end += GST_BUFFER_DURATION(buf);
      in->covered_end = std::max(in->covered_end, end);
    }
    gst_buffer_unref(buf);
  }
  /* kNoBeatWarning of audio on the beat pad without a beat meta, and what
   * feeds it is a source with no montagebeat between (audio linked
   * straight to it: the mix would never switch on a beat): a warning, once
   * a run. Not where montagebeat feeds it (music without beats yet: a
   * silent intro) or where that cannot be told (a mixer, an appsrc). */
  if (!in->beat_checked && !in->beat_meta_seen && GST_CLOCK_TIME_IS_VALID(in->beat_first) &&
      in->covered_end >= in->beat_first + kNoBeatWarning) {
    in->beat_checked = true;
    if (beat_feeder(GST_PAD(pad)) == Feeder::source_without)
      GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                          ("The beat pad of %s has had %u s of audio without a beat: it takes "
                           "montagebeat's output (... ! audioconvert ! montagebeat ! queue ! "
                           "%s.beat), not plain audio.",
                           GST_ELEMENT_NAME(self), (guint)(kNoBeatWarning / GST_SECOND),
                           GST_ELEMENT_NAME(self)),
                          ("no MontageBeatMeta on the beat pad, no montagebeat upstream"));
  }
  return !gst_aggregator_pad_is_eos(pad) && !gst_aggregator_pad_has_buffer(pad) && in->seen_data &&
         in->covered_end < frame_end;
}

/* Pops an input's buffers that start before the frame's middle f.m, keeping
 * the last as its current frame. A GAP event on the input (GstAggregator
 * queues it as an empty buffer flagged GAP) is no frame: it only says that
 * nothing comes for its span (gap_end), and the input's latest frame stays
 * its current one (shown again within the grace, available_at()). Returns
 * true when it needs more data to last until f.m. */
static bool take_video(GstMontageSelect *self, Frame &f, GstMontageSelectPad *p)
{
  GstAggregatorPad *pad = GST_AGGREGATOR_PAD(p);
  Input *in = p->input;
  GstBuffer *buf;
  while ((buf = gst_aggregator_pad_peek_buffer(pad))) {
    const GstClockTime start = running_time(pad, GST_BUFFER_PTS(buf));
    if (!GST_CLOCK_TIME_IS_VALID(start)) {
      /* Cannot be placed in time: dropped. */
      gst_buffer_unref(buf);
      gst_aggregator_pad_drop_buffer(pad);
      continue;
    }
    gst_buffer_unref(buf);
    if (start >= f.m)
      break;
    buf = gst_aggregator_pad_pop_buffer(pad);
    if (!buf)
      break;
    if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP) && gst_buffer_get_size(buf) == 0) {
      const GstClockTime end =
          start + (GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0);
      if (!GST_CLOCK_TIME_IS_VALID(in->gap_end) || end > in->gap_end)
        in->gap_end = end;
      gst_buffer_unref(buf);
      continue;
    }
    if (!in->seen_data) {
      in->seen_data = true;
      in->shot_start = start;
    }
    read_shot_metas(self->state, in, buf, start);
    /* A key-unit request stays with the frames until one is shown. */
    const bool key_unit = in->key_unit_next || (in->cur_key_unit && !in->cur_sent);
    in->key_unit_next = false;
    in->clear_current(); /* the frame before it is dropped (or was shown) */
    in->cur_key_unit = key_unit;
    in->current = buf;
    in->cur_caps_ok = in->caps_ok;
    if (!in->caps_ok && in->format_warning_due) {
      /* Upstream said it can make the output's format: frames in other
       * caps kFormatWait after the first are warned of after all. */
      if (!GST_CLOCK_TIME_IS_VALID(in->mismatch_since))
        in->mismatch_since = start;
      else if (start >= in->mismatch_since + kFormatWait) {
        in->format_warning_due = false;
        GST_OBJECT_LOCK(self);
        GstCaps *out = self->state->format_caps ? gst_caps_ref(self->state->format_caps) : nullptr;
        GST_OBJECT_UNLOCK(self);
        warn_format(self, pad, in->caps, out);
        gst_clear_caps(&out);
      }
    }
    in->cur_start = start;
    in->cur_end = start + (GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : f.d);
    in->lost = false;
  }
  const bool covered = (GST_CLOCK_TIME_IS_VALID(in->cur_end) && in->cur_end >= f.m) ||
                       (GST_CLOCK_TIME_IS_VALID(in->gap_end) && in->gap_end >= f.m);
  return !covered && !gst_aggregator_pad_is_eos(pad) && !gst_aggregator_pad_has_buffer(pad) &&
         in->seen_data && !in->released && !in->lost;
}

/* Whether a meta is one of montagescene's shot metas (gst/montage/shotmeta.h). */
static bool is_shot_meta(const GstMeta *meta)
{
  const GstMetaInfo *shot = montage::shot_meta_get_info();
  const GstMetaInfo *features = montage::shot_features_meta_get_info();
  return (shot && meta->info->api == shot->api) || (features && meta->info->api == features->api);
}

/* A frame shown again: a new GstBuffer on the same memory (never mapped),
 * with the frame's flags but DISCONT and RESYNC, and the metas that copy (GstVideoMeta, which says
 * how the memory is laid out: strides, plane offsets; crop, colour metas, ...)
 * but not montagescene's shot metas: a repeat begins no shot and adds no
 * features. Its timestamps are set by the caller. */
static GstBuffer *repeat_of(GstBuffer *frame)
{
  GstBuffer *out = gst_buffer_new();
  gst_buffer_copy_into(
      out, frame,
      (GstBufferCopyFlags)(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_MEMORY | GST_BUFFER_COPY_META),
      0, (gsize)-1);
  /* It follows its original: no discontinuity (a DISCONT or RESYNC on the
   * original is at the original only). */
  GST_BUFFER_FLAG_UNSET(out, GST_BUFFER_FLAG_DISCONT);
  GST_BUFFER_FLAG_UNSET(out, GST_BUFFER_FLAG_RESYNC);
  gst_buffer_foreach_meta(
      out,
      [](GstBuffer *, GstMeta **meta, gpointer) -> gboolean {
        if (is_shot_meta(*meta))
          *meta = nullptr; /* removed */
        return TRUE;
      },
      nullptr);
  return out;
}

/* The `montage-switch` message of a switch (posted once stream_lock is
 * released). */
static GstMessage *switch_message(GstMontageSelect *self, GstClockTime t, GstClockTime beat,
                                  const char *reason, GstMontageSelectPad *previous,
                                  GstMontageSelectPad *now, const montage::Selection &sel)
{
  const montage::ScoreBreakdown &b = sel.score;
  GstStructure *s = gst_structure_new(
      "montage-switch", "running-time", G_TYPE_UINT64, (guint64)t, "beat-time", G_TYPE_UINT64,
      (guint64)beat, "reason", G_TYPE_STRING, reason, "previous-pad", G_TYPE_STRING,
      previous ? GST_PAD_NAME(previous) : "", "new-pad", G_TYPE_STRING, GST_PAD_NAME(now),
      "count", G_TYPE_UINT, self->state->switches, "total", G_TYPE_DOUBLE, b.total, "closeness",
      G_TYPE_DOUBLE, b.closeness, "freshness", G_TYPE_DOUBLE, b.freshness, "reuse", G_TYPE_DOUBLE,
      b.reuse, "jump-cut", G_TYPE_DOUBLE, b.jump_cut, "variety", G_TYPE_DOUBLE, b.variety,
      "match-cut", G_TYPE_DOUBLE, b.match_cut, "inpoint", G_TYPE_DOUBLE, b.inpoint, "fit",
      G_TYPE_DOUBLE, b.fit, "jitter", G_TYPE_DOUBLE, b.jitter, "runner-up", G_TYPE_DOUBLE,
      sel.runner_up, "candidates", G_TYPE_UINT, (guint)sel.usable, NULL);
  return gst_message_new_element(GST_OBJECT(self), s);
}

/* Asks the engine for the best input at frame t. strict: respect
 * min-shot-length; only: consider that input alone (a manual take). Returns
 * the pad (borrowed from f.pads) or NULL. */
static GstMontageSelectPad *choose(GstMontageSelect *self, Frame &f, const Beat *beat, bool strict,
                                   montage::Selection &out, GstMontageSelectPad *only = nullptr)
{
  SelectState *state = self->state;
  std::vector<GstMontageSelectPad *> by_slot(state->engine->items().size(), nullptr);
  for (GstMontageSelectPad *p : f.pads)
    if (!p->input->is_beat && p->input->slot < by_slot.size())
      by_slot[p->input->slot] = p;
  montage::MusicMoment moment;
  moment.energy = beat ? beat->energy : 0.5;
  moment.downbeat = beat && beat->downbeat;
  const montage::StylePacing &pace = state->style.pacing;
  moment.level = moment.energy < pace.low_energy    ? montage::Section::Level::kLow
                 : moment.energy >= pace.high_energy ? montage::Section::Level::kHigh
                                                     : montage::Section::Level::kMedium;
  const montage::FeaturePoint target = montage::target_point(state->style.target, moment);
  const GstClockTime t = f.t;
  const GstClockTime min_len = f.settings.min_shot_length;
  auto usable = [&](std::size_t i, montage::ItemUse &use) {
    GstMontageSelectPad *p = i < by_slot.size() ? by_slot[i] : nullptr;
    if (only && p != only)
      return false;
    if (!p || !available_at(p->input, GST_AGGREGATOR_PAD(p), f)) {
      GST_LOG_OBJECT(self, "item %zu: no input delivering", i);
      return false;
    }
    const Input *in = p->input;
    /* A switch it could not hold for the style's min-gap would flash: an
     * input known to end sooner is not switched to (nor kept on air at a beat:
     * the beat may then cut to one that goes on). */
    const GstClockTime hold = std::max(state->style.pacing.min_gap, 2 * f.d);
    if (ends_before(in, t + hold)) {
      GST_LOG_OBJECT(self, "%s: ends within %" GST_TIME_FORMAT, GST_PAD_NAME(p),
                     GST_TIME_ARGS(hold));
      return false;
    }
    const GstClockTime age =
        GST_CLOCK_TIME_IS_VALID(in->shot_start) && t >= in->shot_start ? t - in->shot_start : 0;
    const bool recent_cut = GST_CLOCK_TIME_IS_VALID(in->cut) && t < in->cut + min_len;
    if (strict && p != state->on_air && recent_cut) {
      GST_LOG_OBJECT(self, "%s: %" GST_TIME_FORMAT " since its cut", GST_PAD_NAME(p),
                     GST_TIME_ARGS(t >= in->cut ? t - in->cut : 0));
      return false;
    }
    const bool aired = in->aired_serial == in->shot_serial && in->aired > 0;
    const double span = (double)std::max(age, std::max<GstClockTime>(min_len, 1));
    use.reuse = aired;
    use.freshness = aired ? 1.0 - std::clamp((double)in->aired / span, 0.0, 1.0) : 1.0;
    use.inpoint = 0.5;
    use.fit = 0.5;
    return true;
  };
  std::optional<montage::Selection> sel = state->engine->choose(target, usable);
  if (!sel)
    return nullptr;
  out = *sel;
  return by_slot[sel->item];
}

static GstFlowReturn gst_montage_select_aggregate(GstAggregator *agg, gboolean timeout)
{
  GstMontageSelect *self = GST_MONTAGE_SELECT(agg);
  SelectState *state = self->state;
  Frame f;
  f.timeout = timeout;
  {
    std::lock_guard<std::mutex> lock(state->settings_lock);
    f.settings = state->settings;
  }
  gint fps_n, fps_d;
  GST_OBJECT_LOCK(self);
  f.d = state->frame;
  fps_n = state->fps_n;
  fps_d = state->fps_d;
  GST_OBJECT_UNLOCK(self);
  std::unique_lock<std::mutex> stream_lock(state->stream_lock);
  if (!state->engine)
    return GST_FLOW_FLUSHING;

  struct PadsGuard {
    std::vector<GstMontageSelectPad *> &pads;
    ~PadsGuard() { unref_pads(pads); }
  } guard{f.pads};
  f.pads = sink_pads(GST_ELEMENT(self));

  /* Engine items for new inputs; the beat pad. */
  bool any_video = false, all_eos = true;
  for (GstMontageSelectPad *p : f.pads) {
    Input *in = p->input;
    if (in->is_beat) {
      if (!in->released)
        f.beat = p;
      continue;
    }
    any_video = true;
    if (!gst_aggregator_pad_is_eos(GST_AGGREGATOR_PAD(p)) ||
        gst_aggregator_pad_has_buffer(GST_AGGREGATOR_PAD(p)))
      all_eos = false;
    if (in->slot >= state->engine->items().size()) {
      std::vector<montage::SelectionItem> items = state->engine->items();
      while (items.size() <= in->slot) {
        montage::SelectionItem item;
        item.source = items.size();
        items.push_back(item);
      }
      state->engine->set_items(std::move(items));
    }
  }
  if (any_video && all_eos) {
    /* The stream ends once no input's last buffer covers the next frame's
     * middle (an input slower than the grid shows its last frame to its
     * end). */
    bool covered = false;
    if (f.d != 0 && GST_CLOCK_TIME_IS_VALID(state->next_t))
      for (GstMontageSelectPad *p : f.pads)
        covered = covered || covers(p->input, GST_AGGREGATOR_PAD(p), state->next_t + f.d / 2, 0);
    if (!covered)
      return GST_FLOW_EOS;
  }
  GstAggregatorPad *beat_pad = f.beat ? GST_AGGREGATOR_PAD(f.beat) : nullptr;
  if (!any_video && f.beat &&
      (f.d == 0 || !GST_CLOCK_TIME_IS_VALID(state->next_t) || !state->pushed ||
       (gst_aggregator_pad_is_eos(beat_pad) && !gst_aggregator_pad_has_buffer(beat_pad)))) {
    /* No video input (none requested, or all released) before the first
     * frame out, or at the beat pad's end: nothing to show. The beats are
     * dropped (upstream would block on them otherwise), and the output ends
     * at the beat pad's EOS with a warning, rather than the pipeline never
     * prerolling (a trial's finding). A video input requested before then
     * is mixed as usual. Once frames went out, every video input released
     * is no end: the grid goes on below, each frame a GAP event, paced by
     * the beat pad's data (take_beats()) or, live, by the latency, until an
     * input comes back. Before, the beats were dropped here with the grid
     * standing still: nothing went out, then every frame missed went out at
     * once as a late GAP when an input came (trial h115's finding 2). */
    while (gst_aggregator_pad_drop_buffer(beat_pad)) {
    }
    if (!gst_aggregator_pad_is_eos(beat_pad))
      return GST_AGGREGATOR_FLOW_NEED_DATA;
    GST_ELEMENT_WARNING(self, STREAM, FAILED,
                        ("%s has no video input: the output ends at the beat pad's end. Link "
                         "video to its sink_%%u pads.",
                         GST_ELEMENT_NAME(self)),
                        ("beat pad EOS, no sink_%%u pad"));
    return GST_FLOW_EOS;
  }

  if (f.d == 0) {
    /* No caps yet: nothing can be placed on the grid. */
    for (GstMontageSelectPad *p : f.pads)
      if (p->input->is_beat || !timeout)
        continue;
      else
        gst_aggregator_pad_drop_buffer(GST_AGGREGATOR_PAD(p));
    return GST_AGGREGATOR_FLOW_NEED_DATA;
  }

  /* The output frame: the grid continues; it starts at the earliest input. */
  if (!GST_CLOCK_TIME_IS_VALID(state->next_t)) {
    GstClockTime first = GST_CLOCK_TIME_NONE;
    for (GstMontageSelectPad *p : f.pads) {
      if (p->input->is_beat)
        continue;
      GstBuffer *buf = gst_aggregator_pad_peek_buffer(GST_AGGREGATOR_PAD(p));
      if (!buf)
        continue;
      const GstClockTime rt = running_time(GST_AGGREGATOR_PAD(p), GST_BUFFER_PTS(buf));
      gst_buffer_unref(buf);
      if (GST_CLOCK_TIME_IS_VALID(rt) && (!GST_CLOCK_TIME_IS_VALID(first) || rt < first))
        first = rt;
    }
    if (!GST_CLOCK_TIME_IS_VALID(first)) {
      if (!timeout)
        return GST_AGGREGATOR_FLOW_NEED_DATA;
      first = gst_aggregator_simple_get_next_time(agg);
      if (!GST_CLOCK_TIME_IS_VALID(first))
        first = 0;
    }
    state->next_t = state->grid_origin = state->grid_start = first;
    state->frame_index = 0;
    state->grid_fps_n = fps_n;
    state->grid_fps_d = fps_d;
  } else if (state->grid_fps_n != fps_n || state->grid_fps_d != fps_d) {
    /* The output's rate changed: the grid goes on from the next frame's
     * time at the new rate (no jump, no gap in the timestamps). */
    GST_INFO_OBJECT(self, "output rate %d/%d -> %d/%d: grid restarted at %" GST_TIME_FORMAT,
                    state->grid_fps_n, state->grid_fps_d, fps_n, fps_d,
                    GST_TIME_ARGS(state->next_t));
    state->grid_origin = state->next_t;
    state->frame_index = 0;
    state->grid_fps_n = fps_n;
    state->grid_fps_d = fps_d;
  }
  /* Frame times from the frame index, never accumulated. */
  auto grid = [&](guint64 k) {
    return state->grid_origin + gst_util_uint64_scale(k, (guint64)fps_d * GST_SECOND, fps_n);
  };
  f.t = state->next_t;
  f.d = grid(state->frame_index + 1) - f.t;
  f.m = f.t + f.d / 2;
  f.grace = f.settings.grace_frames * f.d;
  if (timeout && !state->latency_configured && f.t < state->grid_start + kStartHold) {
    /* Live, before the pipeline's latency is configured: an input's frame
     * late for a frame decided on the clock is waited for, its latest
     * frame shown again, rather than the input lost (kStartHold). Before,
     * some live starts cut away from the first input 0.1-0.3 s in, reason
     * input-lost: a flash shot at the head of the mix (trial h115's finding
     * 10). */
    f.grace = std::max(f.grace, f.m - state->grid_start);
  }
  /* Decided in running time, stamped in the output segment: after a seek
   * (start 2 s) running time 0 is position 2 s. A frame at or after the
   * segment's stop ends the stream, as videoaggregator does. */
  GstSegment out_segment;
  GST_OBJECT_LOCK(self);
  gst_segment_copy_into(&GST_AGGREGATOR_PAD(agg->srcpad)->segment, &out_segment);
  GST_OBJECT_UNLOCK(self);
  f.pos = gst_segment_position_from_running_time(&out_segment, GST_FORMAT_TIME, f.t);
  const GstClockTime stop_rt =
      GST_CLOCK_TIME_IS_VALID(out_segment.stop)
          ? gst_segment_to_running_time(&out_segment, GST_FORMAT_TIME, out_segment.stop)
          : GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID(stop_rt) && f.t >= stop_rt) {
    GST_INFO_OBJECT(self, "frame at %" GST_TIME_FORMAT " of running time: the segment's stop",
                    GST_TIME_ARGS(f.t));
    return GST_FLOW_EOS;
  }
  if (!GST_CLOCK_TIME_IS_VALID(f.pos)) {
    /* Before the segment (not met: a seek's base is the running time of the
     * position, the next frame's): skipped. */
    GST_DEBUG_OBJECT(self,
                     "frame at %" GST_TIME_FORMAT " of running time is before %" GST_SEGMENT_FORMAT,
                     GST_TIME_ARGS(f.t), &out_segment);
    state->frame_index++;
    state->next_t = grid(state->frame_index);
    return GST_FLOW_OK;
  }

  /* Take what the inputs delivered up to t: the beats first. While they do
   * not reach the frame's end, the video inputs' frames stay queued, so that
   * the aggregator calls again as soon as the beat data comes (it calls once
   * every pad has a buffer): with those frames taken, the frame would wait
   * for the inputs' next frames as well, a frame period later, or for ever
   * where an input sends its next frame only after this one is out. */
  if (f.beat && take_beats(self, f) && !timeout)
    return GST_AGGREGATOR_FLOW_NEED_DATA;
  bool need = false;
  for (GstMontageSelectPad *p : f.pads)
    if (!p->input->is_beat && !p->input->released)
      need = take_video(self, f, p) || need;
  if (need && !timeout)
    return GST_AGGREGATOR_FLOW_NEED_DATA;

  /* Inputs that did not deliver in time are out of the choice. */
  for (GstMontageSelectPad *p : f.pads) {
    Input *in = p->input;
    if (in->is_beat)
      continue;
    if (in->item_changed) {
      state->engine->update_item(in->slot, in->item);
      in->item_changed = false;
    }
    /* Its latest frame ended more than the grace before the frame's
     * middle, and nothing came within the latency. */
    if (timeout && in->seen_data &&
        !(GST_CLOCK_TIME_IS_VALID(in->cur_end) && in->cur_end + f.grace >= f.m) && !in->lost) {
      GST_INFO_OBJECT(self,
                      "%s delivered nothing for %" GST_TIME_FORMAT
                      " within the latency and the grace of %u frames",
                      GST_PAD_NAME(p), GST_TIME_ARGS(f.t), f.settings.grace_frames);
      in->lost = true;
    }
  }

  /* Beats of this frame: (t - d, t] (later ones when live beats come late). */
  bool on_beat = false;
  Beat beat;
  if (f.beat) {
    while (!state->beats.empty() && state->beats.front().time <= f.t) {
      beat = state->beats.front();
      state->beats.pop_front();
      on_beat = true;
      state->beats_since_switch++;
    }
  } else if (f.settings.bpm > 0.0) {
    if (!GST_CLOCK_TIME_IS_VALID(state->bpm_origin))
      state->bpm_origin = f.t;
    /* Beat k at origin + k * 60 / bpm s, rounded per beat (never accumulated). */
    const double period = 60.0 * GST_SECOND / f.settings.bpm;
    const GstClockTime since = f.t - state->bpm_origin;
    guint64 k = (guint64)std::floor((double)since / period);
    while ((GstClockTime)std::llround((double)(k + 1) * period) <= since)
      k++;
    while (k > 0 && (GstClockTime)std::llround((double)k * period) > since)
      k--;
    const GstClockTime b = state->bpm_origin + (GstClockTime)std::llround((double)k * period);
    if (k > 0 && b + f.d > f.t) {
      on_beat = true;
      beat.time = b;
      beat.strength = 0.0;
      beat.energy = 0.5;
      state->beats_since_switch++;
    }
  }

  /* Decide the input on air. */
  GstMontageSelectPad *previous = state->on_air;
  GstMontageSelectPad *next = nullptr;
  const char *reason = nullptr;
  montage::Selection sel;
  const bool on_air_ok = previous && available_at(previous->input, GST_AGGREGATOR_PAD(previous), f);
  if (!on_air_ok) {
    if (previous)
      GST_INFO_OBJECT(
          self,
          "%s cannot show %" GST_TIME_FORMAT ": current %p [%" GST_TIME_FORMAT ", %" GST_TIME_FORMAT
          "), lost %d, caps %d, eos %d, released %d",
          GST_PAD_NAME(previous), GST_TIME_ARGS(f.t), (void *)previous->input->current,
          GST_TIME_ARGS(previous->input->cur_start), GST_TIME_ARGS(previous->input->cur_end),
          previous->input->lost, previous->input->cur_caps_ok,
          gst_aggregator_pad_is_eos(GST_AGGREGATOR_PAD(previous)), (int)previous->input->released);
    reason = previous ? "input-lost" : "start";
    next = choose(self, f, on_beat ? &beat : nullptr, true, sel);
    if (!next)
      next = choose(self, f, on_beat ? &beat : nullptr, false, sel);
  } else if (on_beat) {
    const montage::StylePacing &pace = state->style.pacing;
    guint wanted = f.settings.beats_per_cut;
    if (wanted == 0) {
      const double energy = beat.energy;
      wanted = energy < pace.low_energy     ? pace.beats_per_cut_low
               : energy >= pace.high_energy ? pace.beats_per_cut_high
                                            : pace.beats_per_cut_medium;
      wanted = std::max(wanted, 1u);
    }
    /* The shot on screen began at the switch to the input on air, or at a
     * cut in that input since (a cut the viewer saw too). A cut on air
     * holds the switch for one beat at most: an input that cuts just
     * before every beat (a music video cut to the same song) would
     * otherwise hold every one, and the mix would never switch (a code
     * review's finding). */
    auto long_enough = [&](GstClockTime since) {
      return !GST_CLOCK_TIME_IS_VALID(since) || (f.t >= since && f.t - since >= pace.min_gap);
    };
    const GstClockTime air_cut = previous->input->cut;
    const bool cut_on_air =
        GST_CLOCK_TIME_IS_VALID(air_cut) &&
        (!GST_CLOCK_TIME_IS_VALID(state->on_air_since) || air_cut > state->on_air_since);
    bool due = state->beats_since_switch >= wanted && long_enough(state->on_air_since) &&
               (!cut_on_air || long_enough(air_cut) || state->beats_since_switch > wanted);
    if (due && wanted >= 2 && beat.meter_known && !beat.downbeat &&
        state->beats_since_switch < 2 * wanted)
      due = false;
    /* beat-switch-until: no beat switch whose first frame starts after it
     * (the beats still count towards the pacing). */
    const GstClockTime until = f.settings.beat_switch_until;
    if (due && GST_CLOCK_TIME_IS_VALID(until) && f.t > until) {
      GST_LOG_OBJECT(
          self, "no beat switch at %" GST_TIME_FORMAT ": after beat-switch-until %" GST_TIME_FORMAT,
          GST_TIME_ARGS(f.t), GST_TIME_ARGS(until));
      due = false;
    }
    if (due) {
      next = choose(self, f, &beat, true, sel);
      if (next == previous)
        next = nullptr;
      reason = "beat";
    }
  }

  /* A manual take (active-pad) overrides the automatic choice: on a beat,
   * at once when no input is on air or there are no beats at all, or once
   * it has waited kTakeWait for a beat. It waits while the input cannot
   * show the frame (or would end within the style's min-gap), and is dropped
   * when the input ends or is released. */
  GST_OBJECT_LOCK(self);
  GstMontageSelectPad *take =
      state->take ? GST_MONTAGE_SELECT_PAD(gst_object_ref(state->take)) : nullptr;
  const guint take_serial = state->take_serial;
  GST_OBJECT_UNLOCK(self);
  bool take_done = false;
  if (take) {
    if (take_serial != state->take_serial_seen || !GST_CLOCK_TIME_IS_VALID(state->take_since)) {
      state->take_serial_seen = take_serial;
      state->take_since = f.t;
    }
    const bool no_beats = !f.beat && f.settings.bpm <= 0.0;
    const bool due = on_beat || no_beats || !previous || f.t >= state->take_since + kTakeWait;
    if (take->input->released || gst_aggregator_pad_is_eos(GST_AGGREGATOR_PAD(take))) {
      GST_INFO_OBJECT(self, "manual take of %s dropped: the input ended", GST_PAD_NAME(take));
      take_done = true;
    } else if (take == previous && on_air_ok) {
      take_done = true; /* on air already: nothing to take */
      next = nullptr;
    } else if (due) {
      montage::Selection taken;
      if (GstMontageSelectPad *p = choose(self, f, on_beat ? &beat : nullptr, false, taken, take)) {
        next = p;
        sel = taken;
        reason = "take";
        take_done = true;
      }
    }
  }
  if (take_done) {
    GST_OBJECT_LOCK(self);
    if (state->take_serial == take_serial)
      gst_clear_object(&state->take);
    GST_OBJECT_UNLOCK(self);
  }
  if (take)
    gst_object_unref(take);

  /* What goes downstream and on the bus once stream_lock is released. */
  GstMessage *switch_msg = nullptr;
  bool key_unit = false;
  GstClockTime key_unit_stream_time = GST_CLOCK_TIME_NONE;
  guint key_unit_count = 0;
  if (next && next != previous) {
    state->switches++;
    state->engine->commit(sel);
    if (state->pushed) {
      key_unit_stream_time = gst_segment_to_stream_time(&out_segment, GST_FORMAT_TIME, f.pos);
      key_unit = true;
      key_unit_count = state->switches;
    }
    GST_INFO_OBJECT(self, "switch %u (%s) at %" GST_TIME_FORMAT ": %s -> %s, score %.3f",
                    state->switches, reason, GST_TIME_ARGS(f.t),
                    previous ? GST_PAD_NAME(previous) : "none", GST_PAD_NAME(next),
                    sel.score.total);
    switch_msg =
        switch_message(self, f.t,
                       on_beat && (g_strcmp0(reason, "beat") == 0 || g_strcmp0(reason, "take") == 0)
                           ? beat.time
                           : GST_CLOCK_TIME_NONE,
                       reason, previous, next, sel);
    GST_OBJECT_LOCK(self);
    state->on_air = GST_MONTAGE_SELECT_PAD(gst_object_ref(next));
    GST_OBJECT_UNLOCK(self);
    if (previous)
      gst_object_unref(previous);
    state->on_air_since = f.t;
    state->beats_since_switch = 0;
    next->input->cur_key_unit = false; /* the switch's own requests go out */
  } else if (!on_air_ok && previous) {
    /* Nothing else to show: the lost input stays nominally on air. */
  }

  /* The frame. */
  GstMontageSelectPad *air = state->on_air;
  Input *in = air ? air->input : nullptr;
  GstBuffer *out = nullptr;
  bool gap = false;
  if (in && available_at(in, GST_AGGREGATOR_PAD(air), f)) {
    if (!in->cur_sent && in->cur_key_unit) {
      /* The on-air input's request for this frame: on the output's frame. */
      in->cur_key_unit = false;
      if (!key_unit) {
        key_unit = true;
        key_unit_stream_time = gst_segment_to_stream_time(&out_segment, GST_FORMAT_TIME, f.pos);
        key_unit_count = in->key_unit_count;
      }
    }
    if (!in->cur_sent) {
      /* Kept (a ref) while a later frame may show it again within the
       * grace: not when it ends with this frame anyway, or when the
       * input's next frame is queued already and shows the next frame. */
      if (in->cur_end + f.grace <= f.t + f.d || next_frame_queued(GST_AGGREGATOR_PAD(air), f)) {
        out = in->current; /* not needed again: given away */
        in->current = nullptr;
      } else {
        out = gst_buffer_ref(in->current);
      }
    } else {
      out = repeat_of(in->current);
    }
    in->cur_sent = true;
    /* Every output buffer is one grid frame: its position and its duration. */
    if (GST_BUFFER_PTS(out) != f.pos || GST_BUFFER_DURATION(out) != f.d) {
      out = gst_buffer_make_writable(out);
      GST_BUFFER_PTS(out) = f.pos;
      GST_BUFFER_DTS(out) = GST_CLOCK_TIME_NONE;
      GST_BUFFER_DURATION(out) = f.d;
    }
    if (in->aired_serial != in->shot_serial) {
      in->aired_serial = in->shot_serial;
      in->aired = 0;
    }
    in->aired += f.d;
    state->pushed = true;
  } else {
    /* No input can show the frame: a GAP event, from the first frame
     * decided on (its caps are out: negotiated before the grid has a frame
     * duration). Before, it went out only once a buffer had: live, when the
     * first frames could not be shown (inputs' frames later than the
     * latency, as from a camera whose caps give no frame rate through
     * montagescene), nothing at all went downstream, the sink never
     * prerolled and the pipeline never reached PLAYING, its latency never
     * configured (trial h115's finding 1). */
    gap = true;
  }
  /* Frames in a GAP: this one, and, where every video input's data queued
   * starts later (the frames between can show nothing: no input can show
   * this one, and the later ones are further from their latest frames), those
   * up to the first whose middle that data reaches, before the segment's
   * stop: one GAP event covers them. Before, each went out on its own, at
   * once: live, a burst of late GAP events when a camera came back after
   * every input had been released (trial h115's finding 2). Not when an
   * input has no data queued (it may yet deliver) or a GAP queued. */
  guint64 gap_frames = 1;
  if (gap) {
    GstClockTime earliest = GST_CLOCK_TIME_NONE;
    bool known = true;
    for (GstMontageSelectPad *p : f.pads) {
      if (p->input->is_beat || p->input->released)
        continue;
      GstAggregatorPad *pad = GST_AGGREGATOR_PAD(p);
      GstBuffer *buf = gst_aggregator_pad_peek_buffer(pad);
      if (!buf) {
        known = known && gst_aggregator_pad_is_eos(pad);
        continue;
      }
      const bool gap_buffer =
          GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP) && gst_buffer_get_size(buf) == 0;
      const GstClockTime start = running_time(pad, GST_BUFFER_PTS(buf));
      gst_buffer_unref(buf);
      if (gap_buffer || !GST_CLOCK_TIME_IS_VALID(start)) {
        known = false;
        continue;
      }
      if (!GST_CLOCK_TIME_IS_VALID(earliest) || start < earliest)
        earliest = start;
    }
    if (known && GST_CLOCK_TIME_IS_VALID(earliest)) {
      guint64 k = state->frame_index + 1;
      while (grid(k) + (grid(k + 1) - grid(k)) / 2 <= earliest &&
             (!GST_CLOCK_TIME_IS_VALID(stop_rt) || grid(k + 1) <= stop_rt))
        k++;
      gap_frames = k - state->frame_index;
    }
  }
  state->frame_index += gap_frames;
  state->next_t = grid(state->frame_index);
  const GstClockTime next_pos =
      gst_segment_position_from_running_time(&out_segment, GST_FORMAT_TIME, state->next_t);
  /* What goes out covers [f.pos, out_end): one frame, or the frames in a GAP. */
  const GstClockTime out_d = GST_CLOCK_TIME_IS_VALID(next_pos) && next_pos > f.pos
                                 ? next_pos - f.pos
                                 : state->next_t - f.t;
  const bool segment_out = state->segment_out || state->pushed;
  if (out || gap)
    state->segment_out = true;
  stream_lock.unlock();

  if (key_unit) {
    /* Timed and for "the next frame" (gst/montage/keyunit.h). */
    if (!montage::push_key_unit_request(agg->srcpad, f.pos, key_unit_stream_time, f.t,
                                        key_unit_count))
      GST_DEBUG_OBJECT(self, "nobody downstream handled the force-key-unit event");
  }
  if (switch_msg) {
    gst_element_post_message(GST_ELEMENT(self), switch_msg);
    /* As input-selector does when its active pad changes. */
    g_object_notify_by_pspec(G_OBJECT(self), active_pad_pspec);
  }
  /* emit-signals: samples-selected before each output frame (a buffer or
   * a GAP event), as compositor does, with peek_next_sample() giving the
   * frame of the input on air; the sample is dropped before the push, so
   * the frame's only references go downstream. Before, the signal never
   * came (trial h115's finding 4). */
  if (out || gap) {
    GST_OBJECT_LOCK(self);
    if (out && state->out_caps) {
      state->selected = gst_sample_new(out, state->out_caps, &out_segment, nullptr);
      state->selected_pad = air;
    }
    GST_OBJECT_UNLOCK(self);
    gst_aggregator_selected_samples(agg, f.pos, GST_CLOCK_TIME_NONE, out_d, nullptr);
    GST_OBJECT_LOCK(self);
    GstSample *selected = state->selected;
    state->selected = nullptr;
    state->selected_pad = nullptr;
    GST_OBJECT_UNLOCK(self);
    if (selected)
      gst_sample_unref(selected);
  }
  GstFlowReturn ret = GST_FLOW_OK;
  if (out) {
    ret = gst_aggregator_finish_buffer(agg, out);
  } else if (gap) {
    GST_LOG_OBJECT(self, "no input for %" GST_TIME_FORMAT " (%" G_GUINT64_FORMAT " frames): gap",
                   GST_TIME_ARGS(f.t), gap_frames);
    if (!segment_out) {
      /* GstAggregator sends the segment before the first buffer only
       * (stream-start and caps went out at negotiation): a GAP event before
       * any buffer needs it first. GstAggregator sends its own (the same
       * segment) before the first buffer. */
      gst_pad_push_event(agg->srcpad, gst_event_new_segment(&out_segment));
    }
    gst_pad_push_event(agg->srcpad, gst_event_new_gap(f.pos, out_d));
  }
  /* A position, as gst_aggregator_simple_get_next_time() reads it (live:
   * the clock wait for the next frame; NONE past the segment's stop: left
   * as it is). */
  GST_OBJECT_LOCK(self);
  if (GST_CLOCK_TIME_IS_VALID(next_pos))
    GST_AGGREGATOR_PAD(agg->srcpad)->segment.position = next_pos;
  GST_OBJECT_UNLOCK(self);
  return ret;
}

/* The frame an input gives the output frame being pushed, while
 * samples-selected is emitted: the input on air's (a GstSample with the
 * output caps and segment); NULL for the other inputs, and outside the
 * signal. */
static GstSample *gst_montage_select_peek_next_sample(GstAggregator *agg, GstAggregatorPad *pad)
{
  GstMontageSelect *self = GST_MONTAGE_SELECT(agg);
  GST_OBJECT_LOCK(self);
  GstSample *sample =
      self->state->selected && self->state->selected_pad == GST_MONTAGE_SELECT_PAD(pad)
          ? gst_sample_ref(self->state->selected)
          : nullptr;
  GST_OBJECT_UNLOCK(self);
  return sample;
}

/* ---- GObject ---- */

static void gst_montage_select_finalize(GObject *object)
{
  GstMontageSelect *self = GST_MONTAGE_SELECT(object);
  if (self->state->on_air)
    gst_object_unref(self->state->on_air);
  gst_clear_object(&self->state->take);
  gst_clear_caps(&self->state->out_caps);
  gst_clear_caps(&self->state->format_caps);
  delete self->state;
  self->state = nullptr;
  G_OBJECT_CLASS(gst_montage_select_parent_class)->finalize(object);
}

static void gst_montage_select_class_init(GstMontageSelectClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstAggregatorClass *agg_class = GST_AGGREGATOR_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_montage_select_debug, "montageselect", 0,
                          "gst-montage beat-synced live selector");
  montage::shot_meta_get_info();
  montage::shot_features_meta_get_info();
  montage_beat_meta_get_info();

  gobject_class->set_property = gst_montage_select_set_property;
  gobject_class->get_property = gst_montage_select_get_property;
  gobject_class->finalize = gst_montage_select_finalize;

  const GParamFlags rw = (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const GParamFlags rw_playing = (GParamFlags)(rw | GST_PARAM_MUTABLE_PLAYING);
  const GParamFlags rw_ready = (GParamFlags)(rw | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_BPM,
      g_param_spec_double("bpm", "Tempo",
                          "Tempo in beats per minute of a regular beat grid from the first output "
                          "frame, used when no beat pad is requested; 0: no beats (switches only "
                          "when an input is lost)",
                          0.0, 600.0, kDefaultBpm, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_BEATS_PER_CUT,
      g_param_spec_uint("beats-per-cut", "Beats per cut",
                        "Beats between switches (a count of beats); 0: from the style's pacing "
                        "and each beat's energy (montagebeat's, against the song so far)",
                        0, 64, kDefaultBeatsPerCut, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_MIN_SHOT_LENGTH,
      g_param_spec_uint64("min-shot-length", "Minimum shot length",
                          "Minimum shot length in nanoseconds: an input is not switched to until "
                          "this long after its own cut (montagescene's shot boundary; an input's "
                          "first frame is no cut)",
                          0, G_MAXUINT64, kDefaultMinShotLength, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_STYLE,
      g_param_spec_string("style", "Style",
                          "Editing style: balanced, energetic, calm, or a path to a .style file "
                          "(docs/planner.md); sets the pacing, the target and the score weights",
                          kDefaultStyle, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_SEED,
      g_param_spec_uint64("seed", "Seed",
                          "Seed of the engine's jitter term: same inputs and seed, same choices",
                          0, G_MAXUINT64, kDefaultSeed, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_GRACE_FRAMES,
      g_param_spec_uint("grace-frames", "Grace for late frames",
                        "Output frames an input's frame may be late or missing (its latest "
                        "frame shown again) before the input is taken out of the choice; "
                        "0: out as soon as a frame is missing when the latency has passed",
                        0, 250, kDefaultGraceFrames, rw_playing));
  active_pad_pspec =
      g_param_spec_object("active-pad", "Active pad",
                          "The video input on air (NULL before the first and once its pad is "
                          "released; notified from the "
                          "streaming thread at each switch, after its montage-switch message); "
                          "setting it is a manual take: that input goes on air at the next beat, "
                          "or at once when no input is on air or there are no beats (no beat pad, "
                          "bpm 0), or after 2 s of running time without a beat",
                          GST_TYPE_PAD, rw_playing);
  g_object_class_install_property(gobject_class, PROP_ACTIVE_PAD, active_pad_pspec);
  g_object_class_install_property(
      gobject_class, PROP_BEAT_SWITCH_UNTIL,
      g_param_spec_uint64(
          "beat-switch-until", "Beat switches until",
          "Running time in nanoseconds after which no beat switch is made (none on an output "
          "frame starting later; one at it is); set it to where the mix ends less the style's "
          "min-gap, so that the last shot is not shorter. Switches when the input on air is lost "
          "(input-lost) and manual takes (active-pad) still come after it. 18446744073709551615 "
          "(GST_CLOCK_TIME_NONE, the default): no limit",
          0, G_MAXUINT64, kDefaultBeatSwitchUntil, rw_playing));

  gst_element_class_add_static_pad_template_with_gtype(element_class, &src_template,
                                                       GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &sink_template,
                                                       GST_TYPE_MONTAGE_SELECT_PAD);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &beat_template,
                                                       GST_TYPE_MONTAGE_SELECT_PAD);
  gst_element_class_set_static_metadata(
      element_class, "Montage live selector", "Generic/Video",
      "Switches between live video inputs on the music's beats, choosing the input whose "
      "current shot best fits the moment; forwards the chosen input's buffers untouched",
      "gst-montage developers");

  element_class->release_pad = GST_DEBUG_FUNCPTR(gst_montage_select_release_pad);
  agg_class->create_new_pad = GST_DEBUG_FUNCPTR(gst_montage_select_create_new_pad);
  agg_class->sink_query = GST_DEBUG_FUNCPTR(gst_montage_select_sink_query);
  agg_class->sink_event = GST_DEBUG_FUNCPTR(gst_montage_select_sink_event);
  agg_class->sink_event_pre_queue = GST_DEBUG_FUNCPTR(gst_montage_select_sink_event_pre_queue);
  agg_class->update_src_caps = GST_DEBUG_FUNCPTR(gst_montage_select_update_src_caps);
  agg_class->fixate_src_caps = GST_DEBUG_FUNCPTR(gst_montage_select_fixate_src_caps);
  agg_class->negotiated_src_caps = GST_DEBUG_FUNCPTR(gst_montage_select_negotiated_src_caps);
  agg_class->propose_allocation = GST_DEBUG_FUNCPTR(gst_montage_select_propose_allocation);
  agg_class->start = GST_DEBUG_FUNCPTR(gst_montage_select_start);
  agg_class->src_event = GST_DEBUG_FUNCPTR(gst_montage_select_src_event);
  agg_class->stop = GST_DEBUG_FUNCPTR(gst_montage_select_stop);
  agg_class->flush = GST_DEBUG_FUNCPTR(gst_montage_select_flush);
  agg_class->aggregate = GST_DEBUG_FUNCPTR(gst_montage_select_aggregate);
  agg_class->get_next_time = gst_aggregator_simple_get_next_time;
  agg_class->peek_next_sample = GST_DEBUG_FUNCPTR(gst_montage_select_peek_next_sample);

  gst_type_mark_as_plugin_api(GST_TYPE_MONTAGE_SELECT_PAD, (GstPluginAPIFlags)0);
}

static void gst_montage_select_init(GstMontageSelect *self)
{
  self->state = new SelectState();
  gst_aggregator_set_ignore_inactive_pads(GST_AGGREGATOR(self), TRUE);
}
