/**
 * SECTION:element-montagebeat
 * @title: montagebeat
 *
 * Finds the beats, tempo, meter and energy of the audio going through it and
 * posts them as element messages; every beat also travels in-band as a
 * MontageBeatMeta on the audio buffer that contains it
 * (<gst/montage/beatmeta.h>). The audio itself is not modified. The tracking
 * is montage::BeatTracker (gst-libs/gst/montage/beattracker.h): a causal
 * tracker while the audio plays, and in `mode=offline` a whole-song pass
 * at EOS (tempo path with octave selection, then Ellis 2007
 * dynamic programming, a beat-level check against dotted rhythms and a
 * swing rule). The default, `mode=auto`, is offline for files and live
 * where upstream is live (its latency query says so: a capture device, a
 * network stream) or may never end (no duration and no seeking: an internet
 * radio over HTTP, stream_may_be_endless()), so an endless stream keeps
 * bounded memory (below).
 * Other raw audio (S24LE, big-endian, planar) is refused at negotiation
 * with a sentence that names the formats taken and audioconvert: the error
 * itself where a CAPS event is refused, a warning where a query only probes
 * (explain_refused_caps()).
 * Channels are averaged to mono; any rate from 8 to
 * 192 kHz is resampled internally to 22.05 kHz, so results do not depend on
 * the input rate.
 *
 * ## Latency
 *
 * A beat is known #GstMontageBeat:live-delay of audio after it; to put the
 * meta on the buffer that contains the beat, each buffer is held until that
 * much audio has followed its last sample. A beat known later than that
 * (see `montage-beat` below) has its meta on the next buffer to go out.
 * A buffer leaves when the buffer that brings the last of that audio comes
 * in, so it can wait up to one more upstream buffer. The latency query adds
 * to upstream's: live-delay, plus 23 ms (two analysis hops), plus the
 * longest input buffer since the element started (0 before the first). The
 * live-delay is the one in effect, which a new value of the property
 * replaces at the next reset or start (see "Resets"). A LATENCY message is
 * posted when either grows or changes: at the first buffer, at a longer
 * buffer, and when a new live-delay takes effect. At EOS and at
 * SEGMENT_DONE (the end of a segment seek) the held buffers are pushed
 * before the event; a flush drops them.
 *
 * ## Messages
 *
 * `montage-beat`, one per causal beat, posted once live-delay of audio
 * follows it (sooner when the swing rule moved the beat later; later for
 * the first beat, which waits for the first tempo estimate, about 2 s, and
 * for a beat the causal path takes up when it changes its mind about the
 * past: a meta that finds its buffer gone rides on the next buffer out):
 *
 * - `timestamp` (guint64, ns): the beat in buffer time: the PTS of the first
 *   buffer since the last reset plus the sample position (resynchronised to
 *   the PTS of every DISCONT buffer).
 * - `stream-time` (guint64, ns), `running-time` (guint64, ns): `timestamp`
 *   through the current segment; GST_CLOCK_TIME_NONE when outside it or when
 *   the segment is not in time (raw PCM from filesrc: BYTES).
 * - `bpm` (gdouble): tempo of the last 16 beats in stream time, the song's
 *   own whatever the playback rate (the tempo in buffer time divided by the
 *   segment's |applied_rate|; the BPM tag, the meta's bpm and montage-beats'
 *   bpm are the same); 0 (unknown) for the first
 *   three beats and while it is more than 8 % outside min-bpm..max-bpm (the
 *   path's first steps while the tempo settles), so no BPM tag is sent for
 *   those.
 * - `running-bpm` (gdouble): the same tempo in running time, as heard at the
 *   playback rate: bpm times |rate * applied_rate|.
 * - `confidence` (gdouble, 0..1): how clearly the tempo stands out times how
 *   strongly an onset marks this beat.
 * - `strength` (gdouble): onset strength at the beat, in standard
 *   deviations of the onset envelope since its first sound (on one scale
 *   from the first beat: montage::Beat::strength): how much the beat stands
 *   out, not how loud the music is.
 * - `energy` (gdouble, 0..1): how loud the music is at the beat against the
 *   song so far (montage::LiveEnergyLevel: the last 2 s of the tracker's
 *   energy intervals in the 10-90 % range of the song so far; 0.5 for the
 *   first 4 s of music; silence of 2 s or more, at or under
 *   LiveEnergyLevel::kSilentEnergy, is left out of that range and is 0),
 *   on the meta too; montageselect paces its switches by it.
 * - `downbeat` (gboolean), `bar-position` (guint, 1..beats per bar): from the
 *   meter of the beats so far; FALSE and 0 for the first 7 beats.
 *
 * `montage-energy`, every #GstMontageBeat:interval of audio (like `level`;
 * a new value applies at the next buffer: the interval in progress ends
 * once it has the new length, at once where it already has, and the next
 * ones have it):
 *
 * - `timestamp`, `stream-time`, `running-time`, `duration` (guint64, ns): the
 *   interval (start and length): interval k starts k * interval after the
 *   first sample (or after the end of the last interval before a change of
 *   the interval), to the nearest sample, so the intervals do not drift at
 *   rates where an interval is not a whole number of samples.
 * - `rms` (gdouble, dBFS): RMS level of the channels' average; -200 for
 *   digital silence and anything quieter (its floor).
 * - `energy` (gdouble, 0..1): `rms` mapped linearly from
 *   #GstMontageBeat:silence-threshold (0) to 0 dBFS (1).
 *
 * `montage-beats`, once at EOS, before the EOS event goes downstream (also
 * when no beat was found), and at the end of each segment of a segment seek
 * (GST_SEEK_FLAG_SEGMENT, looping playback), before SEGMENT_DONE goes
 * downstream: such a segment ends without EOS and the next one resets, so
 * each loop gets its own summary; an EOS or a second SEGMENT_DONE after
 * SEGMENT_DONE with no audio since posts none (the whole-song pass is not
 * run again; the BPM tag is not sent again). A reset without a flush (a new
 * SEGMENT event: a non-flushing seek; the stream's time going back; a new
 * sample rate) first posts the summary of the audio analysed since the last
 * reset (all of it, as EOS would: after a SEGMENT_DONE and more audio, the
 * audio before the SEGMENT_DONE too), before the event or the audio after
 * the restart goes on; none where no audio came since the last summary,
 * and an EOS with no audio after such a reset posts none either (it would
 * be an empty summary standing for that audio's); a flush drops the
 * analysis with no summary:
 *
 * - `beats` (GstValueArray of guint64, ns, ascending): every beat since the
 *   last reset, in the same time domain as `timestamp`; in offline mode the
 *   whole-song result, in live mode the causal beats.
 * - `mode` (string): `offline` or `live`, the mode in effect (auto resolved).
 * - `bpm` (gdouble): dominant tempo of that list (montage::bpm_from_beats():
 *   sections at another tempo are left out; 0 with fewer than two beats).
 * - `confidence` (gdouble, 0..1): median of the beats' confidences; 0 without
 *   beats. Low values mean a weak or unclear pulse, not a guessed grid.
 * - `beat-confidence` (GstValueArray of gdouble, 0..1): one per beat.
 * - `energy` (GstValueArray of gdouble, 0..1): one per beat: RMS level of the
 *   interval from that beat to the next, divided by the loudest interval's
 *   (the last beat's runs to the end of the stream, over at least the
 *   length of the interval before it).
 * - `downbeats` (GstValueArray of gboolean): one per beat, TRUE on the first
 *   beat of a bar; all FALSE when `beats-per-bar` is 0.
 * - `beats-per-bar` (guint): detected meter, 3 or 4; 0 with fewer than 8 beats.
 * - `energy-curve` (GstValueArray of gdouble, 0..1): the `energy` of every
 *   `energy-interval` from the first sample: the `montage-energy` messages'
 *   values, then the last, partial interval's.
 * - `energy-interval` (guint64, ns): spacing of `energy-curve`.
 * - `sections` (GstValueArray of GstStructure `section`): back to back, with
 *   `start`, `end` (guint64, ns, same time domain as `beats`) and `level`
 *   (string "low", "medium" or "high": energy relative to the song's own
 *   range, smoothed over 3 s, no section shorter than 4 s).
 * - `duration` (guint64, ns): length of the stream since the last reset:
 *   the audio seen and the gaps analysed as silence (see "Resets").
 *
 * In `mode=live` every message is posted as soon as it is made. In
 * `mode=offline`, a message made less than 50 ms (wall clock) after the
 * last one was posted waits, and whatever waits goes out together 50 ms
 * after that post (from the system clock's thread), or sooner before
 * `montage-beats`, on a flush or new segment, and when the element stops.
 * No message is lost or reordered, none is more than 50 ms late, and
 * played at real time the messages are that far apart anyway. No lock is
 * held while posting: a bus sync handler may seek or stop the pipeline
 * from inside the post, also from the clock's thread (one thread posts at
 * a time; the streaming thread waits up to 50 ms for the other before
 * montage-beats, a flush, a segment or a stop). The reason:
 * a file analysed faster than real time (`sync=false`) would otherwise wake
 * the application's bus reader once per message, about 1,700 times for a
 * 150 s song, and on a 2-core VM those wake-ups cost more CPU than the beat
 * tracking (`level` pays the same for its messages).
 *
 * A `GST_TAG_BEATS_PER_MINUTE` tag event goes downstream whenever the tempo
 * moves by 1 BPM or more from the last one sent (as `bpmdetect` does), and
 * always at EOS (and SEGMENT_DONE) in offline mode with the whole-song tempo, behind the audio.
 * It carries upstream's last stream tags too, and upstream's later stream
 * tags go on with the tempo added: a stream-scoped tag event replaces the
 * one before it downstream, so the tags there hold both.
 *
 * Stretches quieter than #GstMontageBeat:silence-threshold give no beats.
 *
 * ## Tempo range
 *
 * #GstMontageBeat:min-bpm and #GstMontageBeat:max-bpm (default 40 and 240,
 * the whole range searched) bound the tempo the tracker may choose, offline
 * and live. The tracker picks the tempo octave itself and can be wrong where
 * the music is ambiguous (on the benchmark: songs notated at 180 and 200 read
 * as 90 and 100, at 90 and 70 read as 180 and 140). An application that knows
 * the tempo sets a range of less than an octave around it. This fixes a song
 * read at half its tempo: chuggachugga (180) gives F 0.98 with 130-240
 * against 0.66. Read at twice its tempo, a range gives the right tempo, but
 * where the off-beat eighths carry as much onset as the beats it can put the
 * beats on the off-beat: train_filled_with_cash (90) and hard-104 (70) do
 * (docs/montagebeat.md).
 *
 * Like `bpm`, the range is the song's own tempo, in stream time: where the
 * segment's applied_rate is not 1 (scaletempo upstream: the buffers hold the
 * song |applied_rate| times as fast) the tracker searches the range times
 * |applied_rate| in the buffers, clipped to the 40-240 BPM it can track; a
 * range it cannot reach at all there (100-240 at applied_rate 4) posts a
 * warning (once per start) and the whole range is searched.
 *
 * A range that excludes the music's own tempo is warned about, offline:
 * where the whole range's tempo path lies outside the range (so the path
 * is sought within it) and the beats found within the range agree with
 * the whole range's beats under montage::TempoRangeCheck::kAgreement (a
 * 5:4, 4:3 or 3:2 reading, or half time on the off-beats; an octave on the
 * beats agrees), a LIBRARY/SETTINGS warning goes out before `montage-beats`
 * naming the music's tempo and what to set; its details carry `music-bpm`,
 * `bpm` (the range's), `min-bpm`, `max-bpm` (all stream time) and
 * `agreement` (0..1). The summary keeps the range's beats: the application
 * chose the range. stg0.ogg (150 BPM) at 100-140 reads 120 and is warned
 * about. Live, the range is not checked.
 *
 * ## Memory
 *
 * `mode=offline` keeps the onset envelope of the whole stream for the
 * whole-song pass: about 46 MB per hour of audio. `mode=live` keeps the last
 * 16-32 s of it plus 56 bytes per beat and 8 bytes per `interval` for
 * `montage-beats` (about 0.6 MB per hour at 120 BPM): use it for streams
 * that run for hours.
 *
 * ## Resets
 *
 * All state (beats, clock, held buffers) restarts on a FLUSH_STOP event, on
 * every SEGMENT event and on a change of sample rate; a SEGMENT event and a
 * new rate first post montage-beats for the audio analysed since the last
 * summary (see above), a flush drops it. The analysis
 * properties (mode, silence-threshold, live-delay, min-bpm, max-bpm) may be
 * set in any state (GST_PARAM_MUTABLE_PLAYING): the tracker is made with
 * them when the element goes from READY to PAUSED, and a value set while
 * PAUSED or PLAYING is kept for the next reset (a segment, a flush), never
 * applied in the middle of the tracking. #GstMontageBeat:interval (also
 * GST_PARAM_MUTABLE_PLAYING) applies at once to the montage-energy
 * messages, as `level`'s does. Audio held under
 * old caps goes out before new caps. Where the stream's time moves away from
 * the samples counted (a buffer flagged DISCONT, or a PTS 40 ms or more off
 * without the flag: audio lost, a GAP event), the missing time, up to 60 s,
 * is analysed as silence, so the beat phase, the energy curve and `duration`
 * stay on the stream's time; the sample clock then restarts from the PTS,
 * and the beats so far are kept. A GAP event is analysed as silence up
 * to its end the same way, so the held audio that live-delay of it
 * follows goes out, and the GAP goes on behind what is still held (a gap
 * past 60 s restarts the sample clock at its end and lets all of it out).
 * A GAP is an estimate: a buffer whose PTS falls inside the silence the
 * last GAPs filled, with no audio since, moves the sample clock back to its
 * PTS, DISCONT or not (no restart); the silence after that PTS stays
 * analysed, its beats posted stay, and no later beat goes back before them
 * (docs/montagebeat.md, "Resets and time").
 * A STREAM_START lets the audio held of the stream before out ahead of
 * it. Where the stream's time goes back that way
 * (a source that loops or restarts its timestamps without a segment), all
 * state restarts, as on a SEGMENT event, after montage-beats for the audio
 * before. Other serialized events (GAP, tags, an
 * application's own, and the element's BPM tags) go downstream behind the
 * audio held before them, in order. A segment whose time is past 0 (after a
 * seek) starts inside the music: its first 23 ms are no onset for the
 * whole-song beats, which otherwise began on the seek position; not so a
 * segment that begins a new stream (after a STREAM_START) at its start 0,
 * such as a chained Ogg's next chain, whose stream time runs on from the
 * chains before.
 *
 * Reverse playback (a segment with a negative rate) is not analysed: its
 * buffers come last first, and music played backwards has its onsets where
 * the notes end. They pass through untouched and unheld, with no messages,
 * metas or tags, until the next segment, which resets as ever; the element
 * posts one warning (GST_STREAM_ERROR_NOT_IMPLEMENTED) per start saying so.
 * `montage-beats` at EOS then covers only what came after the last reset:
 * no beats, duration 0, after a reversed segment.
 *
 * ## Example
 * |[
 * gst-launch-1.0 -m filesrc location=song.mp3 ! decodebin ! audioconvert ! \
 *     montagebeat ! fakesink sync=false
 * ]|
 * prints every message and, at the end, `montage-beats`.
 */
