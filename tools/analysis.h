/* Analysis pipelines of the gst-montage-1.0 tool.
 *
 * The song is decoded with uridecodebin and run through montagebeat into a
 * fakesink, as fast as the machine allows; the results are taken from the
 * element's `montage-beats` message. Streams we do not analyse (a song's
 * cover art, a video track) go to their own fakesink so they never stall or
 * fail the pipeline. Clips are analysed by the library
 * (montage::analyse_clip_file(), clipanalysis.h), which runs its own
 * pipelines for the keyframe path.
 */
#pragma once

#include <gst/montage/beattracker.h>
#include <gst/montage/types.h>

#include <functional>
#include <string>
#include <vector>

namespace montage_tool {

/* What the analysis cache keys on besides the file: the analyser, the
 * version of its results (bump when a change to the element, the library
 * core or this file changes what comes out) and its parameters. */
constexpr const char *kSongAnalyser = "montagebeat";
/* 36: offline, a step of the tempo by 15 % or more starts a section with
 * its own bar phase (a section at a new tempo that starts a bar after half
 * a bar had its bars a beat or two off; beattracker.cpp tempo_steps()). */
/* 35: offline, a chroma that is noise (no pitched sound from 180 Hz up)
 * gives no chord-change cue to the meter: a drum-machine song's bar line
 * followed the noise (a beat late in 3/4; beattracker.cpp chroma_noise()). */
/* 34: offline beats across a speed-up follow the onsets, not the tempo
 * path's early change (up to 175 ms early before: beattracker.cpp
 * beat_path()). */
/* 33: a song of more than two channels analysed on the render's stereo
 * downmix (ITU-R BS.775, LFE dropped), not the equal-weight average of all
 * its channels (a 5.1 song's LFE moved its energy and sections). */
/* 32: the length the song's file states (SongAnalysis::stated_duration),
 * which entries of 31 and before lack, so a song cut short is said. */
/* 31: the song's length from its samples' count where the buffers' times
 * agree (a 3 s FLAC read 2.999999999 s: the last buffer's time and
 * duration each rounded down). */
/* 30: the sections' levels judged on the music only: a beatless stretch of
 * 2 s or more at either end (a silent intro) or a silent one between beats
 * is low and left out of the range (15 s of silence before a flat song made
 * it all high). */
/* 29: a lead-in whose stretch has a pulse keeps all its beats, so a quiet
 * intro keeps them band-limited, resampled, delayed or quieter too
 * (relax_song as AAC or at 8 kHz lost 0-10 s). */
/* 28: every time counted from the song's first decoded sample, not from
 * stream time 0 (an MPEG-TS or MPEG-PS song's beats were up to 0.7 s late
 * and its duration as much too long: combine_beat_summaries()' origin). */
/* 27: where the accents do not decide the bar line (meter confidence under
 * 0.25), a song that starts on a beat starts a bar there (hard-105,
 * slow_neasy_redfarn). */
/* 26: where the song's sound ends (SongAnalysis::sound_end), so a whole-song
 * edit can end with it, not after a silent tail; and with a tempo range
 * that halves the whole-range level, the beats the chords change on (they
 * were the onsets' off-beats: train_filled_with_cash at 60-120); 25: a stream's first hops capped
 * from its first sound, not its first sample (an MP3's encoder delay moved a short excerpt's phase
 * half a beat); 24: every montage-beats summary kept (combine_beat_summaries()): a song whose
 * sample rate changes mid-file had the tail's analysis only; and the energy curve from time 0 where
 * the audio starts later; 23: the last beat's energy measured over at least the beat before it's
 * length; 22: with a tempo range, the beat level from the whole-range path where it lies within the
 * range, and a pulse in even fifths regrouped; 21: the meter's confidence
 * (SongAnalysis::meter_confidence); 20: no beats where the onset envelope does not spread (a held
 * tone), and no read past the beats on a short input; 19: the first hops' flux capped at the song's
 * 99th percentile (excerpts); 18: whole-song transition tightness 800 (was 400); 17: the energy
 * curve on exact intervals of the input samples (was whole analysis hops), so sections change; 16:
 * an even pulse is not grouped in threes; 15: band levels compressed relative to the music's level;
 * 14: no beats where there is no pulse (offline); 13: sections of flat songs (low only when quiet)
 * and at steps; even clicks' tempo. */
constexpr const char *kSongAnalysisVersion = "36";
/* The song's tempo range (BPM), montagebeat's min-bpm and max-bpm (--tempo):
 * the whole 40-240 by default. */
struct TempoRange {
  double min_bpm = montage::BeatTracker::kMinBpm;
  double max_bpm = montage::BeatTracker::kMaxBpm;
  bool whole() const
  {
    return min_bpm <= montage::BeatTracker::kMinBpm && max_bpm >= montage::BeatTracker::kMaxBpm;
  }
};
/* A tempo with three decimals and a point whatever the locale (for a launch
 * line and a cache key). */
inline std::string bpm_text(double bpm)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  return g_ascii_formatd(buf, sizeof buf, "%.3f", bpm);
}
/* Every parameter of analyse_song() that changes its result, for the key:
 * "defaults" for the whole tempo range (as before the range existed, so
 * those entries stay valid), else "tempo=MIN-MAX". */
