/* gst-montage: make an MP4's AAC track skip its encoder's priming samples.
 *
 * An AAC encoder puts "priming" samples in front of the signal: the decoder's
 * first output samples come before the first input sample (the encoder's
 * look-ahead and the MDCT's overlap). A player learns how many to drop only
 * from the container: in MP4 (ISO/IEC 14496-12, 8.6.6) the sound track's edit
 * list says from which media time on the track is shown, and FFmpeg's own
 * muxer writes media_time 1024 for its encoder's 1024 samples.
 *
 * GStreamer 1.22's mp4mux writes media_time 0 whatever the encoder did, and
 * offers no way to tell it otherwise (it ignores GstAudioClippingMeta, and
 * shifting the audio's timestamps is undone by its ctts), and voaacenc and
 * avenc_aac do not signal their priming. Players (FFmpeg, GStreamer's
 * qtdemux ! avdec_aac, Chrome) therefore play the audio of every file
 * rendered here late by the priming, 21-33 ms at 48 kHz: a montage's cuts
 * show about one frame before the beat they are on.
 *
 * The fix, done once the muxer has finished and closed the file: the sound
 * track's edit that shows its media (the last edit; an empty edit may come
 * first when the audio starts after the picture) gets media_time = the
 * priming and a segment_duration of the rest of the media (in the movie
 * timescale, rounded down as mp4mux rounds it); the track's (tkhd) and the
 * movie's (mvhd) durations follow. Only those numbers of the moov box are
 * rewritten, in place: the file keeps its size and every offset in it.
 * Measured on files written by mp4mux (appsrc ! voaacenc|avenc_aac ! aacparse
 * ! mp4mux): the audio is then where its timestamps put it within one sample
 * with FFmpeg and with qtdemux ! aacparse ! avdec_aac, also when the track
 * starts with an empty edit (docs/render.md, "Audio priming").
 *
 * The end needs the same care. voaacenc gives out only whole 1024-sample
 * frames of what it took and, at EOS, neither encodes the last partial
 * frame nor gives out the 1600 samples its delay holds back (gst-plugins-bad
 * 1.22 voaacenc.c discards its "remnants" and has no drain): the file's
 * sound ended up to 2623 samples (55 ms at 48 kHz) before the stream did.
 * avenc_aac encodes a last partial frame and drains its delay (measured: N
 * samples in, N + 1024 out). aac_encoder_keep_end() gives an encoder enough
 * silence after the stream's last sample that every sample comes out, and
 * counts the stream's samples; mp4_skip_audio_priming() then makes the edit
 * show exactly that many, so that players stop at the stream's last sample
 * and never play the silence. Two players do not quite (measured,
 * docs/render.md "The song's end"): FFmpeg 5 trims an edit's end to whole
 * packets (it plays up to 1023 samples of the silence), and qtdemux 1.22
 * stops a track at the movie's duration counted in the track's media time,
 * so it leaves out up to the priming at the end.
 *
 * Nothing here aborts or throws; failures return false with a GError.
 */
#pragma once

#include <glib.h>
#include <gst/gst.h>

#include <atomic>
#include <memory>
#include <string>