#include "gstmontagebeat.h"

#include <gst/audio/audio.h>
#include <gst/montage/beatmeta.h>
#include <gst/montage/capsevent-private.h>
#include <gst/montage/heldevents.h>
#include <gst/montage/beattracker.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

GST_DEBUG_CATEGORY_STATIC(gst_montage_beat_debug);
#define GST_CAT_DEFAULT gst_montage_beat_debug

#define DEFAULT_MODE GST_MONTAGE_BEAT_MODE_AUTO
#define DEFAULT_SILENCE_THRESHOLD -60.0
#define DEFAULT_INTERVAL (100 * GST_MSECOND)
#define DEFAULT_LIVE_DELAY (350 * GST_MSECOND)
/* Two analysis hops: a beat is judged on whole hops. */
#define HOP_SLACK (23 * GST_MSECOND)

enum {
  PROP_0,
  PROP_MODE,
  PROP_SILENCE_THRESHOLD,
  PROP_INTERVAL,
  PROP_LIVE_DELAY,
  PROP_MIN_BPM,
  PROP_MAX_BPM,
};

#define MONTAGE_BEAT_CAPS                                                                          \
  "audio/x-raw, format = (string) { F32LE, F64LE, S16LE, S32LE }, rate = (int) [ 8000, 192000 ], " \
  "channels = (int) [ 1, MAX ], layout = (string) interleaved"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(MONTAGE_BEAT_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(MONTAGE_BEAT_CAPS));

GType gst_montage_beat_mode_get_type(void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_MONTAGE_BEAT_MODE_OFFLINE,
       "Causal beats while playing, and a whole-song beat pass at EOS (for files)", "offline"},
      {GST_MONTAGE_BEAT_MODE_LIVE,
       "Causal beats only, as soon as they are known (for live sources)", "live"},
      {GST_MONTAGE_BEAT_MODE_AUTO,
       "live when upstream is live (its latency query) or may never end (no duration and no "
       "seeking: an internet radio over HTTP), offline otherwise",
       "auto"},
      {0, NULL, NULL},
  };
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstMontageBeatMode", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

namespace {

/* Where a run of samples sits in buffer time: sample `sample` (counted since
 * the last reset) has timestamp `pts`. */
struct Anchor {
  guint64 sample;
  GstClockTime pts;
};

/* A buffer held until live-delay of audio follows it. */
struct Held {
  GstBuffer *buf;
  guint64 first; /* sample range [first, end) since the last reset */
  guint64 end;
  /* Serialized events that arrived after the buffer before this one: they
   * leave just before it, so the stream keeps its order. */
  montage::HeldEvents events_before;
  /* It came in flagged DISCONT: the flag goes back on when it leaves (see
   * gst_montage_beat_chain()). */
  bool discont;
};

struct State {
  /* Properties, under `lock`. */
  std::mutex lock;
  GstMontageBeatMode mode = DEFAULT_MODE;
  double silence_threshold = DEFAULT_SILENCE_THRESHOLD;
  GstClockTime interval = DEFAULT_INTERVAL;
  GstClockTime live_delay = DEFAULT_LIVE_DELAY;
  double min_bpm = montage::BeatTracker::kMinBpm;
  double max_bpm = montage::BeatTracker::kMaxBpm;
  /* The live-delay in effect (taken from the property at each reset and at
   * start): the latency query reports it. Written by the streaming thread
   * under `lock`, which reads it without. */
  GstClockTime active_delay = DEFAULT_LIVE_DELAY;
  /* The longest input buffer since start (ns): a held buffer can wait this
   * much longer than live-delay for the audio that releases it, so the
   * latency query adds it. Written by the streaming thread under `lock`. */
  GstClockTime longest_buffer = 0;

  /* Streaming thread only. */
  GstAudioInfo info;
  bool have_info = false;
  /* The mode in effect since the last reset: offline or live, never auto. */
  GstMontageBeatMode active_mode = GST_MONTAGE_BEAT_MODE_OFFLINE;
  double active_silence = DEFAULT_SILENCE_THRESHOLD;
  std::unique_ptr<montage::BeatTracker> tracker;
  std::vector<Anchor> anchors;
  guint64 samples = 0; /* samples per channel since the last reset */
  /* The stretch of buffer time [gap_from, gap_to) that the last GAPs
   * (analyse_gap()) filled with silence, or passed over with a new anchor,
   * ending at sample gap_sample; gap_sample is G_MAXUINT64 when there is
   * none, and stops matching `samples` once audio comes after it. A GAP is
   * an estimate: a buffer that starts inside the stretch moves the sample
   * clock back to its PTS (see submit_input_buffer()). */
  GstClockTime gap_from = 0;
  GstClockTime gap_to = 0;
  guint64 gap_sample = G_MAXUINT64;
  /* The part of that stretch analysed as silence, [fill_from, fill_to):
   * a GAP past kMaxGapFill is passed over, not filled. */
  GstClockTime fill_from = 0;
  GstClockTime fill_to = 0;
  /* Buffer time analysed as a GAP's silence that audio then came for, since
   * the last reset (ns): counted once, not twice, in `duration`. */
  GstClockTime refilled = 0;
  /* The buffer time of the last montage-beat posted since the last reset
   * (GST_CLOCK_TIME_NONE before the first): a beat at or before it, which
   * only a GAP's overshoot can give, is not posted. */
  GstClockTime last_beat = GST_CLOCK_TIME_NONE;
  std::vector<float> mono;
  std::deque<Held> held;
  /* Serialized events (and the element's own BPM tags) that came after the
   * last held buffer, waiting for the next buffer or a drain. */
  montage::HeldEvents pending_events;
  /* The montage-energy intervals (measure_energy()): the `interval` in
   * effect for them, which a new value of the property replaces at the next
   * buffer; the sample (since the last reset) where intervals of that length
   * began; the interval in progress, counted from there, and its sum of
   * squares so far (only once they are not the tracker's, see
   * energy_is_the_trackers()). */
  GstClockTime energy_interval = DEFAULT_INTERVAL;
  guint64 energy_origin = 0;
  guint64 energy_k = 0;
  double energy_sum = 0;
  /* The music's energy against the song so far, each beat's `energy`: fed
   * the tracker's own energy intervals (the `interval` at the last reset),
   * up to interval level_k. */
  std::unique_ptr<montage::LiveEnergyLevel> level;
  guint64 level_k = 0;
  double last_tag_bpm = 0;
  /* The last stream-scoped tags from upstream (title, codec, bitrate...),
   * since the stream started: the BPM tag goes out merged into them, since
   * a stream-scoped tag event replaces the one before it downstream. */
  GstTagList *upstream_tags = nullptr;
  bool warned_reverse = false; /* the reverse-playback warning was posted (once per start) */
  /* The refused-caps warning (a query) and error (a CAPS event) were posted
   * (each once per start; the error also after the warning). */
  bool refused_caps = false;
  bool refused_caps_event = false;
  /* The warning that min-bpm..max-bpm cannot be tracked at the segment's
   * applied rate was posted (once per start). */
  bool warned_range = false;
  /* The last min-bpm..max-bpm that was not empty at a reset since start
   * (min_bpm_kept at 0: none yet). A mid-stream reset whose range is empty
   * (min-bpm raised above max-bpm while playing, the application to move
   * max-bpm next) keeps it, with a warning, rather than stopping the
   * stream. */
  double min_bpm_kept = 0, max_bpm_kept = 0;
  /* montage-beats went out (at SEGMENT_DONE, EOS, or a SEGMENT before its
   * reset) and no audio came since: EOS, SEGMENT_DONE and SEGMENT post no
   * second one (a segment seek ended by EOS, a repeated SEGMENT_DONE, a new
   * stream after EOS). */
  bool summarised = false;
  /* The last reset without a flush came after montage-beats for the audio
   * before it, and no audio came since: EOS posts no empty summary, which
   * would stand for that audio's (an application keeping the last one
   * would lose the beats). Cleared by audio, a flush and start(). */
  bool summary_before_reset = false;
  /* A STREAM_START came since the last SEGMENT event, and the last
   * SEGMENT event came after one: that segment begins a new stream (a
   * chained Ogg's next chain), not a seek into the music (see
   * starts_inside_the_music()). */
  bool stream_started = false;
  bool segment_starts_stream = false;
  /* The buffer coming in was flagged DISCONT (gst_montage_beat_chain() took
   * the flag off); GstBaseTransform's chain function. */
  bool discont_in = false;
  GstPadChainFunction base_chain = nullptr;

  /* Offline mode's grouping of messages (see "Messages" above), under
   * `post_lock` (the system clock's thread posts too): messages not posted
   * yet, oldest first; when the last one went out (g_get_monotonic_time(),
   * us); the clock wait that posts the waiting ones; the thread posting
   * now, if any (post_waiting()), and the condition it signals when done.
   * Messages are posted with post_lock released: an application's bus
   * sync handler may seek or stop the pipeline from inside the post, which
   * needs the streaming thread, which may be waiting for post_lock. */
  std::mutex post_lock;
  std::condition_variable posted;
  std::vector<GstMessage *> pending;
  gint64 last_post = G_MININT64 / 2;
  GstClockID timer = nullptr;
  GThread *poster = nullptr;
};

/* Offline mode's grouping window (see "Messages" above), us. */
constexpr gint64 kPostWindow = 50 * G_TIME_SPAN_MILLISECOND;

} // namespace