inline std::string song_analysis_params(const TempoRange &tempo)
{
  if (tempo.whole())
    return "defaults";
  return "tempo=" + bpm_text(tempo.min_bpm) + "-" + bpm_text(tempo.max_bpm);
}
constexpr const char *kClipAnalyser = "montagescene";
/* 8: full decoding keeps the shot before a cut on the last frame; 9: a shot
 * with no clean measured frame has no features; 10: the record holds the
 * analysis path (ClipAnalysis::analysis_path), raw H.264 is decoded in full;
 * 11: a cut one or two frames after a flash is found; 12: the keyframe
 * path measures features on full decoding's grid; 13: a cut on the second
 * frame after a one-frame flash is found; 14: a cut straight out of a pan
 * or a shake is found (camera-motion test); 15: the frame rate is measured
 * where the caps' is far too high (IVF's time base, clip_frame_rate()); 16:
 * that rate is the nearest common rate (15 took the first within 0.5 %: 24
 * fps read 24000/1001); 17: the keyframe path decodes runs from GOP starts
 * only and no longer gives up on x264's non-IDR I-frames (clips that went to
 * full decoding now take it, with keyframe-path features); 18: a cut to the
 * shot just cut away to (A B A B) is found; 19: full-range video (yuvj420p,
 * MJPEG) is no longer expanded a second time; 20: a flash or a cut away
 * and back is left out of the shot's features (motion, in-point); 21: a cut
 * must change the picture in BGR too (a dissolve out of grey is a dissolve);
 * 22: the keyframe path keeps a fade through black longer than a GOP as one
 * fade from the fade-out; 23: fades and dissolves run from their first
 * blended frame to their first clean frame, short ones are no cuts, and a
 * fade-in out of black is a fade; 24: blends of 2-3 frames are found as
 * blends (windows of 3 and 4 frames); 25: a one-frame insert straight into
 * a cut (A B C) is cut on B, not C; 26: a flat flash straight into a cut
 * is a cut when the picture after it is no return to the one before; 27:
 * sharpness from exact integer sums (the same value to about 1e-12); 28: a
 * flash or a short insert during fast camera motion is no cut (the return
 * is taken with the camera's motion taken out); 29: a shot cut on a one-frame
 * insert or a flash straight into a cut (A B C) has transition_end at C (its
 * first clean frame), so neither its in-point nor a segment starts on B; and a
 * cut out of a panning shot through a white or grey flash is no longer taken for
 * the flash's end where the picture after it does not match with the motion
 * taken out; 30: with adaptive, a cut followed one or two frames later by a
 * flash in the new shot (A C W C) is found (the flash's jump hid it); 31: a
 * shot cut on an insert or a flash (A B C) leaves B out of all its features;
 * 32: with adaptive, a cut through a two-frame flash or insert (A B B C) is
 * on B's first frame, not on C; 33: a clip that opens on one or two frames
 * of another picture (a black frame) has its first shot's transition_end
 * after them, and the keyframe path leaves a cut shot's frames before its
 * transition_end out of all its features; 34: the length the container
 * states (ClipAnalysis::stated_duration), which entries of 33 and before
 * lack (they are analysed again); 35: on the keyframe path a shot cut on a
 * flash in the middle of a clip starts clean after it, and footage on twos
 * is not cut by the two-frame insert rule; 36: a frame stamped no later
 * than the one before it is analysed one frame after it, as render shows
 * it, not skipped (Megamind.avi: 82 of 270 frames); 37: the keyframe path
 * leaves flashes and cuts away and back out of a shot's features, as full
 * decoding does; 38: a clip whose frames do not keep its caps' rate is
 * variable, fps 0/1 (frame_spacing_varies()); 39: video decoded by an image
 * decoder (Motion JPEG) says it is decoded in full as every frame is a
 * keyframe, where entries of 38 said no decoder could be probed; 40: an
 * MPEG transport stream is decoded in full without a seek (entries of 39
 * from the keyframe path timed an ffmpeg-written one's cuts 0.7 s early or
 * missed them), a montage's I-frames that start no GOP are refined, and
 * MPEG-4 Part 2 with B-frames in AVI is stamped by its decode order and
 * decoded in full (entries of 39 put its cuts two frames early); 41: MPEG-4
 * Part 2 in AVI without a B-VOP, and DivX 3 (vtest.avi), take the keyframe
 * path again (entries of 40 decoded them in full: the same cuts, other
 * features for shots the keyframe path decodes in part); 42: VP8/VP9 with an
 * alpha channel (codec-alpha=true) is decoded in full (an entry of 41 that
 * the keyframe path read, where it did not stall, such as a clip of one GOP,
 * names that path and may have its features), and a keyframe path that
 * stalls after its preroll gives way to full decoding (such clips failed,
 * and failures are not cached); 43: the last GOP of H.264 with
 * non-reference pictures is decoded from its reference pictures alone where
 * they show no change (ClipAnalyseOptions::tail_references_only: the same
 * cuts; a last shot's features from fewer frames) */