namespace montage
{

#define MONTAGE_MP4_ERROR (montage::mp4_error_quark())
GQuark mp4_error_quark();

enum class Mp4Error {
  kIo = 1,     /* the file cannot be opened, read or written */
  kNotMp4,     /* no ftyp box first, or a box whose size runs past the file's end
                  (a truncated file), or no moov box */
  kUnexpected, /* an MP4, but not as mp4mux writes it: no or several sound tracks,
                  a track that is not AAC, no edit list, an edit that already
                  skips samples or is not played at rate 1, a fragmented file,
                  a track shorter than the priming */
};

/* The priming, in samples at the stream's sample rate, that the AAC encoder
 * made from element factory `factory` puts in front of the signal; 0 when
 * it is not known (an unknown encoder, or NULL).
 *
 * Measured with GStreamer 1.22 (appsrc ! ENCODER ! aacparse ! mp4mux at
 * 48 kHz, stereo, several bitrates; a click's position in the decoded file
 * against its input position, decoded with FFmpeg and with avdec_aac):
 *   voaacenc  1600 (33.3 ms at 48 kHz)
 *   avenc_aac 1024 (21.3 ms at 48 kHz; FFmpeg's encoder, as its muxer says)
 * The numbers do not depend on the bitrate. */
guint aac_encoder_priming(const char *factory);

/* How many samples of silence the AAC encoder made from element factory
 * `factory` must be given after a stream of `samples` samples (per
 * channel) so that every sample of the stream comes out of it: enough that
 * its input ends on a 1024-sample frame boundary at or after `samples` +
 * aac_encoder_priming(factory), which voaacenc needs (it encodes whole
 * frames only and keeps its delay at EOS) and avenc_aac (which drains
 * itself) takes no harm from. Between priming and priming + 1023; 0 for an
 * encoder whose priming is not known (its file is not patched either). */
guint64 aac_encoder_tail(const char *factory, guint64 samples);

/* What an AAC encoder was given, counted by aac_encoder_keep_end(). Written
 * from the encoder's streaming thread; read it once the stream has ended. */
struct AacEncoderInput {
  /* Samples per channel of the stream, the silence added at its end not
   * counted (counting restarts at a flush). */
  std::atomic<guint64> samples{0};
  /* Samples of silence given to the encoder before its EOS (0 until then). */
  std::atomic<guint64> silence{0};
};

/* Makes the AAC encoder `encoder` (an instance of a factory that
 * aac_encoder_priming() knows; raw audio in, interleaved or not) encode
 * every sample of its stream: a probe on its sink pad counts the samples
 * it takes and, when EOS reaches it, first gives it aac_encoder_tail()
 * samples of silence (untimestamped, so that no segment clips them: they
 * follow the stream's last sample), then lets the EOS through. The file
 * then holds sound after the stream's end, which mp4_skip_audio_priming()
 * given the counted samples hides. A SEGMENT with a stop is passed on
 * open-ended (stop NONE): frames past a demuxer's stop at the stream's
 * last sample, those that hold the silence, were left out by the muxer.
 * Call before the encoder takes data
 * (from a bin's "deep-element-added" handler, say). Returns the counts, kept
 * alive as long as the probe; NULL (nothing done) when `encoder` has no
 * "sink" pad. */
std::shared_ptr<const AacEncoderInput> aac_encoder_keep_end(GstElement *encoder);

/* Makes the sound track of the finished, closed MP4 file at `path` skip
 * `priming_samples` samples (at the track's sample rate) at its start, as
 * described above, by rewriting its moov box in place. With
 * `shown_samples` > 0 the edit shows exactly that many samples after the
 * priming (the stream that was encoded, without the silence
 * aac_encoder_keep_end() added): its segment_duration is
 * `shown_samples` in the movie timescale, rounded to the nearest tick (exact
 * where the movie timescale is a multiple of the sample rate: set mp4mux's
 * "movie-timescale" to the rate; its default of 1800 ticks a second rounds
 * to 13 samples at 48 kHz). With 0 it shows all the media after the
 * priming, rounded down.
 *
 * The file must be as mp4mux writes it: an ftyp box first, one moov box
 * (before or after the media data, not fragmented), exactly one sound track
 * ('soun' handler) whose sample entry is 'mp4a' with a sample rate equal to
 * its media timescale, and an edit list for it whose edits are empty edits
 * (media_time -1) followed by one last edit with media_time 0 at rate 1
 * that shows the whole media (its length within one tick of the movie
 * timescale), which must be longer than the priming, and hold at least
 * `priming_samples` + `shown_samples` samples. Anything else is refused before one byte is
 * written (MONTAGE_MP4_ERROR, Mp4Error codes above, with a message naming
 * the file and what was found), so a file this cannot understand is left
 * as it was. Applying it twice is refused too (the edit no longer starts at
 * media time 0). A failed write (kIo) may leave the moov partly written.
 *
 * `priming_samples` 0 does nothing and returns true (the file is not even
 * opened). Returns true when the file was changed or nothing was to do. */
bool mp4_skip_audio_priming(const std::string &path, guint priming_samples, GError **error,
                            guint64 shown_samples = 0);

/* What the render paths call once the MP4 at `path` is finished and closed:
 * looks up the priming of the AAC encoder factory `aac_factory`
 * (aac_encoder_priming()) and applies mp4_skip_audio_priming() with
 * `shown_samples` (0: all the media after the priming). When the file holds
 * fewer than `shown_samples` after the priming, the priming is still skipped
 * and all the rest shown, with the short end said in `note`. A failure
 * does not fail the render: it is logged at GST_WARNING level and, when
 * `note` is given, said in it as a sentence for the user naming the file
 * and how late its audio may be (a GLib warning would abort a host run with
 * fatal warnings). An unknown encoder (priming 0) leaves the file as it is,
 * logged at GST_WARNING level. Returns whether the file now skips the
 * priming. */
bool mp4_fix_audio_priming(const std::string &path, const char *aac_factory,
                           std::string *note = nullptr, guint64 shown_samples = 0);

/* Whether the MP4/QuickTime file at `path` (a local file name) has its
 * media data (a top-level 'mdat' box) but no index (no top-level 'moov'
 * box): what a recording cut short, or a copy that stopped before the end,
 * looks like when the muxer writes the index last. Walks the top-level
 * boxes (ISO/IEC 14496-12 4.2: a 32-bit big-endian size and the type, a
 * 64-bit size after them when the size is 1, to the end of the file when it
 * is 0), at most 4096 of them. False when the file cannot be read or a box
 * header is not one (not such a file). */
bool mp4_lacks_index(const std::string &path);

} // namespace montage