struct _GstMontageBeat {
  GstBaseTransform parent;
  State *state;
};

#define gst_montage_beat_parent_class parent_class
G_DEFINE_TYPE(GstMontageBeat, gst_montage_beat, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(montagebeat, "montagebeat", GST_RANK_NONE, GST_TYPE_MONTAGE_BEAT);

/* Called with `guard` holding post_lock: posts the waiting messages, in
 * order, with post_lock released around each group (see State::poster).
 * One thread posts at a time: where another is posting, the messages are
 * left to it, as it takes the waiting ones again until none is left; so is
 * the thread already posting that comes back here from inside a post (a
 * sync handler's seek resets the tracking from the same thread). */
static void post_waiting(GstMontageBeat *self, std::unique_lock<std::mutex> &guard)
{
  State &st = *self->state;
  if (st.poster)
    return;
  st.poster = g_thread_self();
  while (!st.pending.empty()) {
    std::vector<GstMessage *> out;
    out.swap(st.pending);
    guard.unlock();
    for (GstMessage *m : out)
      gst_element_post_message(GST_ELEMENT(self), m);
    guard.lock();
    st.last_post = g_get_monotonic_time();
  }
  st.poster = nullptr;
  st.posted.notify_all();
}

/* The system clock's thread, kPostWindow after a post that left messages
 * waiting. */
static gboolean on_post_timer(GstClock *, GstClockTime, GstClockID id, gpointer data)
{
  GstMontageBeat *self = GST_MONTAGE_BEAT(data);
  State &st = *self->state;
  std::unique_lock<std::mutex> guard(st.post_lock);
  if (st.timer == id) {
    gst_clock_id_unref(st.timer);
    st.timer = nullptr;
    post_waiting(self, guard);
  }
  return TRUE;
}

/* Posts the waiting messages now (EOS, flush, new segment, stop). Where
 * another thread (the clock's) is posting, that thread posts them after
 * its own, and this one waits for it, up to kPostWindow, so that they are
 * on the bus before what follows (montage-beats before the EOS event goes
 * downstream); no longer, since that thread may be inside an application's
 * sync handler that waits for this one (a seek, a state change). */
static void post_pending(GstMontageBeat *self)
{
  State &st = *self->state;
  std::unique_lock<std::mutex> guard(st.post_lock);
  if (st.timer) {
    gst_clock_id_unschedule(st.timer);
    gst_clock_id_unref(st.timer);
    st.timer = nullptr;
  }
  if (st.poster && st.poster != g_thread_self()) {
    st.posted.wait_for(guard, std::chrono::microseconds(kPostWindow),
                       [&st] { return st.poster == nullptr; });
  }
  post_waiting(self, guard);
}

static void drop_held(State &st)
{
  for (Held &h : st.held)
    gst_buffer_unref(h.buf);
  st.held.clear(); /* and their events */
  st.pending_events.clear();
}

/* Whether a serialized event must wait behind held audio (or behind events
 * already waiting) rather than go downstream at once. */
static bool events_must_wait(const State &st)
{
  return !st.held.empty() || !st.pending_events.empty();
}

/* Sends a serialized event downstream in its place: behind the held
 * buffers when there are any, at once otherwise. */
static void push_event_in_order(GstMontageBeat *self, GstEvent *event)
{
  State &st = *self->state;
  if (events_must_wait(st))
    st.pending_events.add(event);
  else
    gst_pad_push_event(GST_BASE_TRANSFORM_SRC_PAD(self), event);
}

/* `mode`, with auto made live or offline: live when the latency query
 * upstream says the source is live (a capture device, a network stream),
 * offline otherwise (a file, or no answer). */
/* Whether the stream upstream of `sink` (not live) may never end: it
 * answers no duration in time and cannot seek in time. An internet radio
 * over HTTP (souphttpsrc is not live unless is-live=true; an Icecast stream
 * has no size, so no parser knows a duration, and no seeking), a
 * non-seekable appsrc. Offline mode keeps the whole song's onset envelope
 * and features for the pass at EOS, about 80 MB per hour of audio, which
 * such a stream would grow for ever. A file answers a duration, or at least
 * seeking (a parser that has not estimated its bitrate yet); so does
 * audiotestsrc, which seeks. Also true before upstream is linked (start(),
 * under decodebin): the SEGMENT's reset decides again. */
static bool stream_may_be_endless(GstPad *sink)
{
  gint64 duration = -1;
  GstQuery *q = gst_query_new_duration(GST_FORMAT_TIME);
  if (gst_pad_peer_query(sink, q))
    gst_query_parse_duration(q, nullptr, &duration);
  gst_query_unref(q);
  if (duration >= 0)
    return false;
  gboolean seekable = FALSE;
  q = gst_query_new_seeking(GST_FORMAT_TIME);
  if (gst_pad_peer_query(sink, q))
    gst_query_parse_seeking(q, nullptr, &seekable, nullptr, nullptr);
  gst_query_unref(q);
  return !seekable;
}

static GstMontageBeatMode resolve_mode(GstMontageBeat *self, GstMontageBeatMode mode)
{
  if (mode != GST_MONTAGE_BEAT_MODE_AUTO)
    return mode;
  GstPad *sink = GST_BASE_TRANSFORM_SINK_PAD(self);
  GstQuery *q = gst_query_new_latency();
  gboolean live = FALSE;
  if (gst_pad_peer_query(sink, q))
    gst_query_parse_latency(q, &live, nullptr, nullptr);
  gst_query_unref(q);
  if (live)
    return GST_MONTAGE_BEAT_MODE_LIVE;
  return stream_may_be_endless(sink) ? GST_MONTAGE_BEAT_MODE_LIVE : GST_MONTAGE_BEAT_MODE_OFFLINE;
}

/* The tracker's tempo range (buffer time) for min-bpm..max-bpm, which bound
 * the song's tempo in stream time: buffers with applied_rate a hold the song
 * |a| times as fast (see stream_bpm()), so the range is multiplied by |a|,
 * then clipped to what the tracker searches (kMinBpm..kMaxBpm). Returns
 * false, leaving the range as it was, where nothing is left (a range the
 * tracker cannot reach at that applied rate). */
static bool buffer_tempo_range(const GstSegment *segment, double *min_bpm, double *max_bpm)
{
  const double applied = std::fabs(segment->applied_rate);
  if (!(applied > 0))
    return true;
  const double lo = std::max(*min_bpm * applied, montage::BeatTracker::kMinBpm);
  const double hi = std::min(*max_bpm * applied, montage::BeatTracker::kMaxBpm);
  if (!montage::BeatTracker::tempo_range_ok(lo, hi))
    return false;
  *min_bpm = lo;
  *max_bpm = hi;
  return true;
}

/* Drops everything tracked and starts over with the current properties.
 * Returns false (after posting an error) when the tracker cannot be made. */
static bool reset_tracking(GstMontageBeat *self)
{
  State &st = *self->state;
  post_pending(self);
  GstMontageBeatMode wanted;
  {
    std::lock_guard<std::mutex> guard(st.lock);
    wanted = st.mode;
  }
  /* Asked outside the lock: the query travels upstream. */
  const GstMontageBeatMode mode = resolve_mode(self, wanted);
  st.anchors.clear();
  st.samples = 0;
  st.gap_sample = G_MAXUINT64;
  st.refilled = 0;
  st.last_beat = GST_CLOCK_TIME_NONE;
  st.tracker.reset();
  drop_held(st);
  st.energy_origin = 0;
  st.energy_k = 0;
  st.energy_sum = 0;
  st.level.reset();
  st.level_k = 0;
  st.last_tag_bpm = 0;
  st.summarised = false;
  montage::BeatTrackerConfig config;
  bool latency_changed;
  {
    std::lock_guard<std::mutex> guard(st.lock);
    latency_changed = st.active_delay != st.live_delay;
    st.active_mode = mode;
    st.active_silence = st.silence_threshold;
    st.active_delay = st.live_delay;
    config.silence_db = st.silence_threshold;
    config.energy_interval = st.interval;
    st.energy_interval = st.interval;
    config.live_delay = st.live_delay;
    config.min_bpm = st.min_bpm;
    config.max_bpm = st.max_bpm;
  }
  /* The pipeline asks for the latency again. */
  if (latency_changed)
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  /* Checked before the caps are known too, so that an empty range fails the
   * start (READY to PAUSED), not the first caps. Later (a flush, a segment)
   * the last range that was not empty goes on. */
  if (!montage::BeatTracker::tempo_range_ok(config.min_bpm, config.max_bpm)) {
    if (st.min_bpm_kept == 0) {
      GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
                        ("The tempo range is empty: set min-bpm (%g) below max-bpm (%g).",
                         config.min_bpm, config.max_bpm),
                        (NULL));
      return false;
    }
    GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS,
                        ("The tempo range is empty (min-bpm %g, max-bpm %g): the tracking goes on "
                         "with the last range, %g-%g BPM, until the next flush or segment after "
                         "min-bpm is set below max-bpm.",
                         config.min_bpm, config.max_bpm, st.min_bpm_kept, st.max_bpm_kept),
                        (NULL));
    config.min_bpm = st.min_bpm_kept;
    config.max_bpm = st.max_bpm_kept;
  }
  st.min_bpm_kept = config.min_bpm;
  st.max_bpm_kept = config.max_bpm;
  if (!st.have_info)
    return true;
  /* min-bpm and max-bpm are the song's tempi (stream time); the tracker
   * measures buffer time. Only once caps are known: start() runs before
   * GstBaseTransform resets its segment, which may still be the last
   * run's (its applied rate would be taken for this run's). */
  const GstSegment *segment = &GST_BASE_TRANSFORM(self)->segment;
  if (!buffer_tempo_range(segment, &config.min_bpm, &config.max_bpm)) {
    if (!st.warned_range)
      GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS,
                          ("montagebeat cannot track songs at %g-%g BPM at applied rate %.2f (the "
                           "audio holds them at %g-%g BPM, it tracks %g-%g): it searches its whole "
                           "range instead. Widen min-bpm and max-bpm.",
                           config.min_bpm, config.max_bpm, segment->applied_rate,
                           config.min_bpm * std::fabs(segment->applied_rate),
                           config.max_bpm * std::fabs(segment->applied_rate),
                           montage::BeatTracker::kMinBpm, montage::BeatTracker::kMaxBpm),
                          (NULL));
    st.warned_range = true;
    config.min_bpm = montage::BeatTracker::kMinBpm;
    config.max_bpm = montage::BeatTracker::kMaxBpm;
  }
  config.whole_song = st.active_mode == GST_MONTAGE_BEAT_MODE_OFFLINE;
  try {
    st.tracker = std::make_unique<montage::BeatTracker>((guint)GST_AUDIO_INFO_RATE(&st.info), config);
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(
        self, LIBRARY, INIT,
        ("Could not start beat tracking at %d Hz (%s): put audioresample before montagebeat "
         "to give it 8-192 kHz, or free some memory.",
         GST_AUDIO_INFO_RATE(&st.info), e.what()),
        ("rate %d", GST_AUDIO_INFO_RATE(&st.info)));
    return false;
  }
  return true;
}

/* Buffer time of a tracker time (ns since the last reset). Never past the
 * next anchor's PTS: where a buffer came inside a GAP's silence, that
 * silence's last stretch (the GAP's overshoot) maps to the buffer's PTS, so
 * buffer time never goes back as tracker time goes on. */