constexpr const char *kClipAnalysisVersion = "43";
/* Every parameter of analyse_clip() that changes its result, for the key. */
std::string clip_analysis_params(bool full_decode);

/* Called from the analysing thread with the stream position reached and the
 * duration when known (GST_CLOCK_TIME_NONE otherwise), both ns. */
using ProgressFunc = std::function<void(GstClockTime position, GstClockTime duration)>;

/* Registers montagebeat and montagescene in this process so the tool works
 * from a build tree without GST_PLUGIN_PATH. Call once after gst_init(). */
void register_elements();

/* One `montage-beats` summary of montagebeat, for combine_beat_summaries(). */
struct BeatSummary {
  const GstStructure *structure = nullptr; /* montage-beats */
  /* The segment its audio came in, to map its buffer times to stream time
   * (a chained Ogg's next chain restarts its timestamps at 0 in a segment
   * whose `time` is where the chain starts in the song); nullptr, or one
   * not in GST_FORMAT_TIME: its times are the song's already. */
  const GstSegment *segment = nullptr;
};

/* Repairs what reached `sink` (the analysis chain's sink pad) from the pad
 * linked to it: where the source behind it (its peer, ghost pads' targets
 * followed down to the pad that pushes the data, e.g. the decoder's) holds
 * a STREAM_START, CAPS or SEGMENT event that `sink` does not, sends the
 * source's three, in that order, into `sink` and returns true (and logs a
 * warning); otherwise does nothing and returns false (also unlinked).
 * Events equal in content count as delivered. Called from a buffer probe
 * on `sink`, in the streaming thread, before each buffer (the source
 * pushes through ghost pads only, so its events are those of that buffer),
 * so montagebeat never analyses a buffer under another stream's caps or
 * segment. A guard for a chained Ogg's next chain: decodebin2 (GStreamer
 * 1.22) exposes its pad, and the tool links it, while the decoder's
 * streaming thread is pushing the chain's first sticky events through
 * ghost pads that are being linked and activated; the CI once logged
 * "Sticky event misordering, got 'caps' before 'stream-start'" on such a
 * proxypad with part of the song's beats lost. */
bool resend_missing_sticky_events(GstPad *sink);

/* Combines the `montage-beats` summaries that montagebeat posted for one
 * song into `out`. The element posts one per stretch of audio between its
 * resets (docs/montagebeat.md, "Resets and time": a new sample rate
 * mid-stream, as in an MP3 joined from 44.1 and 48 kHz parts; a new
 * segment without a flush; the stream's time going back; a chained Ogg's
 * next chain), each with the beats, energy and sections of that stretch
 * alone, in buffer time; each is taken to stream time (the song's time)
 * through its BeatSummary::segment. Summaries may come in any order; others
 * than `montage-beats` are skipped.
 *
 * One summary is taken as it is. Several are laid out in time order, each
 * stretch starting at its first section's start (its first sample); time
 * that two stretches cover (the stream went back) keeps the earlier
 * stretch's analysis. Then:
 *  - beats, per-beat energy, downbeats: each stretch's within its part, in
 *    order; of two beats less than half the later stretch's median beat
 *    period apart across a join, the one with the higher `beat-confidence`
 *    stays (the earlier on a tie; a stretch's last beat can be one the
 *    tracker carried past the last onset). Each stretch scales its
 *    energies to its own loudest beat interval; they are rescaled to the
 *    loudest of the song, that interval's level read from the stretch's
 *    energy curve (montagebeat's default silence-threshold, -60 dBFS);
 *  - bpm: montage::bpm_from_beats() of all the beats (stream time, so the
 *    song's own tempo, as the element's), as the element fits each
 *    stretch's; confidence: the median of every kept beat's
 *    `beat-confidence`, as the element takes it (else the beat-weighted
 *    mean of the stretches');
 *  - beats_per_bar: that of the stretch that gives the most beats;
 *    meter_confidence: the beat-weighted mean of the stretches', a stretch
 *    with another meter or none counting 0;
 *  - energy_curve: from time 0 (SongAnalysis' time base; a stretch's runs
 *    from its first sample) at the first stretch's energy_interval, each
 *    interval from the stretch interval holding its middle, 0 (silence)
 *    where no stretch measured it (before the audio starts); so also with
 *    one summary whose audio starts after 0;
 *  - sections: each stretch's, clipped to its part, back to back, runs at
 *    one level joined; their levels stay thirds of each stretch's own range;
 *  - duration: the end of the last stretch (start + its `duration`);
 *  - sound_end: where the sound ends, the end of the last interval of a
 *    stretch's `energy-curve` above 0 (louder than the element's
 *    silence-threshold: -60 dBFS, its default, which the tool keeps) within
 *    the part that stretch gives, clipped to that part and to the
 *    stretch's end (its last interval is partial), the latest of the
 *    parts: exact to the stretch's energy intervals (100 ms), in stream
 *    time; 0 when no interval is louder, GST_CLOCK_TIME_NONE when no
 *    stretch has an energy curve.
 * Last, every time is counted from `origin` (stream time, ns,
 * GST_CLOCK_TIME_NONE taken as 0): beats, sections, duration and
 * sound_end have `origin` taken off (a beat before it is dropped, a
 * section clipped to it) and the energy curve runs from it, so `origin`
 * is SongAnalysis' time 0. analyse_song() gives the stream time of the
 * song's first decoded sample (the song's time origin, docs/render.md).
 * uri is left as it is. Returns false, with `out`'s analysis cleared, when
 * `summaries` holds no `montage-beats`. */