static GstClockTime to_buffer_time(const State &st, GstClockTime t)
{
  if (st.anchors.empty() || !st.have_info)
    return t;
  const guint64 sample = gst_util_uint64_scale_round(t, GST_AUDIO_INFO_RATE(&st.info), GST_SECOND);
  std::size_t k = 0;
  for (std::size_t i = 0; i < st.anchors.size(); i++)
    if (st.anchors[i].sample <= sample)
      k = i;
  const Anchor *a = &st.anchors[k];
  const GstClockTime anchor_ns = gst_util_uint64_scale(a->sample, GST_SECOND, GST_AUDIO_INFO_RATE(&st.info));
  if (t >= anchor_ns) {
    const GstClockTime ts = a->pts + (t - anchor_ns);
    if (k + 1 < st.anchors.size() && ts > st.anchors[k + 1].pts)
      return st.anchors[k + 1].pts;
    return ts;
  }
  return a->pts > anchor_ns - t ? a->pts - (anchor_ns - t) : 0;
}

/* Posts an element message: at once in live mode; in offline mode at once
 * when kPostWindow has passed since the last post, else with the group that
 * goes out kPostWindow after it. */
static void post(GstMontageBeat *self, GstStructure *s)
{
  State &st = *self->state;
  GstMessage *m = gst_message_new_element(GST_OBJECT(self), s);
  if (st.active_mode == GST_MONTAGE_BEAT_MODE_LIVE) {
    gst_element_post_message(GST_ELEMENT(self), m);
    return;
  }
  std::unique_lock<std::mutex> guard(st.post_lock);
  const gint64 now = g_get_monotonic_time();
  st.pending.push_back(m);
  if (now - st.last_post >= kPostWindow) {
    post_waiting(self, guard);
    return;
  }
  if (st.timer)
    return;
  GstClock *clock = gst_system_clock_obtain();
  const GstClockTime at =
      gst_clock_get_time(clock) + (GstClockTime)(st.last_post + kPostWindow - now) * GST_USECOND;
  st.timer = gst_clock_new_single_shot_id(clock, at);
  gst_object_unref(clock);
  if (gst_clock_id_wait_async(st.timer, on_post_timer, gst_object_ref(self), gst_object_unref) !=
      GST_CLOCK_OK) {
    /* No clock wait: post now rather than hold messages without one. */
    gst_clock_id_unref(st.timer);
    st.timer = nullptr;
    post_waiting(self, guard);
  }
}

/* A new tag list: `base` (may be NULL) with GST_TAG_BEATS_PER_MINUTE set to
 * `bpm`. */
static GstTagList *tags_with_bpm(const GstTagList *base, double bpm)
{
  GstTagList *tags = base ? gst_tag_list_copy(base) : gst_tag_list_new_empty();
  gst_tag_list_add(tags, GST_TAG_MERGE_REPLACE, GST_TAG_BEATS_PER_MINUTE, bpm, NULL);
  return tags;
}

/* A BPM tag event downstream, behind the audio held so far, when `bpm`
 * differs from the last one sent by 1 BPM or more (or always, with force). */
static void push_bpm_tag(GstMontageBeat *self, double bpm, bool force = false)
{
  State &st = *self->state;
  if (bpm <= 0 || (!force && std::fabs(bpm - st.last_tag_bpm) < 1.0))
    return;
  st.last_tag_bpm = bpm;
  push_event_in_order(self, gst_event_new_tag(tags_with_bpm(st.upstream_tags, bpm)));
}

template <typename T> static void append(GValue *array, GType type, T value)
{
  GValue v = G_VALUE_INIT;
  g_value_init(&v, type);
  if constexpr (std::is_same_v<T, guint64>)
    g_value_set_uint64(&v, value);
  else if constexpr (std::is_same_v<T, gboolean>)
    g_value_set_boolean(&v, value);
  else
    g_value_set_double(&v, value);
  gst_value_array_append_and_take_value(array, &v);
}

static const char *level_name(montage::Section::Level l)
{
  switch (l) {
  case montage::Section::Level::kLow:
    return "low";
  case montage::Section::Level::kHigh:
    return "high";
  default:
    return "medium";
  }
}

/* A tempo measured in buffer time (the tracker's) as a tempo in stream time,
 * the song's own: an element upstream that already changed the speed
 * (scaletempo, applied_rate 2: the buffers hold the song twice as fast)
 * leaves buffer time running |applied_rate| times slower than stream time.
 * The playback rate (segment rate) is not in it: it only maps to running
 * time. 0 stays 0 (unknown). */
static double stream_bpm(const GstSegment *segment, double bpm)
{
  const double applied = std::fabs(segment->applied_rate);
  return applied > 0 ? bpm / applied : bpm;
}

/* A tempo in buffer time as heard at the playback rate, in running time. */
static double running_bpm(const GstSegment *segment, double bpm)
{
  return bpm * std::fabs(segment->rate);
}

/* The whole range read the music at a tempo outside min-bpm..max-bpm and
 * the beats found within the range fall off its beat (range, from
 * montage::BeatTracker::finish()): a warning with the music's tempo and
 * what to set. The summary keeps the range's beats: the application set
 * the range, and may widen it. */
static void warn_tempo_outside_range(GstMontageBeat *self, const montage::TempoRangeCheck &range)
{
  State &st = *self->state;
  const GstSegment *segment = &GST_BASE_TRANSFORM(self)->segment;
  const montage::BeatTrackerConfig &config = st.tracker->config();
  const double music = stream_bpm(segment, range.music_bpm),
               found = stream_bpm(segment, range.range_bpm);
  const double lo = stream_bpm(segment, config.min_bpm), hi = stream_bpm(segment, config.max_bpm);
  /* A range that holds half or double the music's tempo (within 8 %, as
   * bpm_from_beats() bands a tempo) was meant to give that; its beats then
   * lie between the music's, the two readings on different halves of one
   * grid, and either can be the wrong one (a 30 s excerpt of stg0 reads 75
   * BPM on the off-beats over the whole range, 150 on the beats within
   * 100-200; trial h138): the user is asked to check, not told. */
  const double ratio = found / music;
  const bool half = std::fabs(ratio / 0.5 - 1) <= 0.08, twice = std::fabs(ratio / 2.0 - 1) <= 0.08;
  const char *why = half    ? ", its half time, but not on the whole range's beats"
                    : twice ? ", its double time, but not on the whole range's beats"
                            : ", and fall off the music's beat";
  const char *advice =
      half || twice ? "One of the two readings is off the beat: check which beats fall on the "
                      "music's beat; if the range's do not, set a range that holds"
                    : "Set a range that holds";
  GST_ELEMENT_WARNING_WITH_DETAILS(
      self, LIBRARY, SETTINGS,
      ("The music's tempo looks like %.0f BPM, outside min-bpm..max-bpm (%g-%g BPM): the beats "
       "found within the range are at %.0f BPM%s (%.0f %% of them agree). %s %.0f BPM, or leave "
       "min-bpm and max-bpm at their defaults (40-240).",
       music, lo, hi, found, why, 100 * range.agreement, advice, music),
      ("whole-range tempo %.2f BPM, in-range tempo %.2f BPM, agreement %.3f (under %.2f)", music,
       found, range.agreement, montage::TempoRangeCheck::kAgreement),
      ("music-bpm", G_TYPE_DOUBLE, music, "bpm", G_TYPE_DOUBLE, found, "min-bpm", G_TYPE_DOUBLE, lo,
       "max-bpm", G_TYPE_DOUBLE, hi, "agreement", G_TYPE_DOUBLE, range.agreement, NULL));
}

static void post_beats(GstMontageBeat *self)
{
  State &st = *self->state;
  montage::SongAnalysis song;
  std::vector<double> conf;
  montage::TempoRangeCheck range;
  if (st.tracker)
    song = st.tracker->finish(&conf, &range);
  else
    song.duration = 0;
  if (range.outside)
    warn_tempo_outside_range(self, range);
  GValue beats = G_VALUE_INIT, energy = G_VALUE_INIT, downbeats = G_VALUE_INIT, bconf = G_VALUE_INIT,
         curve = G_VALUE_INIT, sections = G_VALUE_INIT;
  /* Ordered sequences: GstValueArray (GstValueList is an unordered set of
   * alternatives, as in caps), as montagescene's montage-shots. */
  for (GValue *v : {&beats, &energy, &downbeats, &bconf})
    gst_value_array_init(v, (guint)song.beats.size());
  gst_value_array_init(&curve, (guint)song.energy_curve.size());
  gst_value_array_init(&sections, (guint)song.sections.size());
  GstClockTime previous = GST_CLOCK_TIME_NONE;
  for (std::size_t i = 0; i < song.beats.size(); i++) {
    /* Two beats on one time only where a GAP's overshoot (to_buffer_time())
     * held the first: the first is kept. */
    const GstClockTime ts = to_buffer_time(st, song.beats[i]);
    if (GST_CLOCK_TIME_IS_VALID(previous) && ts <= previous)
      continue;
    previous = ts;
    append<guint64>(&beats, G_TYPE_UINT64, ts);
    append<double>(&energy, G_TYPE_DOUBLE, i < song.beat_energy.size() ? song.beat_energy[i] : 1.0);
    append<gboolean>(&downbeats, G_TYPE_BOOLEAN, i < song.downbeats.size() && song.downbeats[i]);
    append<double>(&bconf, G_TYPE_DOUBLE, i < conf.size() ? conf[i] : 0.0);
  }
  for (double e : song.energy_curve)
    append<double>(&curve, G_TYPE_DOUBLE, e);
  for (const montage::Section &sec : song.sections) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, GST_TYPE_STRUCTURE);
    GstStructure *s = gst_structure_new("section", "start", G_TYPE_UINT64, (guint64)to_buffer_time(st, sec.start),
                                        "end", G_TYPE_UINT64, (guint64)to_buffer_time(st, sec.end), "level",
                                        G_TYPE_STRING, level_name(sec.level), NULL);
    g_value_take_boxed(&v, s);
    gst_value_array_append_and_take_value(&sections, &v);
  }
  GstStructure *s = gst_structure_new(
      "montage-beats", "bpm", G_TYPE_DOUBLE,
      stream_bpm(&GST_BASE_TRANSFORM(self)->segment, song.bpm), "confidence", G_TYPE_DOUBLE,
      song.confidence, "beats-per-bar", G_TYPE_UINT, song.beats_per_bar, "meter-confidence",
      G_TYPE_DOUBLE, song.meter_confidence, "energy-interval", G_TYPE_UINT64,
      (guint64)song.energy_interval, "duration", G_TYPE_UINT64,
      (guint64)(song.duration - std::min<GstClockTime>(st.refilled, song.duration)), "mode",
      G_TYPE_STRING, st.active_mode == GST_MONTAGE_BEAT_MODE_LIVE ? "live" : "offline", NULL);
  gst_structure_take_value(s, "beats", &beats);
  gst_structure_take_value(s, "energy", &energy);
  gst_structure_take_value(s, "downbeats", &downbeats);
  gst_structure_take_value(s, "beat-confidence", &bconf);
  gst_structure_take_value(s, "energy-curve", &curve);
  gst_structure_take_value(s, "sections", &sections);
  GST_INFO_OBJECT(self, "%u beats at %.2f BPM, %u per bar", (guint)song.beats.size(), song.bpm,
                  song.beats_per_bar);
  post(self, s);
  post_pending(self);
  if (st.active_mode == GST_MONTAGE_BEAT_MODE_OFFLINE)
    push_bpm_tag(self, stream_bpm(&GST_BASE_TRANSFORM(self)->segment, song.bpm), true);
}

/* Before a reset that is not a flush (a new segment, the stream's time
 * going back, a new sample rate): posts montage-beats for all the audio
 * analysed since the last reset, unless none came since the last summary,
 * so that its offline result is not lost; and marks that an EOS with no
 * audio after the reset posts no empty summary. */
static void summarise_before_reset(GstMontageBeat *self)
{
  State &st = *self->state;
  if (st.samples == 0)
    return;
  if (!st.summarised)
    post_beats(self);
  st.summarised = true;
  st.summary_before_reset = true;
}

static gboolean gst_montage_beat_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *)
{
  GstMontageBeat *self = GST_MONTAGE_BEAT(trans);
  State &st = *self->state;
  GstAudioInfo info;
  if (!gst_audio_info_from_caps(&info, incaps)) {
    GST_ELEMENT_ERROR(
        self, CORE, NEGOTIATION,
        ("montagebeat cannot read these audio caps: put audioconvert and audioresample "
         "before it (it reads S16, S32, F32 and F64 at 8-192 kHz)."),
        ("caps: %" GST_PTR_FORMAT, incaps));
    return FALSE;
  }
  const bool rate_changed = !st.have_info || GST_AUDIO_INFO_RATE(&info) != GST_AUDIO_INFO_RATE(&st.info);
  st.info = info;
  st.have_info = true;
  if (rate_changed || !st.tracker)
    return reset_tracking(self) ? TRUE : FALSE;
  return TRUE;
}

/* Averages frame i's channels into out[i]. */
template <typename T>
static inline void mix_frame(const T *in, gsize i, gint ch, float scale, float *out)
{
  float sum = 0.f;
  for (gint c = 0; c < ch; c++)
    sum += (float)in[i * ch + c];
  out[i] = sum * scale;
}

/* CHANNELS > 0 fixes the channel count at compile time (mono and stereo, the
 * common cases); their frames go in blocks of 8, a loop of fixed length that
 * the compiler turns into vector instructions at -O2; 0 reads the count
 * from `channels`. */
template <typename T, gint CHANNELS>
static void mix(const guint8 *data, gsize frames, gint channels, float scale, float *out)
{
  const T *in = reinterpret_cast<const T *>(data);
  const gint ch = CHANNELS > 0 ? CHANNELS : channels;
  gsize i = 0;
  if (CHANNELS > 0)
    for (; i + 8 <= frames; i += 8)
      for (gsize k = 0; k < 8; k++)
        mix_frame(in, i + k, CHANNELS, scale, out);
  for (; i < frames; i++)
    mix_frame(in, i, ch, scale, out);
}

template <typename T> static void mix_any(const guint8 *data, gsize frames, gint channels, float scale, float *out)
{
  if (channels == 1)
    mix<T, 1>(data, frames, channels, scale, out);
  else if (channels == 2)
    mix<T, 2>(data, frames, channels, scale, out);
  else
    mix<T, 0>(data, frames, channels, scale, out);
}

/* Averages the channels of `frames` interleaved frames into st.mono. The
 * caps are little-endian only; this machine's order is assumed to match
 * (GStreamer's audioconvert gives native order). */
static void downmix(State &st, const guint8 *data, gsize frames)
{
  const gint channels = GST_AUDIO_INFO_CHANNELS(&st.info);
  st.mono.resize(frames);
  const float per = 1.0f / (float)channels;
  switch (GST_AUDIO_INFO_FORMAT(&st.info)) {
  case GST_AUDIO_FORMAT_F32LE:
    mix_any<float>(data, frames, channels, per, st.mono.data());
    break;
  case GST_AUDIO_FORMAT_F64LE:
    mix_any<double>(data, frames, channels, per, st.mono.data());
    break;
  case GST_AUDIO_FORMAT_S32LE:
    mix_any<gint32>(data, frames, channels, per / 2147483648.f, st.mono.data());
    break;
  default:
    mix_any<gint16>(data, frames, channels, per / 32768.f, st.mono.data());
    break;
  }
}

/* `ts` (buffer time) as stream time and as running time in `segment`;
 * GST_CLOCK_TIME_NONE outside it, or when the segment is not in time (raw
 * PCM from filesrc comes in a BYTES segment). */
static GstClockTime stream_time_of(const GstSegment *segment, GstClockTime ts)
{
  return segment->format == GST_FORMAT_TIME
             ? gst_segment_to_stream_time(segment, GST_FORMAT_TIME, ts)
             : GST_CLOCK_TIME_NONE;
}

static GstClockTime running_time_of(const GstSegment *segment, GstClockTime ts)
{
  return segment->format == GST_FORMAT_TIME
             ? gst_segment_to_running_time(segment, GST_FORMAT_TIME, ts)
             : GST_CLOCK_TIME_NONE;
}

/* First sample (since the last reset) of montage-energy interval k, as the
 * tracker places its energy intervals: k * interval from the origin, to the
 * nearest sample (no drift at rates where an interval is not a whole number
 * of samples). */
static guint64 energy_edge(const State &st, guint64 k)
{
  return st.energy_origin +
         montage::energy_interval_edge(k, (guint)GST_AUDIO_INFO_RATE(&st.info), st.energy_interval);
}

/* Posts montage-energy for samples [first, end) since the last reset, of
 * mean square `ms`. */
static void post_energy(GstMontageBeat *self, const GstSegment *segment, guint64 first, guint64 end,
                        double ms)
{
  State &st = *self->state;
  const guint rate = (guint)GST_AUDIO_INFO_RATE(&st.info);
  const double db = ms > 0 ? 10 * std::log10(ms) : -400.0;
  /* The duration in samples: the buffer time of the end can lie before
   * the start where the sample clock moved back. */
  const GstClockTime start = gst_util_uint64_scale(first, GST_SECOND, rate);
  const GstClockTime length = gst_util_uint64_scale(end, GST_SECOND, rate) - start;
  const GstClockTime ts = to_buffer_time(st, start);
  post(self, gst_structure_new("montage-energy", "timestamp", G_TYPE_UINT64, (guint64)ts,
                               "stream-time", G_TYPE_UINT64, (guint64)stream_time_of(segment, ts),
                               "running-time", G_TYPE_UINT64, (guint64)running_time_of(segment, ts),
                               "duration", G_TYPE_UINT64, (guint64)length, "rms", G_TYPE_DOUBLE,
                               std::max(db, -200.0), "energy", G_TYPE_DOUBLE,
                               montage::energy_from_db(db, st.active_silence), NULL));
}

/* Whether the montage-energy intervals are the tracker's own energy
 * intervals (same length, from the first sample since the last reset):
 * then their mean squares are read from the tracker, which sums every
 * sample pushed already, rather than summed a second time here. Once
 * `interval` changes after a reset, they are summed here. */
static bool energy_is_the_trackers(const State &st)
{
  return st.tracker && st.energy_origin == 0 &&
         st.energy_interval == st.tracker->config().energy_interval;
}

/* Takes a new `interval` into effect for the montage-energy messages, as
 * `level` does: the interval in progress ends once it is that long, at once
 * (here) where it already is; the next ones have the new length. */
static void update_energy_interval(GstMontageBeat *self, const GstSegment *segment)
{
  State &st = *self->state;
  GstClockTime interval;
  {
    std::lock_guard<std::mutex> guard(st.lock);
    interval = st.interval;
  }
  if (interval == st.energy_interval)
    return;
  /* The interval in progress goes on here from the tracker's sum so far
   * (the same pieces summed in the same order: the same number). */
  if (energy_is_the_trackers(st))
    st.energy_sum = st.tracker->energy_open_sum_squares();
  const guint64 first = energy_edge(st, st.energy_k);
  st.energy_interval = interval;
  st.energy_origin = first;
  st.energy_k = 0;
  if (st.samples >= energy_edge(st, 1)) {
    if (st.samples > first)
      post_energy(self, segment, first, st.samples, st.energy_sum / (double)(st.samples - first));
    st.energy_origin = st.samples;
    st.energy_sum = 0;
  }
}

/* Adds `n` mono samples, the first being sample st.samples since the last
 * reset, to the montage-energy intervals, and posts those it completes;
 * called after the tracker has been given the same samples. While
 * `interval` keeps the value it had at the last reset, these are the
 * tracker's energy intervals (montage::BeatTracker::energy_intervals()),
 * and their mean squares are the tracker's, so the messages and the energy
 * curve in montage-beats are the same numbers
 * (MontageBeat.EnergyCurveIsTheEnergyMessages). After a change they are
 * placed and summed here by the same functions
 * (montage::energy_interval_edge(), montage::sum_squares()). */
static void measure_energy(GstMontageBeat *self, const GstSegment *segment, const float *x,
                           std::size_t n)
{
  State &st = *self->state;
  if (energy_is_the_trackers(st)) {
    for (const std::size_t done = st.tracker->energy_intervals(); st.energy_k < done; st.energy_k++)
      post_energy(self, segment, energy_edge(st, st.energy_k), energy_edge(st, st.energy_k + 1),
                  st.tracker->energy_mean_square(st.energy_k));
    return;
  }
  guint64 at = st.samples;
  std::size_t i = 0;
  while (i < n) {
    const guint64 end = energy_edge(st, st.energy_k + 1);
    const std::size_t take = (std::size_t)std::min<guint64>(n - i, end - at);
    st.energy_sum += montage::sum_squares(x + i, take);
    i += take;
    at += take;
    if (at == end) {
      const guint64 first = energy_edge(st, st.energy_k);
      post_energy(self, segment, first, end,
                  end > first ? st.energy_sum / (double)(end - first) : 0.0);
      st.energy_sum = 0;
      st.energy_k++;
    }
  }
}

/* A move of the stream's time of this much or more from the samples counted
 * is a discontinuity even without the DISCONT flag (a GAP event, a source
 * that drops audio): audiobasesink's default alignment-threshold. */
constexpr GstClockTime kTimeJump = 40 * GST_MSECOND;
/* Gaps up to this long are analysed as silence; after a longer one only the
 * sample clock restarts (the beat phase is then the music's own again once
 * the tracker has heard a few beats). */
constexpr GstClockTime kMaxGapFill = 60 * GST_SECOND;
/* A step back of the stream's time up to this much is absorbed: the sample
 * clock moves back to the buffer's PTS and the tracking goes on, as an audio
 * sink resyncs at its alignment threshold rather than starting over. Audio
 * sources correcting clock drift step back by a few milliseconds
 * (GstAudioBaseSrc's slave-method=skew sends a DISCONT buffer a segment
 * back), and RTP/SRT audio stamped by the receiver's clock drifts back
 * slowly (a step of kTimeJump each time). A longer step back (a source that
 * loops or restarts its timestamps) restarts the tracking. 150 ms is under
 * the shortest beat period (250 ms at 240 BPM, kMaxBpm), so at most one
 * beat falls in
 * the audio heard twice (the later copy is dropped: to_buffer_time(),
 * publish_beats()). */
constexpr GstClockTime kMaxStepBack = 150 * GST_MSECOND;

/* How far `pts` is from the time of the samples counted: positive where
 * the stream's time moved on (audio lost, a GAP), negative where it went
 * back. */
static GstClockTimeDiff time_jump(const State &st, GstClockTime pts)
{
  const GstClockTime expected = to_buffer_time(
      st, gst_util_uint64_scale(st.samples, GST_SECOND, GST_AUDIO_INFO_RATE(&st.info)));
  return GST_CLOCK_DIFF(expected, pts);
}

/* Whether a jump counts as a discontinuity: with the DISCONT flag, a sample
 * or more; without it, kTimeJump or more. */
static bool is_discontinuity(const State &st, GstClockTimeDiff jump, bool discont)
{
  const GstClockTimeDiff one = (GstClockTimeDiff)gst_util_uint64_scale_int_ceil(
      GST_SECOND, 1, GST_AUDIO_INFO_RATE(&st.info));
  return (discont && std::llabs(jump) >= one) || std::llabs(jump) >= (GstClockTimeDiff)kTimeJump;
}

/* Analyses `frames` samples of silence (a gap in the stream), collecting
 * any beats the tracker posts meanwhile in `beats`. */
static void analyse_silence(GstMontageBeat *self, GstSegment *segment, guint64 frames,
                            std::vector<montage::Beat> &beats)
{
  State &st = *self->state;
  constexpr guint64 kChunk = 4096;
  while (frames > 0) {
    const std::size_t n = (std::size_t)std::min(frames, kChunk);
    st.mono.assign(n, 0.f);
    std::vector<montage::Beat> more = st.tracker->push(st.mono.data(), n);
    beats.insert(beats.end(), more.begin(), more.end());
    measure_energy(self, segment, st.mono.data(), n);
    st.samples += n;
    frames -= n;
  }
}

/* The music's energy at `beat` (ns from the first sample since the last
 * reset) against the song so far: st.level fed the tracker's energy
 * intervals that end by the beat (all complete: the tracker is past it), so
 * the value does not depend on how the audio was cut into buffers. */