bool combine_beat_summaries(const std::vector<BeatSummary> &summaries, montage::SongAnalysis &out,
                            GstClockTime origin = 0);

/* A song decoded to less than the length its file states, by at least
 * kCutShortBy and to under kCutShortPart of it: a file cut short (a
 * truncated download: head -c 500000 of an 82.33 s FLAC decodes 5.43 s).
 * The margins leave out a stated length that is an estimate (an MP3
 * without a header, estimated from its bitrate, can be a few % off). False
 * when either length is unknown. The tool warns of it. */
constexpr GstClockTime kCutShortBy = GST_SECOND;
constexpr double kCutShortPart = 0.9;
bool song_cut_short(const montage::SongAnalysis &song);

/* Beat analysis of the audio file `path` (any container/codec GStreamer
 * decodes). Fills `out` (uri, duration, stated_duration, beats,
 * beat_energy, bpm, confidence, meter, energy curve, sections, sound_end)
 * from every `montage-beats` summary of the song, combined by
 * combine_beat_summaries(); duration is the decoded stream's end (an ADTS
 * file's from its frame index): the samples' count where it agrees with
 * the buffers' times within 1 us (exact, each rate's run to the nearest
 * ns), else the last buffer's end; sound_end at most that.
 * stated_duration is the duration query's answer upstream of the analysis
 * at its first buffer (the parser's or demuxer's, from the header: a
 * truncated FLAC still states its whole length). A song of more than two
 * channels is analysed on the stereo downmix the render plays
 * (downmix-private.h render_detail::downmix_to_stereo(): ITU-R BS.775, LFE
 * dropped), which montagebeat averages. Every time counts from the song's first decoded
 * sample, as the render plays the song and as a video editor shows the file,
 * whatever stream time the demuxer gives that sample (tsdemux and
 * mpegpsdemux count from the first PCR/SCR, 0.7 s before the first sample
 * in ffmpeg's files): docs/render.md, "The song's time".
 * Returns false with `error` set when the file cannot be read or decoded,
 * has no audio stream, makes no progress for `stall_timeout` ns, or has no
 * detectable beats (error code GST_STREAM_ERROR_FAILED). */
bool analyse_song(const std::string &path, montage::SongAnalysis &out, GError **error,
                  const ProgressFunc &progress = {}, GstClockTime stall_timeout = 30 * GST_SECOND,
                  const TempoRange &tempo = {});

/* Shot analysis of the video file `path` with the library's
 * montage::analyse_clip_file() (clipanalysis.h): the keyframe path by
 * default, every frame with `full_decode`. Fills `out` (path, uri, duration,
 * frame rate, size, cuts, shots with transitions and features, the
 * analysis path taken). Returns false with `error` set to a sentence when
 * the file does not exist, is not a media file, has no video stream, is
 * corrupt (a decoding error at any point), or stalls for `stall_timeout`
 * ns. */
bool analyse_clip(const std::string &path, montage::ClipAnalysis &out, GError **error,
                  const ProgressFunc &progress = {}, GstClockTime stall_timeout = 30 * GST_SECOND,
                  bool full_decode = false);

} // namespace montage_tool