static double energy_at(State &st, GstClockTime beat)
{
  if (!st.tracker)
    return 0.5;
  const montage::BeatTrackerConfig &config = st.tracker->config();
  if (!st.level)
    st.level = std::make_unique<montage::LiveEnergyLevel>(config.energy_interval);
  const guint rate = (guint)GST_AUDIO_INFO_RATE(&st.info);
  const guint64 sample = gst_util_uint64_scale_round(beat, rate, GST_SECOND);
  for (const std::size_t done = st.tracker->energy_intervals();
       st.level_k < done &&
       montage::energy_interval_edge(st.level_k + 1, rate, config.energy_interval) <= sample;
       st.level_k++) {
    const double ms = st.tracker->energy_mean_square(st.level_k);
    st.level->push(
        montage::energy_from_db(ms > 0 ? 10 * std::log10(ms) : -400.0, config.silence_db));
  }
  return st.level->level();
}

/* Puts a MontageBeatMeta on the held buffer containing the beat or, when
 * that buffer has already gone downstream (a beat confirmed later than
 * live-delay: the tempo's first estimate, or the causal path changing its
 * mind about an older beat), on the oldest held buffer, the next to go out:
 * every posted beat travels in-band once, and its `time` says where it is. */
static void attach_meta(State &st, const montage::Beat &b, GstClockTime ts, double bpm,
                        double energy)
{
  if (st.held.empty())
    return;
  const guint64 sample = gst_util_uint64_scale_round(b.time, GST_AUDIO_INFO_RATE(&st.info), GST_SECOND);
  Held *into = &st.held.front();
  for (Held &h : st.held) {
    if (sample >= h.first && sample < h.end) {
      into = &h;
      break;
    }
  }
  into->buf = gst_buffer_make_writable(into->buf);
  MontageBeatInfo info = {ts, b.strength, b.downbeat ? TRUE : FALSE, b.bar_position, bpm, energy};
  montage_buffer_add_beat_meta(into->buf, &info);
}

/* Puts each beat found on its held buffer (attach_meta()), posts its
 * montage-beat and sends a BPM tag where the tempo moved. */
static void publish_beats(GstMontageBeat *self, const GstSegment *segment,
                          const std::vector<montage::Beat> &beats)
{
  State &st = *self->state;
  for (const montage::Beat &b : beats) {
    GstClockTime ts = to_buffer_time(st, b.time);
    if (GST_CLOCK_TIME_IS_VALID(st.last_beat) && ts <= st.last_beat) {
      GST_DEBUG_OBJECT(self, "beat at %" GST_TIME_FORMAT " not after the last one: dropped",
                       GST_TIME_ARGS(ts));
      continue;
    }
    st.last_beat = ts;
    GstClockTime stream_time = stream_time_of(segment, ts);
    GstClockTime running_time = running_time_of(segment, ts);
    GST_LOG_OBJECT(self, "beat at %" GST_TIME_FORMAT ", %.2f BPM", GST_TIME_ARGS(ts), b.bpm);
    /* The tempo in stream time (the song's own) and as heard (running time). */
    const double bpm = stream_bpm(segment, b.bpm);
    const double energy = energy_at(st, b.time);
    attach_meta(st, b, ts, bpm, energy);
    post(self, gst_structure_new("montage-beat", "timestamp", G_TYPE_UINT64, (guint64)ts,
                                 "stream-time", G_TYPE_UINT64, (guint64)stream_time, "running-time",
                                 G_TYPE_UINT64, (guint64)running_time, "bpm", G_TYPE_DOUBLE, bpm,
                                 "running-bpm", G_TYPE_DOUBLE, running_bpm(segment, b.bpm),
                                 "confidence", G_TYPE_DOUBLE, b.confidence, "strength",
                                 G_TYPE_DOUBLE, b.strength, "energy", G_TYPE_DOUBLE, energy,
                                 "downbeat", G_TYPE_BOOLEAN, b.downbeat ? TRUE : FALSE,
                                 "bar-position", G_TYPE_UINT, b.bar_position, NULL));
    push_bpm_tag(self, bpm);
  }
}

/* Keeps the longest input buffer for the latency query; posts a LATENCY
 * message when it grows, so the pipeline asks again. */
static void note_buffer_length(GstMontageBeat *self, gsize frames)
{
  State &st = *self->state;
  const GstClockTime length =
      gst_util_uint64_scale_int_ceil(frames, GST_SECOND, GST_AUDIO_INFO_RATE(&st.info));
  {
    std::lock_guard<std::mutex> guard(st.lock);
    if (length <= st.longest_buffer)
      return;
    st.longest_buffer = length;
  }
  GST_DEBUG_OBJECT(self, "longest input buffer now %" GST_TIME_FORMAT ": latency grows",
                   GST_TIME_ARGS(length));
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

static GstFlowReturn push_held(GstMontageBeat *self);

/* Whether the audio of `segment` starts inside the music rather than at
 * its start: a segment whose stream time is past 0 (a seek), unless it
 * begins a new stream (a STREAM_START came before it) at that stream's own
 * beginning (start 0). The second chain of a chained Ogg is such a stream:
 * oggdemux restarts its buffer times at 0 and runs its stream time on from
 * the chains before (time 8 s after an 8 s chain), and its first sample is
 * the chain's first, as a file's is. A seek after a STREAM_START (into
 * another chain) has its start past 0 and still starts inside the music. */
static bool starts_inside_the_music(const State &st, const GstSegment *segment)
{
  if (segment->format != GST_FORMAT_TIME || segment->time == 0)
    return false;
  return !(st.segment_starts_stream && segment->start == 0);
}

static GstFlowReturn gst_montage_beat_submit_input_buffer(GstBaseTransform *trans, gboolean, GstBuffer *buf)
{
  GstMontageBeat *self = GST_MONTAGE_BEAT(trans);
  State &st = *self->state;
  const bool discont = st.discont_in;
  st.discont_in = false;
  if (!st.have_info) {
    gst_buffer_unref(buf);
    GST_ELEMENT_ERROR(
        self, CORE, NEGOTIATION,
        ("montagebeat received audio before its format was negotiated: the element before "
         "it must send caps first (with appsrc, set its caps property)."),
        ("no caps event before the first buffer"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (!st.tracker) {
    /* reset_tracking() could not start the tracker and posted why (an empty
     * tempo range set since, out of memory). */
    gst_buffer_unref(buf);
    return GST_FLOW_ERROR;
  }
  if (trans->segment.rate < 0) {
    /* Played backwards: passed on as it is. The segment event pushed the
     * audio held before and reset the tracking. */
    if (!st.warned_reverse) {
      st.warned_reverse = true;
      GST_ELEMENT_WARNING(self, STREAM, NOT_IMPLEMENTED,
                          ("montagebeat does not analyse audio played backwards (segment rate "
                           "%.2f): it passes through with no beats, energy or tempo until the "
                           "next forward segment.",
                           trans->segment.rate),
                          (NULL));
    }
    st.pending_events.push(GST_BASE_TRANSFORM_SRC_PAD(trans));
    if (discont) {
      buf = gst_buffer_make_writable(buf);
      GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
    }
    return gst_pad_push(GST_BASE_TRANSFORM_SRC_PAD(trans), buf);
  }

  const GstClockTime pts = GST_BUFFER_PTS(buf);
  /* Where the stream's time moves away from the samples counted (a DISCONT,
   * or a jump of kTimeJump or more), by `jump`. */
  GstClockTimeDiff jump = 0;
  bool discontinuity = false;
  /* The buffer starts inside the silence the last GAP filled (the GAP was
   * an estimate that ran long): the sample clock moves back to its PTS. */
  bool inside_gap = false;
  if (!st.anchors.empty() && GST_CLOCK_TIME_IS_VALID(pts)) {
    jump = time_jump(st, pts);
    inside_gap = st.gap_sample == st.samples && pts >= st.gap_from && pts < st.gap_to && jump < 0;
    discontinuity = !inside_gap && is_discontinuity(st, jump, discont);
  }
  if (discontinuity && jump < -(GstClockTimeDiff)kMaxStepBack) {
    /* The stream's time went back without a segment (a source that loops
     * or restarts its timestamps): a new stream, as after a SEGMENT event,
     * so that beats, energy and `duration` never go back in time. A smaller
     * step back is absorbed below (kMaxStepBack). */
    GST_INFO_OBJECT(self, "time went back to %" GST_TIME_FORMAT ": tracking restarts",
                    GST_TIME_ARGS(pts));
    summarise_before_reset(self);
    const GstFlowReturn pushed = push_held(self);
    if (pushed != GST_FLOW_OK) {
      gst_buffer_unref(buf);
      return pushed;
    }
    if (!reset_tracking(self) || !st.tracker) {
      gst_buffer_unref(buf);
      return GST_FLOW_ERROR;
    }
  }
  std::vector<montage::Beat> beats;
  update_energy_interval(self, &trans->segment);
  if (st.anchors.empty()) {
    GstClockTime start = 0;
    if (GST_CLOCK_TIME_IS_VALID(pts))
      start = pts;
    else if (trans->segment.format == GST_FORMAT_TIME)
      start = trans->segment.start;
    st.anchors.push_back({st.samples, start});
    /* A segment that starts later in the stream (a seek) starts inside the
     * music: its first instant is no onset (set_continues_stream()). */
    st.tracker->set_continues_stream(starts_inside_the_music(st, &trans->segment));
  } else if (inside_gap) {
    /* The silence after the buffer's PTS stays analysed (the tracker cannot
     * take samples back): that stretch of tracker time maps to the PTS
     * (to_buffer_time()), beats posted in it stay, and a later beat at or
     * before the last one posted is not posted (publish_beats()). */
    GST_DEBUG_OBJECT(self,
                     "buffer at %" GST_TIME_FORMAT " inside the GAP's silence (to %" GST_TIME_FORMAT
                     "): sample clock moves by %" GST_STIME_FORMAT,
                     GST_TIME_ARGS(pts), GST_TIME_ARGS(st.gap_to), GST_STIME_ARGS(jump));
    const GstClockTime from = std::max(pts, st.fill_from);
    if (st.fill_to > from)
      st.refilled += st.fill_to - from;
    if (st.anchors.back().sample == st.samples)
      st.anchors.back().pts = pts;
    else
      st.anchors.push_back({st.samples, pts});
  } else if (discontinuity) {
    /* The stream's time moved on (audio lost, a GAP event): the samples
     * missing are analysed as silence, up to kMaxGapFill, so that the beat
     * phase and the energy curve stay on the stream's time; the sample clock
     * then restarts from the buffer's PTS. Where it stepped back by up to
     * kMaxStepBack (clock drift corrected), only the sample clock moves. */
    GST_DEBUG_OBJECT(self,
                     "%s, %" GST_STIME_FORMAT
                     " from the samples counted: sample clock restarts at %" GST_TIME_FORMAT,
                     discont ? "DISCONT" : "timestamp jump", GST_STIME_ARGS(jump),
                     GST_TIME_ARGS(pts));
    if (jump > 0 && (GstClockTime)jump <= kMaxGapFill)
      analyse_silence(
          self, &trans->segment,
          gst_util_uint64_scale((guint64)jump, GST_AUDIO_INFO_RATE(&st.info), GST_SECOND), beats);
    if (st.anchors.back().sample == st.samples)
      st.anchors.back().pts = pts;
    else
      st.anchors.push_back({st.samples, pts});
  }

  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) {
    gst_buffer_unref(buf);
    GST_ELEMENT_ERROR(
        self, RESOURCE, READ,
        ("montagebeat could not map an audio buffer for reading: put audioconvert before "
         "it so that it gets audio in system memory."),
        (NULL));
    return GST_FLOW_ERROR;
  }
  const gsize frames = map.size / GST_AUDIO_INFO_BPF(&st.info);
  downmix(st, map.data, frames);
  gst_buffer_unmap(buf, &map);
  note_buffer_length(self, frames);

  st.held.push_back({buf, st.samples, st.samples + frames, st.pending_events.take(), discont});
  std::vector<montage::Beat> more = st.tracker->push(st.mono.data(), st.mono.size());
  beats.insert(beats.end(), more.begin(), more.end());
  measure_energy(self, &trans->segment, st.mono.data(), st.mono.size());
  st.samples += frames;
  st.summarised = false;
  st.summary_before_reset = false;

  publish_beats(self, &trans->segment, beats);
  return GST_FLOW_OK;
}

/* Whether the oldest held buffer has live-delay (plus two hops) of audio
 * after its last sample. */
static bool front_is_ready(const State &st)
{
  const guint64 wait = gst_util_uint64_scale_ceil(st.active_delay + HOP_SLACK,
                                                  GST_AUDIO_INFO_RATE(&st.info), GST_SECOND);
  return !st.held.empty() && st.held.front().end + wait <= st.samples;
}

/* A held buffer as it leaves: with the DISCONT flag it came in with. */
static GstBuffer *release(Held &h)
{
  if (h.discont) {
    h.buf = gst_buffer_make_writable(h.buf);
    GST_BUFFER_FLAG_SET(h.buf, GST_BUFFER_FLAG_DISCONT);
  }
  return h.buf;
}

/* GstBaseTransform's chain function marks the next buffer out DISCONT when a
 * DISCONT buffer comes in; with live-delay of audio held, that is a buffer
 * from before the discontinuity (an encoder or sink after it then resyncs
 * where the audio is continuous). So the flag is taken off here, before the
 * base class sees it, and put back on the same buffer when it leaves
 * (release()). */
static GstFlowReturn gst_montage_beat_chain(GstPad *pad, GstObject *parent, GstBuffer *buf)
{
  State &st = *GST_MONTAGE_BEAT(parent)->state;
  if (GST_BUFFER_IS_DISCONT(buf)) {
    buf = gst_buffer_make_writable(buf);
    GST_BUFFER_FLAG_UNSET(buf, GST_BUFFER_FLAG_DISCONT);
    st.discont_in = true;
  }
  return st.base_chain(pad, parent, buf);
}

/* Releases the oldest held buffer once live-delay (plus two hops) of audio
 * follows its last sample. */
static GstFlowReturn gst_montage_beat_generate_output(GstBaseTransform *trans, GstBuffer **outbuf)
{
  State &st = *GST_MONTAGE_BEAT(trans)->state;
  *outbuf = NULL;
  if (!st.have_info || !front_is_ready(st))
    return GST_FLOW_OK;
  st.held.front().events_before.push(GST_BASE_TRANSFORM_SRC_PAD(trans));
  *outbuf = release(st.held.front());
  st.held.pop_front();
  return GST_FLOW_OK;
}

/* A GAP event: no audio for [timestamp, timestamp + duration) (a live
 * source gone quiet, a sparse stream). The time up to its end is analysed
 * as silence, as the missing time before a buffer whose PTS jumped is (up
 * to kMaxGapFill), so the held audio that live-delay of it now follows goes
 * out, with the beats found meanwhile, and the GAP goes on behind the audio
 * still held (the caller). A longer gap restarts the sample clock at its
 * end, as a longer jump does, and lets all the held audio out: none may
 * come for that long. Without this the held audio, and every GAP behind
 * it, waited for the next buffer or EOS. */
static void analyse_gap(GstMontageBeat *self, GstEvent *event)
{
  State &st = *self->state;
  GstBaseTransform *trans = GST_BASE_TRANSFORM(self);
  GstClockTime ts, duration;
  gst_event_parse_gap(event, &ts, &duration);
  if (!st.tracker || !st.have_info || st.anchors.empty() || trans->segment.rate < 0 ||
      !GST_CLOCK_TIME_IS_VALID(ts))
    return;
  const GstClockTime end = GST_CLOCK_TIME_IS_VALID(duration) ? ts + duration : ts;
  const GstClockTimeDiff jump = time_jump(st, end);
  if (jump <= 0)
    return;
  /* The stretch this GAP covers, joined to the last GAP's where no audio
   * came between them. */
  const GstClockTime expected = end - (GstClockTime)jump;
  if (st.gap_sample != st.samples) {
    st.gap_from = expected;
    st.fill_from = st.fill_to = expected;
  }
  st.gap_to = end;
  if ((GstClockTime)jump > kMaxGapFill) {
    GST_DEBUG_OBJECT(self, "GAP to %" GST_TIME_FORMAT ": sample clock restarts there",
                     GST_TIME_ARGS(end));
    st.gap_sample = st.samples;
    if (st.anchors.back().sample == st.samples)
      st.anchors.back().pts = end;
    else
      st.anchors.push_back({st.samples, end});
    push_held(self);
    return;
  }
  std::vector<montage::Beat> beats;
  update_energy_interval(self, &trans->segment);
  analyse_silence(self, &trans->segment,
                  gst_util_uint64_scale((guint64)jump, GST_AUDIO_INFO_RATE(&st.info), GST_SECOND),
                  beats);
  if (st.fill_to != expected)
    st.fill_from = expected;
  /* Where the silence ends in whole samples (at `end`, give or take one). */
  st.fill_to = (GstClockTime)((GstClockTimeDiff)end - time_jump(st, end));
  st.gap_sample = st.samples;
  publish_beats(self, &trans->segment, beats);
  while (front_is_ready(st)) {
    Held h = std::move(st.held.front());
    st.held.pop_front();
    h.events_before.push(GST_BASE_TRANSFORM_SRC_PAD(self));
    gst_pad_push(GST_BASE_TRANSFORM_SRC_PAD(self), release(h));
  }
  /* The events that came after the last held buffer, earlier GAPs among
   * them, go on once it has gone. */
  if (st.held.empty())
    st.pending_events.push(GST_BASE_TRANSFORM_SRC_PAD(self));
}

static GstFlowReturn push_held(GstMontageBeat *self)
{
  State &st = *self->state;
  GstFlowReturn ret = GST_FLOW_OK;
  while (!st.held.empty()) {
    Held h = std::move(st.held.front());
    st.held.pop_front();
    h.events_before.push(GST_BASE_TRANSFORM_SRC_PAD(self));
    if (ret == GST_FLOW_OK)
      ret = gst_pad_push(GST_BASE_TRANSFORM_SRC_PAD(self), release(h));
    else
      gst_buffer_unref(h.buf);
  }
  st.pending_events.push(GST_BASE_TRANSFORM_SRC_PAD(self));
  return ret;
}

/* Upstream's stream tags replace the last ones downstream, the BPM tag with
 * them: returns a tag event that keeps the tempo sent so far (`event`, or a
 * copy of it with GST_TAG_BEATS_PER_MINUTE). */
static GstEvent *with_bpm(GstMontageBeat *self, GstEvent *event)
{
  State &st = *self->state;
  GstTagList *tags = nullptr;
  gst_event_parse_tag(event, &tags);
  if (gst_tag_list_get_scope(tags) != GST_TAG_SCOPE_STREAM)
    return event;
  gst_tag_list_replace(&st.upstream_tags, tags);
  if (st.last_tag_bpm <= 0)
    return event;
  GstEvent *out = gst_event_new_tag(tags_with_bpm(tags, st.last_tag_bpm));
  gst_event_set_seqnum(out, gst_event_get_seqnum(event));
  gst_event_unref(event);
  return out;
}

static gboolean gst_montage_beat_sink_event(GstBaseTransform *trans, GstEvent *event)
{
  GstMontageBeat *self = GST_MONTAGE_BEAT(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_TAG)
    event = with_bpm(self, event);
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_STREAM_START:
    gst_clear_tag_list(&self->state->upstream_tags);
    self->state->stream_started = true;
    /* The audio held of the stream before goes out ahead of the new
     * stream's start (no more of that stream comes to release it; the
     * SEGMENT after resets), with the events behind it. */
    push_held(self);
    break;
  case GST_EVENT_FLUSH_STOP:
    self->state->summary_before_reset = false;
    reset_tracking(self);
    break;
  case GST_EVENT_EOS:
    if (!self->state->summarised &&
        !(self->state->samples == 0 && self->state->summary_before_reset))
      post_beats(self);
    /* A new stream after it (STREAM_START, SEGMENT, no flush) posts no
     * second summary of this audio. */
    self->state->summarised = true;
    push_held(self);
    break;
  case GST_EVENT_SEGMENT:
    /* The new segment resets the analysis (below) without a flush (a
     * non-flushing seek, an upstream that starts a new segment): the audio
     * analysed since the last summary gets its montage-beats first, as at
     * EOS, rather than being lost (a flush dropped it already, and no
     * audio is left). Audio of the old segment goes out before the new
     * segment event. */
    summarise_before_reset(self);
    push_held(self);
    self->state->segment_starts_stream = self->state->stream_started;
    self->state->stream_started = false;
    break;
  case GST_EVENT_SEGMENT_DONE:
    /* The end of a segment seek's segment: no EOS follows (a looping
     * application seeks again, and the next segment resets), so the
     * segment's montage-beats goes out here, as at EOS. No more audio may
     * come to release the held audio, so it goes out now too, as decoders
     * drain here. A SEGMENT_DONE with no audio since the last summary (a
     * repeated one) posts none: the whole-song pass would give the same
     * result again. */
    if (!self->state->summarised)
      post_beats(self);
    self->state->summarised = true;
    push_held(self);
    break;
  case GST_EVENT_CAPS: {
    /* Audio held under the old caps goes out before the new caps (a new
     * rate resets the tracking, in set_caps(): the audio analysed at the
     * old rate gets its summary first). */
    GstCaps *caps = nullptr,
            *current = gst_pad_get_current_caps(GST_BASE_TRANSFORM_SINK_PAD(trans));
    gst_event_parse_caps(event, &caps);
    GstAudioInfo next;
    if (self->state->have_info && gst_audio_info_from_caps(&next, caps) &&
        GST_AUDIO_INFO_RATE(&next) != GST_AUDIO_INFO_RATE(&self->state->info))
      summarise_before_reset(self);
    if (current && !gst_caps_is_equal(current, caps))
      push_held(self);
    if (current)
      gst_caps_unref(current);
    break;
  }
  case GST_EVENT_GAP:
    analyse_gap(self, event);
    [[fallthrough]];
  default:
    /* Any other serialized event (a GAP, tags, an application's own) keeps
     * its place behind the held audio. */
    if (GST_EVENT_IS_SERIALIZED(event) && events_must_wait(*self->state)) {
      self->state->pending_events.add(event);
      return TRUE;
    }
    break;
  }
  const bool segment = GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT;
  gboolean ret = GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
  if (segment)
    reset_tracking(self);
  return ret;
}

/* Raw audio that montagebeat cannot take was offered to its sink pad while
 * the stream runs: posts (once per start) a sentence that names the formats
 * taken and the fix. `event`: the caps are a CAPS event's, refused by its
 * accept-caps check. That refusal is final (upstream has chosen its format,
 * and its push fails with GStreamer's generic not-negotiated), so the
 * sentence is the error itself, the first on the bus. It was a warning
 * ahead of upstream's error, and gst-launch-1.0 1.22, which reads the first
 * error and flushes the bus, dropped it in some runs (trial h138).
 * Otherwise (an ACCEPT_CAPS query with no CAPS event behind it, or a caps
 * query whose filter, what upstream can give, holds nothing the sink
 * template takes) it is a warning: such a query is a probe, not a decision,
 * as an element that probes the formats downstream takes (an autoplugger,
 * a converter trying one format, then another) sends it on a link that
 * will work, and an error would stop its pipeline. Other media (an encoded
 * format), caps the template takes (refused downstream) and queries before
 * PAUSED (linking) post nothing. */
static void explain_refused_caps(GstMontageBeat *self, const GstCaps *caps, bool event)
{
  State &st = *self->state;
  if (!caps || gst_caps_is_empty(caps) || gst_caps_is_any(caps))
    return;
  for (guint i = 0; i < gst_caps_get_size(caps); i++)
    if (!gst_structure_has_name(gst_caps_get_structure(caps, i), "audio/x-raw"))
      return;
  /* Caps that the sink template takes were refused downstream: not ours to
   * explain. */
  GstCaps *ours = gst_pad_get_pad_template_caps(GST_BASE_TRANSFORM_SINK_PAD(self));
  const bool taken = gst_caps_can_intersect(caps, ours);
  gst_caps_unref(ours);
  if (taken)
    return;
  GST_OBJECT_LOCK(self);
  const bool running =
      GST_STATE(self) >= GST_STATE_PAUSED || GST_STATE_PENDING(self) >= GST_STATE_PAUSED;
  GST_OBJECT_UNLOCK(self);
  {
    std::lock_guard<std::mutex> guard(st.lock);
    if (!running || st.refused_caps_event || (!event && st.refused_caps))
      return;
    st.refused_caps = true;
    st.refused_caps_event = event;
  }
  const GstStructure *s = gst_caps_get_structure(caps, 0);
  std::string offered;
  for (const char *field : {"format", "layout", "rate"}) {
    const GValue *v = gst_structure_get_value(s, field);
    if (!v)
      continue;
    gchar *text = gst_value_serialize(v);
    offered += std::string(offered.empty() ? "" : ", ") + field + " " + (text ? text : "?");
    g_free(text);
  }
  gchar *hint = g_strdup_printf(
      "montagebeat takes interleaved S16LE, S32LE, F32LE or F64LE audio at 8-192 kHz, "
      "not this audio (%s): put audioconvert (and audioresample for the rate) before it.",
      offered.empty() ? "no format given" : offered.c_str());
  if (event)
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("%s", hint),
                      ("refused caps: %" GST_PTR_FORMAT, caps));
  else
    GST_ELEMENT_WARNING(self, CORE, NEGOTIATION, ("%s", hint),
                        ("refused caps: %" GST_PTR_FORMAT, caps));
  g_free(hint);
}

static gboolean gst_montage_beat_accept_caps(GstBaseTransform *trans, GstPadDirection direction,
                                             GstCaps *caps)
{
  const gboolean ret = GST_BASE_TRANSFORM_CLASS(parent_class)->accept_caps(trans, direction, caps);
  if (!ret && direction == GST_PAD_SINK)
    explain_refused_caps(GST_MONTAGE_BEAT(trans), caps,
                         montage::caps_event_sent(GST_BASE_TRANSFORM_SINK_PAD(trans), caps));
  return ret;
}

static gboolean gst_montage_beat_src_query(GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
  gboolean ret = GST_BASE_TRANSFORM_CLASS(parent_class)->query(trans, direction, query);
  if (ret && direction == GST_PAD_SINK && GST_QUERY_TYPE(query) == GST_QUERY_CAPS) {
    /* Upstream can give only audio that none of the sink caps take (the
     * filter is what it can give). */
    GstCaps *filter = nullptr, *result = nullptr;
    gst_query_parse_caps(query, &filter);
    gst_query_parse_caps_result(query, &result);
    if (filter && result && gst_caps_is_empty(result))
      explain_refused_caps(GST_MONTAGE_BEAT(trans), filter, false);
  }
  if (ret && direction == GST_PAD_SRC && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    State &st = *GST_MONTAGE_BEAT(trans)->state;
    GstClockTime delay;
    {
      std::lock_guard<std::mutex> guard(st.lock);
      delay = st.active_delay + HOP_SLACK + st.longest_buffer;
    }
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(query, &live, &min, &max);
    gst_query_set_latency(query, live, min + delay, GST_CLOCK_TIME_IS_VALID(max) ? max + delay : max);
  }
  return ret;
}

static gboolean gst_montage_beat_start(GstBaseTransform *trans)
{
  {
    State &st = *GST_MONTAGE_BEAT(trans)->state;
    std::lock_guard<std::mutex> guard(st.lock);
    st.longest_buffer = 0;
    st.warned_reverse = false;
    st.warned_range = false;
    st.min_bpm_kept = 0;
    st.max_bpm_kept = 0;
    st.summary_before_reset = false;
    st.refused_caps = false;
    st.refused_caps_event = false;
    st.discont_in = false;
    st.stream_started = false;
    st.segment_starts_stream = false;
  }
  return reset_tracking(GST_MONTAGE_BEAT(trans)) ? TRUE : FALSE;
}

static gboolean gst_montage_beat_stop(GstBaseTransform *trans)
{
  State &st = *GST_MONTAGE_BEAT(trans)->state;
  post_pending(GST_MONTAGE_BEAT(trans));
  st.tracker.reset();
  st.anchors.clear();
  drop_held(st);
  st.samples = 0;
  st.gap_sample = G_MAXUINT64;
  st.refilled = 0;
  st.last_beat = GST_CLOCK_TIME_NONE;
  st.have_info = false;
  gst_clear_tag_list(&st.upstream_tags);
  return TRUE;
}

static void gst_montage_beat_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  State &st = *GST_MONTAGE_BEAT(object)->state;
  if (prop_id != PROP_INTERVAL) {
    GST_OBJECT_LOCK(object);
    const GstState state = GST_STATE(object);
    GST_OBJECT_UNLOCK(object);
    if (state > GST_STATE_READY)
      GST_INFO_OBJECT(object, "%s set in %s: it applies from the next segment or flush",
                      pspec->name, gst_element_state_get_name(state));
  }
  std::lock_guard<std::mutex> guard(st.lock);
  switch (prop_id) {
  case PROP_MODE:
    st.mode = (GstMontageBeatMode)g_value_get_enum(value);
    break;
  case PROP_SILENCE_THRESHOLD:
    st.silence_threshold = g_value_get_double(value);
    break;
  case PROP_INTERVAL:
    st.interval = g_value_get_uint64(value);
    break;
  case PROP_LIVE_DELAY:
    st.live_delay = g_value_get_uint64(value);
    break;
  case PROP_MIN_BPM:
    st.min_bpm = g_value_get_double(value);
    break;
  case PROP_MAX_BPM:
    st.max_bpm = g_value_get_double(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_montage_beat_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  State &st = *GST_MONTAGE_BEAT(object)->state;
  std::lock_guard<std::mutex> guard(st.lock);
  switch (prop_id) {
  case PROP_MODE:
    g_value_set_enum(value, st.mode);
    break;
  case PROP_SILENCE_THRESHOLD:
    g_value_set_double(value, st.silence_threshold);
    break;
  case PROP_INTERVAL:
    g_value_set_uint64(value, st.interval);
    break;
  case PROP_LIVE_DELAY:
    g_value_set_uint64(value, st.live_delay);
    break;
  case PROP_MIN_BPM:
    g_value_set_double(value, st.min_bpm);
    break;
  case PROP_MAX_BPM:
    g_value_set_double(value, st.max_bpm);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_montage_beat_finalize(GObject *object)
{
  GstMontageBeat *self = GST_MONTAGE_BEAT(object);
  drop_held(*self->state);
  gst_clear_tag_list(&self->state->upstream_tags);
  for (GstMessage *m : self->state->pending)
    gst_message_unref(m);
  delete self->state;
  self->state = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_montage_beat_class_init(GstMontageBeatClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_montage_beat_debug, "montagebeat", 0, "montage beat tracker");

  gobject_class->set_property = gst_montage_beat_set_property;
  gobject_class->get_property = gst_montage_beat_get_property;
  gobject_class->finalize = gst_montage_beat_finalize;

  /* The analysis properties shape the analysis of the whole stream (the
   * tracker is made with them). They may be set in any state, hence
   * GST_PARAM_MUTABLE_PLAYING: a value set while PAUSED or PLAYING is kept
   * and takes effect at the next reset (a segment, a flush), never in the
   * middle of the tracking. `interval` only spaces the montage-energy
   * messages: it applies at once, as `level`'s does. */
  const GParamFlags rw =
      (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property(
      gobject_class, PROP_MODE,
      g_param_spec_enum(
          "mode", "Mode",
          "offline: also run a whole-song beat pass at EOS and post it in montage-beats; "
          "live: causal beats only, memory bounded for endless streams; auto: live when "
          "upstream is live (its latency query), offline otherwise (may be set in any state: a "
          "change while paused or playing applies from the next segment or flush)",
          GST_TYPE_MONTAGE_BEAT_MODE, DEFAULT_MODE, rw));
  g_object_class_install_property(
      gobject_class, PROP_SILENCE_THRESHOLD,
      g_param_spec_double(
          "silence-threshold", "Silence threshold",
          "Level in dBFS (RMS over 11.6 ms) under which audio counts as silence and gets "
          "no beats; also energy 0 in montage-energy (may be set in any state: a change while "
          "paused or playing applies from the next segment or flush; the default is "
          "removesilence's threshold)",
          -120.0, -1.0, DEFAULT_SILENCE_THRESHOLD, rw));
  g_object_class_install_property(
      gobject_class, PROP_INTERVAL,
      g_param_spec_uint64(
          "interval", "Interval",
          "Interval of time between montage-energy messages, in nanoseconds (a change "
          "applies at once, to the interval in progress); also the spacing of the energy "
          "curve in montage-beats, which keeps the value it had at the last segment, "
          "flush or start",
          10 * GST_MSECOND, G_MAXUINT64, DEFAULT_INTERVAL, rw));
  g_object_class_install_property(
      gobject_class, PROP_LIVE_DELAY,
      g_param_spec_uint64(
          "live-delay", "Live delay",
          "Audio that must follow a beat before it is posted, in nanoseconds; buffers are "
          "held this long so the beat meta lands on the right one (reported as latency, with "
          "two analysis hops and one input buffer; may be set in any state: a change while "
          "paused or playing applies from the next segment or flush; "
          "the default gave the best live F-measure on the benchmark's hard set, 100 ms-1 s all "
          "within 0.02)",
          100 * GST_MSECOND, 2 * GST_SECOND, DEFAULT_LIVE_DELAY, rw));
  g_object_class_install_property(
      gobject_class, PROP_MIN_BPM,
      g_param_spec_double(
          "min-bpm", "Minimum tempo",
          "Slowest tempo the tracker may choose, in beats per minute of the song (stream "
          "time, as bpm: at applied rates other than 1 the audio holds it that many times "
          "faster); below max-bpm (an empty range is an error at start; made empty while playing, "
          "the last range goes on, with a warning). Set a range of less than an octave around a "
          "known tempo "
          "to stop it reading half or twice that tempo (may be set in any state: a change "
          "while paused or playing applies from the next segment or flush)",
          montage::BeatTracker::kMinBpm, montage::BeatTracker::kMaxBpm,
          montage::BeatTracker::kMinBpm, rw));
  g_object_class_install_property(
      gobject_class, PROP_MAX_BPM,
      g_param_spec_double(
          "max-bpm", "Maximum tempo",
          "Fastest tempo the tracker may choose, in beats per minute of the song (stream "
          "time, as bpm); above min-bpm (may be set in any state: a change while paused or "
          "playing applies from the next segment or flush)",
          montage::BeatTracker::kMinBpm, montage::BeatTracker::kMaxBpm,
          montage::BeatTracker::kMaxBpm, rw));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Montage beat tracker", "Filter/Analyzer/Audio",
      "Finds beats, tempo, meter and energy; posts montage-beat per beat, montage-energy per interval "
      "and montage-beats at EOS, and puts a MontageBeatMeta on each buffer with a beat",
      "gst-montage developers");

  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_montage_beat_set_caps);
  trans_class->submit_input_buffer = GST_DEBUG_FUNCPTR(gst_montage_beat_submit_input_buffer);
  trans_class->generate_output = GST_DEBUG_FUNCPTR(gst_montage_beat_generate_output);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_montage_beat_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_montage_beat_src_query);
  trans_class->accept_caps = GST_DEBUG_FUNCPTR(gst_montage_beat_accept_caps);
  trans_class->start = GST_DEBUG_FUNCPTR(gst_montage_beat_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_montage_beat_stop);
  trans_class->passthrough_on_same_caps = TRUE;

  gst_type_mark_as_plugin_api(GST_TYPE_MONTAGE_BEAT_MODE, (GstPluginAPIFlags)0);
}

static void gst_montage_beat_init(GstMontageBeat *self)
{
  self->state = new State();
  gst_audio_info_init(&self->state->info);
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  GstPad *sink = GST_BASE_TRANSFORM_SINK_PAD(self);
  self->state->base_chain = GST_PAD_CHAINFUNC(sink);
  gst_pad_set_chain_function(sink, GST_DEBUG_FUNCPTR(gst_montage_beat_chain));
  montage_beat_meta_get_info();
}
