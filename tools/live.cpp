/* tools/live.cpp: gst-montage-1.0 --live.
 *
 * Every clip plays at once, in real time (clocksync after each decoder), into
 * montageselect, which cuts between them on the beats montagebeat (live mode)
 * finds in the song; the song is the soundtrack. The result is encoded with
 * the best working H.264 encoder and AAC into MP4, written under a temporary
 * name and renamed when complete. This is the live path run on files: what a
 * multi-camera rig would do with cameras instead of clips (docs/montageselect.md).
 *
 *   clip i: uridecodebin ! videoconvert ! deinterlace ! videoflip ! videoscale ! videorate
 *           ! I420 WxH at the output rate
 *           ! clocksync ! montagescene ! queue ! montageselect.sink_i
 *   song:   uridecodebin ! audioconvert ! audioresample ! queue (min_gap + 1 s read-ahead)
 *           ! clocksync ! montagebeat mode=live
 *           ! tee ! queue ! montageselect.beat
 *                 tee ! queue ! audioconvert ! audioresample ! 48 kHz ! voaacenc|avenc_aac
 *                 ! mp4mux
 *   montageselect ! videoconvert ! H.264 encoder ! h264parse ! mp4mux ! filesink
 *
 * Each input is first looked at with GstDiscoverer (in push mode:
 * push_mode_only()): a clip with no video stream (or no file, or a corrupt
 * one) is reported and left out, as the planned path does, and a song with
 * no audio stream is an error; either would otherwise end or fail the whole
 * mix. A -d past the song's length is warned of, as the planned path does. With -d the mix ends at
 * that running time of the song: the audio is cut at its sample, video frames from there on are
 * dropped (pad probes, on the mix and on each clip before the mixer), and every branch is sent EOS;
 * a song that ends sooner (or without -d) ends the mix the same way at its last sample, and clips
 * that all end sooner end it with their last picture, the sound cut there (on_branch_eos()). Less
 * than the style's min_gap before the end the inputs' lengths foretell (-d, the song's as
 * discovered, the clips' as their demuxers give them once they play, lowered to where the song's
 * sound actually ends once its read-ahead meets that: Live::planned_end), montageselect switches on
 * no more beats (its beat-switch-until), and a switch to another clip there (the one on air
 * ended) ends the mix instead (on_switch_posted()). Ctrl-C (SIGINT) or SIGTERM ends
 * the mix where it is, as gst-launch-1.0 -e does: the running time it came
 * at becomes the end, as -d's does, every branch is sent EOS and the file is
 * finished and kept (exit 0);
 * a second one abandons it (no file, exit 128 + the signal's number).
 * A signal the tool was started with ignored stays ignored.
 */
#include "live.h"
#include "text.h"

#include "gstmontageselect.h"

#include <glib-unix.h>
#include <gst/audio/audio.h>
#include <gst/montage/clipanalysis.h>
#include <gst/montage/encoder.h>
#include <gst/montage/mp4priming.h>
#include <gst/montage/style.h>
#include <gst/pbutils/pbutils.h>

#include <algorithm>
#include <csignal>

#include <glib/gstdio.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace
{

/* How late a clip's branch may deliver a frame before montageselect decides
 * that frame without it (its aggregator `latency`, ns). Half a second: the
 * mix goes to a file, so the delay it adds costs nothing, and it covers a
 * busy machine's scheduling stalls, which were seen to take a clip off air
 * for a few frames mid-mix (input-lost, then a beat switch back). */
constexpr GstClockTime kClipSlack = 500 * GST_MSECOND;

/* How far the song is decoded ahead of where it plays, beyond the style's
 * min_gap (ns): its read-ahead queue before the clocksync holds min_gap
 * plus this, so that where its sound actually ends is known (at its
 * decoder's EOS, on_song_decoded()) more than min_gap before the mix gets
 * there: one second covers montageselect's latency (kClipSlack) and the
 * frames in flight. */
constexpr GstClockTime kSongReadAhead = GST_SECOND;

/* The sound's sample rate in the file (Hz), the planned render's. */
constexpr gint kSoundRate = 48000;

struct Live;

/* Links a decoder's new pad to `target` (a sink pad) when its caps start with
 * `media`, once; other streams go to a fakesink so they never stall. */
struct Branch {
  GstElement *pipeline = nullptr;
  GstPad *target = nullptr; /* ref */
  /* Where the tool's EOS enters the branch (end_stream()), ref: `target`,
   * or for the song the clocksync after its read-ahead queue. */
  GstPad *entry = nullptr;
  const char *media = "video/";
  bool linked = false;
  /* A clip's branch: its length is reported (clip_length_known()) when its
   * video pad is linked, or NONE when it has none. */
  Live *clip_of = nullptr;
};

void clip_length_known(Live *live, GstClockTime length);

void on_pad_added(GstElement *, GstPad *pad, gpointer data)
{
  Branch *b = static_cast<Branch *>(data);
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, NULL);
  const gchar *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  const bool wanted = !b->linked && g_str_has_prefix(name, b->media);
  gst_caps_unref(caps);
  if (wanted && gst_pad_link(pad, b->target) == GST_PAD_LINK_OK) {
    b->linked = true;
    if (b->clip_of) {
      /* In pull mode (a file) the demuxer knows its length by now. */
      gint64 length = -1;
      clip_length_known(b->clip_of,
                        gst_pad_query_duration(pad, GST_FORMAT_TIME, &length) && length > 0
                            ? (GstClockTime)length
                            : GST_CLOCK_TIME_NONE);
    }
    return;
  }
  GstElement *sink = gst_element_factory_make("fakesink", NULL);
  g_object_set(sink, "sync", FALSE, NULL);
  gst_bin_add(GST_BIN(b->pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
}

/* A clip or song with no stream of the wanted kind ends its branch at once,
 * so the mixer does not wait for it. */
void on_no_more_pads(GstElement *, gpointer data)
{
  Branch *b = static_cast<Branch *>(data);
  if (!b->linked) {
    if (b->clip_of)
      clip_length_known(b->clip_of, GST_CLOCK_TIME_NONE);
    gst_pad_send_event(b->target, gst_event_new_eos());
  }
}

GstElement *make(const char *factory, GstElement *bin, GError **error)
{
  GstElement *e = gst_element_factory_make(factory, NULL);
  if (!e) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                "the GStreamer element %s is missing: run scripts/setup.sh", factory);
    return nullptr;
  }
  gst_bin_add(GST_BIN(bin), e);
  return e;
}

std::string to_uri(const std::string &path)
{
  if (gst_uri_is_valid(path.c_str()))
    return path;
  gchar *uri = gst_filename_to_uri(path.c_str(), NULL);
  std::string out = uri ? uri : "";
  g_free(uri);
  return out;
}

struct Live {
  GMainLoop *loop = nullptr;
  GstElement *pipeline = nullptr;
  bool quiet = false;
  bool failed = false;
  bool ending = false;
  std::atomic<bool> end_asked{false}; /* end_stream_soon() has scheduled end_stream() */
  std::string error;
  int interrupts = 0; /* SIGINT and SIGTERM received */
  int abandoned = 0;  /* the signal that abandoned the mix; 0: none */
  guint switches = 0;
  guint beats = 0; /* montagebeat's montage-beat messages */
  /* Running time the mix ends at: -d, or where the first interrupt came;
   * NONE: at the song's end. Read by the pad probes on streaming threads. */
  std::atomic<GstClockTime> end{GST_CLOCK_TIME_NONE};
  /* Running time where the song's sound so far ends (after montagebeat):
   * at its EOS, the mix's end when that is sooner. */
  std::atomic<GstClockTime> song_end{GST_CLOCK_TIME_NONE};
  /* Where the mix is going to end as far as is known (running time): the
   * soonest of -d, the song's length (as GstDiscoverer gives it), the
   * longest clip's (as its demuxer gives it once its branch is linked,
   * clip_length_known()), and where the song's sound actually ends, known
   * kSongReadAhead + min_gap before the mix gets there (on_song_decoded());
   * NONE where none is known. Only lowered (lower_planned_end(), which
   * keeps montageselect's beat-switch-until at it less min_gap). A switch
   * less than `min_gap` before it ends the mix there (on_switch_posted()). */
  std::atomic<GstClockTime> planned_end{GST_CLOCK_TIME_NONE};
  std::mutex planned_lock;      /* held while lowering planned_end and beat-switch-until */
  GstElement *select = nullptr; /* montageselect (the pipeline's) */
  /* Clips whose length is not reported yet, and the longest reported
   * (NONE: one was not known); under lengths_lock. */
  std::mutex lengths_lock;
  size_t lengths_due = 0;
  GstClockTime longest_clip = 0;
  /* End (running time) of the song's sound decoded so far, before its
   * read-ahead queue. */
  std::atomic<GstClockTime> song_decoded{GST_CLOCK_TIME_NONE};
  /* The style's montage::StylePacing::min_gap (ns): the planned path's
   * shortest segment, and montageselect's shortest time between its beat
   * switches. */
  GstClockTime min_gap = 0;
  /* End (running time) of the last frame of the mix that reached the
   * encoder; NONE before the first. */
  std::atomic<GstClockTime> video_end{GST_CLOCK_TIME_NONE};
  /* The clips ran out before anything else ended the mix (-d, the song's
   * end, an interrupt): the mix ends with their last picture. */
  std::atomic<bool> clips_ran_out{false};
  /* A switch that came less than min_gap before planned_end ended the mix
   * at its running time (NONE: none did). */
  std::atomic<GstClockTime> late_switch{GST_CLOCK_TIME_NONE};
  /* What the AAC encoder was given (montage::aac_encoder_keep_end()). */
  std::shared_ptr<const montage::AacEncoderInput> aac_input;
  /* Frames of the mix that went to the encoder (after the end's probe). */
  std::atomic<guint64> mixed_frames{0};
  std::vector<GstPad *> entries; /* each branch's Branch::entry (borrowed from the branches) */
  /* montageselect's pad name -> the clip it plays, as the user gave it. */
  std::map<std::string, std::string> clip_of_pad;
};

/* The clip playing into montageselect's pad `pad` (a montage-switch
 * message's previous-pad or new-pad), as the user named it; "-" for none
 * (the first switch's previous-pad is ""), the pad name for a pad the mix
 * does not know. */
std::string clip_name(const Live *live, const gchar *pad)
{
  if (!pad || !*pad)
    return "-";
  auto it = live->clip_of_pad.find(pad);
  return it != live->clip_of_pad.end() ? it->second : std::string(pad);
}

/* Makes `t` the mix's end (Live::end) when it is sooner than the end set
 * so far; from any thread. */
void lower_end(Live *live, GstClockTime t)
{
  GstClockTime end = live->end.load();
  while (GST_CLOCK_TIME_IS_VALID(t) && (!GST_CLOCK_TIME_IS_VALID(end) || t < end) &&
         !live->end.compare_exchange_weak(end, t))
    ;
}

/* Makes `t` the planned end (Live::planned_end) when it is sooner than the
 * one known so far, and montageselect's beat-switch-until `t` less min_gap
 * (0 when t is shorter): no beat switch leaves a last shot shorter than
 * the style's shortest. From any thread. */
void lower_planned_end(Live *live, GstClockTime t)
{
  std::lock_guard<std::mutex> guard(live->planned_lock);
  const GstClockTime planned = live->planned_end.load();
  if (!GST_CLOCK_TIME_IS_VALID(t) || (GST_CLOCK_TIME_IS_VALID(planned) && t >= planned))
    return;
  live->planned_end.store(t);
  if (live->select)
    g_object_set(live->select, "beat-switch-until",
                 (guint64)(t > live->min_gap ? t - live->min_gap : 0), NULL);
}

/* A clip's length (NONE: not known), from its branch once its video pad is
 * linked (on_pad_added(), on_no_more_pads()); with the last clip's, the
 * longest becomes the planned end when sooner. Before, a second
 * GstDiscoverer (in pull mode) was run on every clip for its length before
 * the mix started. */
void clip_length_known(Live *live, GstClockTime length)
{
  GstClockTime longest = GST_CLOCK_TIME_NONE;
  {
    std::lock_guard<std::mutex> guard(live->lengths_lock);
    if (live->lengths_due == 0)
      return;
    live->longest_clip =
        GST_CLOCK_TIME_IS_VALID(length) && GST_CLOCK_TIME_IS_VALID(live->longest_clip)
            ? std::max(live->longest_clip, length)
            : GST_CLOCK_TIME_NONE;
    if (--live->lengths_due > 0)
      return;
    longest = live->longest_clip;
  }
  if (GST_CLOCK_TIME_IS_VALID(longest) && longest > 0)
    lower_planned_end(live, longest);
}

void end_stream(Live *live)
{
  live->end_asked.store(true); /* the mix is ended by the tool, not by its clips */
  if (live->ending)
    return;
  live->ending = true;
  /* Into each branch after its decoder: demuxers in pull mode ignore an EOS
   * sent to their source. The decoders see EOS returned and stop. */
  for (GstPad *pad : live->entries)
    gst_pad_send_event(pad, gst_event_new_eos());
}

/* end_stream() from the main loop (a pad probe runs on a streaming thread),
 * scheduled once however many buffers and EOS events ask for it. */
void end_stream_soon(Live *live)
{
  if (live->end_asked.exchange(true))
    return;
  g_idle_add(
      [](gpointer d) -> gboolean {
        end_stream(static_cast<Live *>(d));
        return G_SOURCE_REMOVE;
      },
      live);
}

/* SIGINT or SIGTERM `signum` (from the main loop): the first ends the mix
 * where it is, the file kept; the next abandons it. */
gboolean on_interrupt(Live *live, int signum)
{
  if (live->interrupts++ == 0) {
    fprintf(stderr, "gst-montage: stopping the live mix here; the file keeps what was mixed so far "
                    "(interrupt again to abandon it)\n");
    /* The mix ends at this running time on every branch (the probes below):
     * the frames each one has already passed on reach at least here. */
    if (GstClock *clock = gst_element_get_clock(live->pipeline)) {
      const GstClockTime now = gst_clock_get_time(clock);
      const GstClockTime base = gst_element_get_base_time(live->pipeline);
      gst_object_unref(clock);
      const GstClockTime end = live->end.load();
      if (now > base && (!GST_CLOCK_TIME_IS_VALID(end) || now - base < end))
        live->end.store(now - base);
    }
    end_stream(live);
  } else {
    live->abandoned = signum;
    g_main_loop_quit(live->loop);
  }
  return G_SOURCE_CONTINUE;
}

/* Running time of `pts` in the segment on `pad`; NONE where unknown. */
GstClockTime running_time(GstPad *pad, GstClockTime pts)
{
  GstEvent *ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
  if (!ev)
    return GST_CLOCK_TIME_NONE;
  const GstSegment *segment = nullptr;
  gst_event_parse_segment(ev, &segment);
  const GstClockTime rt = segment->format == GST_FORMAT_TIME
                              ? gst_segment_to_running_time(segment, GST_FORMAT_TIME, pts)
                              : GST_CLOCK_TIME_NONE;
  gst_event_unref(ev);
  return rt;
}

/* The end (running time) of `buf` on `pad`, and `latest` raised to it when
 * later; NONE (and `latest` unchanged) where the buffer has no time or no
 * duration. Called from one streaming thread per `latest`. */
GstClockTime raise_end(std::atomic<GstClockTime> &latest, GstPad *pad, GstBuffer *buf)
{
  const GstClockTime start = running_time(pad, GST_BUFFER_PTS(buf));
  if (!GST_CLOCK_TIME_IS_VALID(start) || !GST_BUFFER_DURATION_IS_VALID(buf))
    return GST_CLOCK_TIME_NONE;
  const GstClockTime end = start + GST_BUFFER_DURATION(buf);
  const GstClockTime known = latest.load();
  if (!GST_CLOCK_TIME_IS_VALID(known) || end > known)
    latest.store(end);
  return end;
}

/* The song's sound at the mix's end (Live::end): the buffer that reaches it
 * is cut at its sample and the mix is ended; later ones are dropped. */
GstPadProbeReturn on_song_audio(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Live *live = static_cast<Live *>(data);
  const GstClockTime end = live->end.load();
  if (!GST_CLOCK_TIME_IS_VALID(end))
    return GST_PAD_PROBE_OK;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  const GstClockTime start = running_time(pad, GST_BUFFER_PTS(buf));
  if (!GST_CLOCK_TIME_IS_VALID(start))
    return GST_PAD_PROBE_OK;
  if (start >= end) {
    end_stream_soon(live);
    return GST_PAD_PROBE_DROP;
  }
  /* The caps are read only for a buffer that may reach the end. */
  if (GST_BUFFER_DURATION_IS_VALID(buf) && start + GST_BUFFER_DURATION(buf) <= end)
    return GST_PAD_PROBE_OK;
  GstCaps *caps = gst_pad_get_current_caps(pad);
  GstAudioInfo ai;
  const bool known = caps && gst_audio_info_from_caps(&ai, caps) && ai.rate > 0 && ai.bpf > 0;
  if (caps)
    gst_caps_unref(caps);
  if (!known)
    return GST_PAD_PROBE_OK;
  const gsize samples = gst_buffer_get_size(buf) / (gsize)ai.bpf;
  const guint64 keep = gst_util_uint64_scale_round(end - start, (guint64)ai.rate, GST_SECOND);
  if (keep < samples) {
    buf = gst_audio_buffer_truncate(gst_buffer_make_writable(buf), ai.bpf, 0, keep);
    GST_PAD_PROBE_INFO_DATA(info) = buf;
    end_stream_soon(live);
  }
  return GST_PAD_PROBE_OK;
}

/* Video at the mix's end (Live::end), on the mix and on each clip before the
 * mixer: frames from there on are dropped and the mix is ended. On the clips
 * too, so that every input's last frame is the last before the end: an input
 * that ran on a frame or two longer than the one on air (the branches buffer
 * differently when they are sent EOS) would otherwise take over, as
 * montageselect's input-lost switch, in the mix's last frames. */
GstPadProbeReturn on_video_at_end(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Live *live = static_cast<Live *>(data);
  const GstClockTime end = live->end.load();
  if (!GST_CLOCK_TIME_IS_VALID(end))
    return GST_PAD_PROBE_OK;
  const GstClockTime start = running_time(pad, GST_BUFFER_PTS(GST_PAD_PROBE_INFO_BUFFER(info)));
  if (GST_CLOCK_TIME_IS_VALID(start) && start >= end) {
    end_stream_soon(live);
    return GST_PAD_PROBE_DROP;
  }
  return GST_PAD_PROBE_OK;
}

/* Counts the mix's frames that reach the encoder, and where the last one
 * ends (Live::video_end). */
GstPadProbeReturn on_mixed_frame(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Live *live = static_cast<Live *>(data);
  live->mixed_frames++;
  raise_end(live->video_end, pad, GST_PAD_PROBE_INFO_BUFFER(info));
  return GST_PAD_PROBE_OK;
}

/* Answers the scheduling query of a GstDiscoverer's source: it works in
 * push mode only. In pull mode decodebin 1.22 sets a demuxer to PAUSED
 * (which starts its task) while it still filters that element's errors
 * (gstdecodebin2.c connect_pad(): remove_error_filter() comes after the
 * state change), and drops the error a demuxer posts in that window: qtdemux
 * on an MP4 without its moov box ("This file contains no playable
 * streams.") does so within microseconds, and then nothing ends the
 * discovery before its timeout (in 14 of 60 tries on a busy machine; 34.8 s
 * in a trial: "it could not be read"). In push mode the demuxer reads only
 * what typefind pushes it once decodebin has set it up, so its error always
 * gets through (60 of 60). Push mode estimates some durations (an Ogg
 * file's from its bitrate): durations come from a discoverer in pull mode,
 * once the file is known to be readable (input_duration()). */
GstPadProbeReturn push_mode_only(GstPad *, GstPadProbeInfo *info, gpointer)
{
  GstQuery *query = GST_PAD_PROBE_INFO_QUERY(info);
  if (GST_QUERY_TYPE(query) != GST_QUERY_SCHEDULING)
    return GST_PAD_PROBE_OK;
  gst_query_set_scheduling(query, GST_SCHEDULING_FLAG_SEEKABLE, 1, -1, 0);
  gst_query_add_scheduling_mode(query, GST_PAD_MODE_PUSH);
  return GST_PAD_PROBE_HANDLED;
}

void on_source_setup(GstDiscoverer *, GstElement *source, gpointer)
{
  if (GstPad *src = gst_element_get_static_pad(source, "src")) {
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_QUERY_UPSTREAM, push_mode_only, nullptr, nullptr);
    gst_object_unref(src);
  }
}

/* The length of the input `path` (readable: unusable() said "") as a
 * GstDiscoverer in pull mode gives it; NONE when it is not known. */
GstClockTime input_duration(GstDiscoverer *disc, const std::string &path)
{
  gchar *local = gst_uri_is_valid(path.c_str()) ? g_strdup(path.c_str())
                                                : montage::local_file_uri(path, nullptr);
  if (!local)
    return GST_CLOCK_TIME_NONE;
  GstDiscovererInfo *info = gst_discoverer_discover_uri(disc, local, nullptr);
  g_free(local);
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  if (info && gst_discoverer_info_get_result(info) == GST_DISCOVERER_OK &&
      gst_discoverer_info_get_duration(info) > 0)
    duration = gst_discoverer_info_get_duration(info);
  if (info)
    gst_discoverer_info_unref(info);
  return duration;
}

/* Why the clip or song `path` (a file, or a URI) cannot be used, in the
 * planned path's words (analysis.cpp): "no such file", "not a regular file",
 * "not a media file GStreamer recognises (...)", "no decoder for its format
 * is installed (...)", "cannot be decoded, ..." (montage::local_file_uri(),
 * montage::explain_decode_error(); an MP4 without its index,
 * montage::mp4_lacks_index(), "cannot be decoded, the file is truncated or
 * was not finished (...)"), or no stream of the kind wanted ("has no video
 * stream" for a clip, "... audio ..." for the song; a clip that is
 * a still image or a GIF, montage_tool::still_image()); "" when it can.
 * GStreamer's own words were "Resource not found." and "Could not determine
 * type of stream.". `not_media`, when given, is set to whether the file is
 * no media at all (GST_STREAM_ERROR_TYPE_NOT_FOUND, as the planned path
 * tells a directory's sidecar files). `montage`, when given, is set to
 * whether the file carries the tag of a montage this tool made
 * (montage::tagged_as_montage(), read from this same discovery). */
std::string unusable(GstDiscoverer *disc, const std::string &path, bool video,
                     bool *not_media = nullptr, bool *montage = nullptr)
{
  if (not_media)
    *not_media = false;
  if (montage)
    *montage = false;
  /* A GIF, animated ones too: GStreamer 1.22 decodes it without an end, so
   * the mix never ended (the planned path leaves it out before its
   * analysis, gst-montage.cpp). */
  if (video && montage_tool::gif_image(path.c_str()))
    return montage_tool::still_image(path);
  GError *err = nullptr;
  std::string uri;
  if (gst_uri_is_valid(path.c_str())) {
    uri = path;
  } else {
    gchar *local = montage::local_file_uri(path, &err);
    if (!local) {
      std::string why = err ? err->message : "it could not be read";
      g_clear_error(&err);
      return why;
    }
    uri = local;
    g_free(local);
  }
  GstDiscovererInfo *info = gst_discoverer_discover_uri(disc, uri.c_str(), &err);
  std::string why;
  if (!info || gst_discoverer_info_get_result(info) != GST_DISCOVERER_OK) {
    if (not_media)
      *not_media = g_error_matches(err, GST_STREAM_ERROR, GST_STREAM_ERROR_TYPE_NOT_FOUND);
    gchar *local = g_filename_from_uri(uri.c_str(), nullptr, nullptr);
    if (err && err->domain == GST_STREAM_ERROR && local && montage::mp4_lacks_index(local)) {
      /* An MP4 or MOV cut off before its index: GStreamer says "This file
       * contains no playable streams."; the planned path's sentence, from
       * the same check (clipanalysis.cpp, explain_demuxer_error()). */
      g_clear_error(&err);
      g_set_error(&err, GST_STREAM_ERROR, GST_STREAM_ERROR_DEMUX,
                  "cannot be decoded, the file is truncated or was not finished (no index, the "
                  "moov atom, was found)");
    } else if (err && err->domain == GST_STREAM_ERROR) {
      GError *explained = nullptr;
      montage::explain_decode_error(err, &explained);
      err = explained;
    }
    g_free(local);
    why = err ? err->message : "it could not be read";
  } else {
    GList *streams = video ? gst_discoverer_info_get_video_streams(info)
                           : gst_discoverer_info_get_audio_streams(info);
    bool any = false;
    for (GList *l = streams; l && !any; l = l->next)
      any = !video || !gst_discoverer_video_info_is_image(GST_DISCOVERER_VIDEO_INFO(l->data));
    gst_discoverer_stream_info_list_free(streams);
    if (!any && video)
      why = montage_tool::still_image(path);
    if (!any && why.empty())
      why = video ? "has no video stream" : "has no audio stream";
    if (montage)
      *montage = montage::tagged_as_montage(gst_discoverer_info_get_tags(info));
  }
  g_clear_error(&err);
  if (info)
    gst_discoverer_info_unref(info);
  return why;
}

/* The mix ended: end everything (the clips, the song). Where the clips ran
 * out before anything else ended it (no -d, or one past them; the song
 * longer), the mix ends with their last picture: its end becomes
 * Live::end, so that the song's sound is cut there too (on_song_audio(),
 * and the sound's edit, live_mix()). Before, the sound ran on for what had
 * gone by while montageselect waited out its latency: 0.4 s of sound after
 * the last picture (a trial: 11.300 s of picture, 11.703 s of sound). */
GstPadProbeReturn on_branch_eos(GstPad *, GstPadProbeInfo *info, gpointer data)
{
  Live *live = static_cast<Live *>(data);
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  if (!live->end_asked.load()) {
    const GstClockTime video_end = live->video_end.load();
    const GstClockTime end = live->end.load();
    if (GST_CLOCK_TIME_IS_VALID(video_end) && (!GST_CLOCK_TIME_IS_VALID(end) || video_end < end)) {
      lower_end(live, video_end);
      live->clips_ran_out.store(true);
    }
  }
  end_stream_soon(live);
  return GST_PAD_PROBE_OK;
}

/* A montage-switch message, in the thread that posts it (montageselect's,
 * before it pushes the switch's frame): a switch less than Live::min_gap
 * before the planned end (Live::planned_end) ends the mix at its running
 * time, so that the mix never ends on a flash of another clip shorter than
 * the planned path's shortest segment (montage::StylePacing::min_gap).
 * Beat switches are held off there already (montageselect's
 * beat-switch-until, set in live_mix()); what is left
 * is an input-lost switch, the clip on air having ended: a trial, -d 10
 * with a 6.034 s song, the clip on air ended at 6.000 s, and the mix
 * switched to the other for its last 2 frames. The frame at the switch and
 * those after it are dropped (on_video_at_end()), the sound is cut there
 * (on_song_audio(), the sound's edit); on_bus() neither says nor counts
 * that switch, live_mix() says where the mix ended. */
GstBusSyncReply on_switch_posted(GstBus *, GstMessage *msg, gpointer data)
{
  Live *live = static_cast<Live *>(data);
  if (GST_MESSAGE_TYPE(msg) != GST_MESSAGE_ELEMENT)
    return GST_BUS_PASS;
  const GstStructure *s = gst_message_get_structure(msg);
  if (!gst_structure_has_name(s, "montage-switch"))
    return GST_BUS_PASS;
  guint64 t = GST_CLOCK_TIME_NONE;
  const gchar *reason = gst_structure_get_string(s, "reason");
  const GstClockTime planned = live->planned_end.load();
  if (gst_structure_get_uint64(s, "running-time", &t) && GST_CLOCK_TIME_IS_VALID(planned) &&
      t > 0 && t < planned && planned - t < live->min_gap && g_strcmp0(reason, "start") != 0) {
    const GstClockTime end = live->end.load();
    if (!GST_CLOCK_TIME_IS_VALID(end) || t < end) {
      lower_end(live, t);
      live->late_switch.store(t);
    }
  }
  return GST_BUS_PASS;
}

/* The song's sound after montagebeat: where it ends so far, and at its EOS
 * that end becomes the mix's (Live::end) when sooner, so that the clips'
 * pictures stop with the music: without -d, or with a -d past the song's
 * end, the picture ran on for the frames in flight (3.267 s of picture for
 * a 3 s song), and the sound was shorter than the file. */
GstPadProbeReturn on_song_out(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Live *live = static_cast<Live *>(data);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    raise_end(live->song_end, pad, GST_PAD_PROBE_INFO_BUFFER(info));
    return GST_PAD_PROBE_OK;
  }
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  lower_end(live, live->song_end.load());
  end_stream_soon(live);
  return GST_PAD_PROBE_OK;
}

/* The song's sound as decoded, before its read-ahead queue: where it ends
 * so far (Live::song_decoded), and at the decoder's EOS that end becomes
 * the planned end when sooner (lower_planned_end()), so that no beat
 * switch comes in the last min_gap of a song that ends before its stated
 * length (a truncated file, a header that says more): beat-switch-until was
 * set once from that length, and the mix switched on beats in its last
 * min_gap (a trial: a Matroska song of 10.5 s whose header says 30 s,
 * min_gap 3 s: a beat switch at 9.000 s, a last shot of 1.5 s). An EOS
 * the tool sent (end_stream()) does not count: it enters after this
 * queue. */
GstPadProbeReturn on_song_decoded(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Live *live = static_cast<Live *>(data);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    raise_end(live->song_decoded, pad, GST_PAD_PROBE_INFO_BUFFER(info));
    return GST_PAD_PROBE_OK;
  }
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS)
    lower_planned_end(live, live->song_decoded.load());
  return GST_PAD_PROBE_OK;
}

gboolean on_bus(GstBus *, GstMessage *msg, gpointer data)
{
  Live *live = static_cast<Live *>(data);
  switch (GST_MESSAGE_TYPE(msg)) {
  case GST_MESSAGE_ERROR: {
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error(msg, &err, &dbg);
    live->failed = true;
    live->error = err ? err->message : "unknown error";
    g_clear_error(&err);
    g_free(dbg);
    g_main_loop_quit(live->loop);
    break;
  }
  case GST_MESSAGE_EOS:
    g_main_loop_quit(live->loop);
    break;
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *s = gst_message_get_structure(msg);
    if (gst_structure_has_name(s, "montage-beat"))
      live->beats++;
    if (!gst_structure_has_name(s, "montage-switch"))
      break;
    guint64 t = 0;
    gst_structure_get_uint64(s, "running-time", &t);
    /* montageselect may still decide a frame at or after the end (it keeps
     * going while one input's EOS is on its way, showing that input's last
     * frame again, an input-lost switch when the other has ended); the
     * probe on the mix drops that frame, so the switch is not in the file
     * and is neither said nor counted. */
    const GstClockTime end = live->end.load();
    if (GST_CLOCK_TIME_IS_VALID(end) && t >= end)
      break;
    live->switches++;
    if (live->quiet)
      break;
    double total = 0.0;
    gst_structure_get_double(s, "total", &total);
    /* The beat it was cut on, where there is one: "(beat at 1.930 s, ...)". */
    guint64 beat = GST_CLOCK_TIME_NONE;
    gst_structure_get_uint64(s, "beat-time", &beat);
    gchar *at =
        GST_CLOCK_TIME_IS_VALID(beat) ? g_strdup_printf(" at %.3f s", beat / 1e9) : g_strdup("");
    fprintf(stderr, "%8.3f s  %s -> %s (%s%s, score %.2f)\n", t / 1e9,
            clip_name(live, gst_structure_get_string(s, "previous-pad")).c_str(),
            clip_name(live, gst_structure_get_string(s, "new-pad")).c_str(),
            gst_structure_get_string(s, "reason"), at, total);
    g_free(at);
    break;
  }
  default:
    break;
  }
  return TRUE;
}

} // namespace

namespace montage_tool
{

int live_mix(const std::vector<std::string> &clip_paths, const LiveSettings &settings)
{
  register_elements();
  GST_ELEMENT_REGISTER(montageselect, nullptr);
  const std::string &song = settings.song, &output = settings.output;
  const bool quiet = settings.quiet;

  /* Inputs that would end or fail the whole mix are looked at first, in
   * push mode (push_mode_only()), once each; the song's length then in pull
   * mode, the clips' from their branches in the mix (clip_length_known()). */
  GError *error = nullptr;
  GstDiscoverer *disc = gst_discoverer_new(30 * GST_SECOND, &error);
  GstDiscoverer *lengths = disc ? gst_discoverer_new(10 * GST_SECOND, &error) : nullptr;
  if (!disc || !lengths) {
    fprintf(stderr, "gst-montage: cannot look at the inputs: %s\n", error ? error->message : "");
    g_clear_error(&error);
    if (disc)
      gst_object_unref(disc);
    return 1;
  }
  g_signal_connect(disc, "source-setup", G_CALLBACK(on_source_setup), nullptr);
  std::string why = montage_tool::empty_file(song);
  if (why.empty())
    why = unusable(disc, song, false);
  if (!why.empty()) {
    fprintf(stderr, "gst-montage: cannot use the song %s: %s\n", montage_tool::shown(song).c_str(),
            montage_tool::valid_utf8(why.c_str()).c_str());
    gst_object_unref(disc);
    gst_object_unref(lengths);
    return 1;
  }
  /* Where the mix will end, as far as -d and the song's length tell (the
   * clips' come once they play). */
  const GstClockTime song_length = input_duration(lengths, song);
  GstClockTime planned_end = settings.duration;
  if (GST_CLOCK_TIME_IS_VALID(song_length) &&
      (!GST_CLOCK_TIME_IS_VALID(planned_end) || song_length < planned_end))
    planned_end = song_length;
  /* As the planned path warns (planner.h, note_kind::kDurationPastSong). */
  if (GST_CLOCK_TIME_IS_VALID(settings.duration) && GST_CLOCK_TIME_IS_VALID(song_length) &&
      settings.duration > song_length)
    fprintf(stderr,
            "gst-montage: The requested duration %.2f s is longer than the song: the mix ends "
            "with the song at %.2f s.\n",
            settings.duration / 1e9, song_length / 1e9);
  std::vector<std::string> clips;
  std::vector<std::string> not_media; /* from directories: said in one line */
  for (const std::string &clip : clip_paths) {
    bool no_media = false, made = false;
    why = montage_tool::empty_file(clip);
    if (why.empty())
      why = unusable(disc, clip, true, &no_media, &made);
    if (why.empty() && made && settings.from_dirs.count(clip)) {
      /* An earlier montage kept beside the clips: no footage (as planned). */
      if (!quiet)
        fprintf(stderr, "gst-montage: %s\n", montage_tool::montage_in_dir(clip).c_str());
    } else if (why.empty()) {
      clips.push_back(clip);
    } else if (no_media && !settings.verbose && settings.from_dirs.count(clip))
      not_media.push_back(montage_tool::shown_base_name(clip));
    else if (settings.song_in_dirs.count(clip) && why == "has no video stream") {
      if (settings.verbose)
        fprintf(stderr, "gst-montage: %s is the song (-m), not a clip: it has no video stream\n",
                montage_tool::shown(clip).c_str());
    } else
      fprintf(stderr, "gst-montage: skipping %s: %s\n", montage_tool::shown(clip).c_str(),
              montage_tool::valid_utf8(why.c_str()).c_str());
  }
  gst_object_unref(disc);
  gst_object_unref(lengths);
  if (!not_media.empty())
    fprintf(stderr, "gst-montage: %s\n", montage_tool::not_media_in_dirs(not_media).c_str());
  if (clips.empty()) {
    fprintf(stderr,
            "gst-montage: no usable clip: give video files GStreamer can decode (for example "
            "MP4/H.264, WebM, AVI), or directories that hold them\n");
    return 1;
  }

  const std::string encoder = montage::pick_h264_encoder(settings.encoders, &error);
  if (encoder.empty()) {
    fprintf(stderr, "gst-montage: no working H.264 encoder: %s\n",
            error ? error->message : "none found");
    g_clear_error(&error);
    return 1;
  }

  Live live;
  live.quiet = quiet;
  live.end.store(settings.duration);
  live.lengths_due = clips.size();
  {
    /* The style montageselect is given; its name was checked with the
     * options (gst-montage.cpp), the default's min_gap otherwise. */
    montage::Style style = montage::default_style();
    if (!montage::load_style(settings.style, style, nullptr))
      style = montage::default_style();
    live.min_gap = style.pacing.min_gap;
  }
  live.pipeline = gst_pipeline_new("live");
  std::vector<Branch *> branches;
  const std::string tmp = output + ".part";
  std::string aac; /* the AAC encoder's factory */
  bool ok = true;

  GstElement *sel = make("montageselect", live.pipeline, &error);
  GstElement *vconv = make("videoconvert", live.pipeline, &error);
  GstElement *enc = gst_element_factory_make(encoder.c_str(), NULL);
  GstElement *parse = make("h264parse", live.pipeline, &error);
  GstElement *vq = make("queue", live.pipeline, &error);
  GstElement *mux = make("mp4mux", live.pipeline, &error);
  GstElement *sink = make("filesink", live.pipeline, &error);
  ok = sel && vconv && enc && parse && vq && mux && sink;
  live.select = sel;
  montage::tag_as_montage(mux); /* a later run tells it from footage (encoder.h) */
  montage::sync_samples_at_idr_only(mux); /* seeking lands on IDR frames (encoder.h) */
  if (!ok && enc)
    gst_object_unref(enc);
  if (ok) {
    gst_bin_add(GST_BIN(live.pipeline), enc);
    g_object_set(sel, "style", settings.style.c_str(), "seed", settings.seed, NULL);
    /* No beat switch less than the style's min_gap before the end the
     * inputs' lengths foretell: it would leave a last segment shorter than
     * the planned path allows. A switch there when the clip on air ends
     * (input-lost) still comes, and ends the mix (on_switch_posted()). The
     * clips' lengths and the song's actual end lower it as they come. */
    lower_planned_end(&live, planned_end);
    /* Clips are files played in real time, not cameras: a branch that
     * decodes one may fall behind the clock for a moment when the machine is
     * busy, and montageselect would take that clip off air for the frames
     * it waited for (input-lost). Its `latency` lets an input be kClipSlack
     * late before a frame is decided without it; nothing waits for it while
     * every input keeps up. */
    g_object_set(sel, "latency", (guint64)kClipSlack, NULL);
    if (GstStructure *props = montage::h264_encoder_properties(encoder, settings.preview)) {
      for (int k = 0; k < gst_structure_n_fields(props); k++) {
        const gchar *field = gst_structure_nth_field_name(props, k);
        gst_util_set_object_arg(G_OBJECT(enc), field, gst_structure_get_string(props, field));
      }
      gst_structure_free(props);
    }
    g_object_set(sink, "location", tmp.c_str(), NULL);
    ok = gst_element_link_many(sel, vconv, enc, parse, vq, mux, sink, NULL);
    GstPad *src = gst_element_get_static_pad(sel, "src");
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_branch_eos, &live, NULL);
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, on_video_at_end, &live, NULL);
    gst_object_unref(src);
    GstPad *encoded = gst_element_get_static_pad(enc, "sink");
    gst_pad_add_probe(encoded, GST_PAD_PROBE_TYPE_BUFFER, on_mixed_frame, &live, NULL);
    gst_object_unref(encoded);
  }

  /* One branch per clip. */
  for (size_t i = 0; ok && i < clips.size(); i++) {
    GstElement *dec = make("uridecodebin", live.pipeline, &error);
    GstElement *conv = make("videoconvert", live.pipeline, &error);
    GstElement *deint = make("deinterlace", live.pipeline, &error);
    GstElement *flip = make("videoflip", live.pipeline, &error);
    GstElement *scale = make("videoscale", live.pipeline, &error);
    GstElement *rate = make("videorate", live.pipeline, &error);
    GstElement *filter = make("capsfilter", live.pipeline, &error);
    GstElement *sync = make("clocksync", live.pipeline, &error);
    GstElement *scene = make("montagescene", live.pipeline, &error);
    GstElement *q = make("queue", live.pipeline, &error);
    ok = dec && conv && deint && flip && scale && rate && filter && sync && scene && q;
    if (!ok)
      break;
    /* Upright where the container says the picture is stored turned (the
     * image-orientation tag of phones' portrait clips), as the planned
     * render (render-cuts.cpp) and the storyboard show it; videoscale then
     * fits the turned picture into the output with black borders
     * (add-borders). Before, --live showed portrait clips sideways (trial
     * h113's finding 1). */
    gst_util_set_object_arg(G_OBJECT(flip), "video-direction", "auto");
    /* Interlaced clips (camcorders: AVCHD, DV, HDV, 1080i) deinterlaced
     * as the planned render's GES path does (GES's URI video source puts a
     * deinterlace with its defaults after a videoconvert for an interlaced
     * stream): mode auto (progressive frames pass through untouched),
     * every field made a frame (videorate then takes the output rate's
     * frames), the element's default method. Before, --live showed them
     * combed (trial h113's finding 5). */
    g_object_set(dec, "uri", to_uri(clips[i]).c_str(), NULL);
    GstCaps *caps = gst_caps_new_simple(
        "video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT, settings.width,
        "height", G_TYPE_INT, settings.height, "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1,
        "framerate", GST_TYPE_FRACTION, settings.fps_n, settings.fps_d, NULL);
    g_object_set(filter, "caps", caps, NULL);
    gst_caps_unref(caps);
    ok = gst_element_link_many(conv, deint, flip, scale, rate, filter, sync, scene, q, NULL);
    GstPad *selpad = gst_element_request_pad_simple(sel, "sink_%u");
    GstPad *qsrc = gst_element_get_static_pad(q, "src");
    ok = ok && selpad && gst_pad_link(qsrc, selpad) == GST_PAD_LINK_OK;
    if (selpad) {
      /* The same file given twice is told apart by its place among the clips
       * played (those left out above not counted). */
      std::string name = montage_tool::shown(clips[i]);
      if (std::count(clips.begin(), clips.end(), clips[i]) > 1)
        name += " (input " + std::to_string(i + 1) + ")";
      live.clip_of_pad[GST_PAD_NAME(selpad)] = name;
    }
    gst_pad_add_probe(qsrc, GST_PAD_PROBE_TYPE_BUFFER, on_video_at_end, &live, NULL);
    gst_object_unref(qsrc);
    if (selpad)
      gst_object_unref(selpad);
    Branch *b = new Branch();
    b->pipeline = live.pipeline;
    b->target = gst_element_get_static_pad(conv, "sink");
    b->entry = gst_element_get_static_pad(conv, "sink");
    b->media = "video/";
    b->clip_of = &live;
    branches.push_back(b);
    live.entries.push_back(b->entry);
    g_signal_connect(dec, "pad-added", G_CALLBACK(on_pad_added), b);
    g_signal_connect(dec, "no-more-pads", G_CALLBACK(on_no_more_pads), b);
  }

  /* The song: beats to the mixer, sound to the file. */
  if (ok) {
    GstElement *dec = make("uridecodebin", live.pipeline, &error);
    GstElement *conv = make("audioconvert", live.pipeline, &error);
    GstElement *res = make("audioresample", live.pipeline, &error);
    GstElement *ahead = make("queue", live.pipeline, &error);
    GstElement *sync = make("clocksync", live.pipeline, &error);
    GstElement *beat = make("montagebeat", live.pipeline, &error);
    GstElement *tee = make("tee", live.pipeline, &error);
    GstElement *bq = make("queue", live.pipeline, &error);
    GstElement *aq = make("queue", live.pipeline, &error);
    GstElement *aconv = make("audioconvert", live.pipeline, &error);
    GstElement *ares = make("audioresample", live.pipeline, &error);
    GstElement *arate = make("capsfilter", live.pipeline, &error);
    GstElement *aenc = gst_element_factory_make("voaacenc", NULL);
    if (!aenc)
      aenc = make("avenc_aac", live.pipeline, &error);
    else
      gst_bin_add(GST_BIN(live.pipeline), aenc);
    ok = dec && conv && res && ahead && sync && beat && tee && bq && aq && aconv && ares && arate &&
         aenc;
    if (ok) {
      aac = GST_OBJECT_NAME(gst_element_get_factory(aenc));
      /* As the planned render does (render.h): the sound at 48 kHz, the
       * movie counted in its samples, and every sample of the song out of
       * the AAC encoder (silence given after the last), so the file's sound
       * edit can end on the song's last sample (mp4priming.h); before,
       * voaacenc kept its last partial frame and its delay, and the mix's
       * sound ended up to 55 ms early. */
      GstCaps *rate = gst_caps_new_simple("audio/x-raw", "rate", G_TYPE_INT, kSoundRate, NULL);
      g_object_set(arate, "caps", rate, NULL);
      gst_caps_unref(rate);
      g_object_set(mux, "movie-timescale", (guint)kSoundRate, NULL);
      live.aac_input = montage::aac_encoder_keep_end(aenc);
      g_object_set(dec, "uri", to_uri(song).c_str(), NULL);
      gst_util_set_object_arg(G_OBJECT(beat), "mode", "live");
      g_object_set(beat, "min-bpm", settings.tempo.min_bpm, "max-bpm", settings.tempo.max_bpm,
                   NULL);
      /* The song is decoded min_gap + kSongReadAhead ahead of where it
       * plays (on_song_decoded()); raw sound, 2.2 MB for 6 s of 48 kHz
       * stereo float. */
      g_object_set(ahead, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
                   (guint64)(live.min_gap + kSongReadAhead), NULL);
      GstPad *decoded = gst_element_get_static_pad(ahead, "sink");
      gst_pad_add_probe(
          decoded,
          (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
          on_song_decoded, &live, NULL);
      gst_object_unref(decoded);
      ok = gst_element_link_many(conv, res, ahead, sync, beat, tee, NULL) &&
           gst_element_link(tee, bq) && gst_element_link_pads(bq, "src", sel, "beat") &&
           gst_element_link_many(tee, aq, aconv, ares, arate, aenc, mux, NULL);
      GstPad *src = gst_element_get_static_pad(beat, "src");
      gst_pad_add_probe(
          src, (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
          on_song_out, &live, NULL);
      gst_object_unref(src);
      GstPad *sound = gst_element_get_static_pad(aq, "src");
      gst_pad_add_probe(sound, GST_PAD_PROBE_TYPE_BUFFER, on_song_audio, &live, NULL);
      gst_object_unref(sound);
      Branch *b = new Branch();
      b->pipeline = live.pipeline;
      b->target = gst_element_get_static_pad(conv, "sink");
      /* After the read-ahead: an EOS sent before it would wait for the
       * sound it holds to play. */
      b->entry = gst_element_get_static_pad(sync, "sink");
      b->media = "audio/";
      branches.push_back(b);
      live.entries.push_back(b->entry);
      g_signal_connect(dec, "pad-added", G_CALLBACK(on_pad_added), b);
      g_signal_connect(dec, "no-more-pads", G_CALLBACK(on_no_more_pads), b);
    }
  }

  int ret = 0;
  if (!ok) {
    fprintf(stderr, "gst-montage: cannot build the live pipeline: %s\n",
            error ? error->message : "elements would not link");
    ret = 1;
  } else {
    live.loop = g_main_loop_new(NULL, FALSE);
    GstBus *bus = gst_element_get_bus(live.pipeline);
    const guint watch = gst_bus_add_watch(bus, on_bus, &live);
    gst_bus_set_sync_handler(bus, on_switch_posted, &live, nullptr);
    gst_object_unref(bus);
    /* A signal the tool was started with ignored (a background job of a
     * shell, nohup) stays ignored: GLib's handler would replace SIG_IGN. */
    auto ignored = [](int signum) {
      struct sigaction sa = {};
      return sigaction(signum, nullptr, &sa) == 0 && sa.sa_handler == SIG_IGN;
    };
    const guint on_sigint =
        ignored(SIGINT)
            ? 0
            : g_unix_signal_add(
                  SIGINT, [](gpointer d) { return on_interrupt(static_cast<Live *>(d), SIGINT); },
                  &live);
    const guint on_sigterm =
        ignored(SIGTERM)
            ? 0
            : g_unix_signal_add(
                  SIGTERM, [](gpointer d) { return on_interrupt(static_cast<Live *>(d), SIGTERM); },
                  &live);
    if (!quiet)
      fprintf(stderr, "Playing %zu clip%s live into montageselect with %s (%s)...\n", clips.size(),
              clips.size() == 1 ? "" : "s", encoder.c_str(), settings.style.c_str());
    if (gst_element_set_state(live.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      live.failed = true;
      if (live.error.empty())
        live.error = "the pipeline would not start";
    } else {
      g_main_loop_run(live.loop);
    }
    gst_element_set_state(live.pipeline, GST_STATE_NULL);
    while (g_main_context_iteration(NULL, FALSE)) /* idles queued by the EOS probes */
      ;
    g_source_remove(watch);
    if (on_sigint)
      g_source_remove(on_sigint);
    if (on_sigterm)
      g_source_remove(on_sigterm);
    g_main_loop_unref(live.loop);
    std::string priming_note;
    /* The note comes with true too (the sound's end may be early), and
     * names the file being written: said for the output. */
    if (!live.abandoned && !live.failed && live.mixed_frames.load() > 0) { /* the file kept */
      /* The sound's edit shows the song up to the mix's end (Live::end), the
       * song's sound from running time 0: what went to the encoder after it
       * (the sound runs ahead of the picture by up to montageselect's
       * latency, and an end found at the mix's last frame comes that late)
       * stays in the file unseen. */
      guint64 shown = live.aac_input ? live.aac_input->samples.load() : 0;
      const GstClockTime end = live.end.load();
      if (GST_CLOCK_TIME_IS_VALID(end))
        shown = std::min<guint64>(shown, gst_util_uint64_scale_round(end, kSoundRate, GST_SECOND));
      montage::mp4_fix_audio_priming(tmp, aac.c_str(), &priming_note, shown);
      if (g_str_has_prefix(priming_note.c_str(), (tmp + ": ").c_str()))
        priming_note.erase(0, tmp.size() + 2); /* it names the .part file */
      if (!priming_note.empty())
        fprintf(stderr, "gst-montage: %s: %s\n", montage_tool::shown(output).c_str(),
                montage_tool::valid_utf8(priming_note.c_str()).c_str());
    }
    if (live.abandoned) {
      fprintf(stderr, "gst-montage: interrupted: the live mix was abandoned, %s not written\n",
              montage_tool::shown(output).c_str());
      g_unlink(tmp.c_str());
      ret = 128 + live.abandoned;
    } else if (!live.failed && live.mixed_frames.load() == 0) {
      /* mp4mux writes a video track without samples, which players refuse:
       * no file rather than one that does not play. */
      fprintf(stderr,
              "gst-montage: the live mix has no video frame: no clip delivered a frame "
              "before the mix ended (a machine too busy to decode the clips in real time "
              "shows this); %s not written\n",
              montage_tool::shown(output).c_str());
      g_unlink(tmp.c_str());
      ret = 1;
    } else if (live.failed) {
      fprintf(stderr, "gst-montage: the live mix failed: %s\n",
              montage_tool::valid_utf8(live.error.c_str()).c_str());
      g_unlink(tmp.c_str());
      ret = 1;
    } else if (g_rename(tmp.c_str(), output.c_str()) != 0) {
      fprintf(stderr, "gst-montage: cannot write %s\n", montage_tool::shown(output).c_str());
      ret = 1;
    } else {
      /* Kept (a rig's silent input is no reason to stop), but said: the
       * planned path refuses such a song. */
      if (live.beats == 0)
        fprintf(stderr, "gst-montage: no beat was heard in the song (silent, or without a steady "
                        "rhythm?): the mix did not cut on the music\n");
      if (!quiet && live.clips_ran_out.load())
        fprintf(stderr,
                "gst-montage: the clips ended at %.2f s, before the %s: the mix ends with their "
                "last picture, its sound cut there\n",
                live.end.load() / 1e9,
                GST_CLOCK_TIME_IS_VALID(settings.duration) ? "requested duration" : "song");
      const GstClockTime late = live.late_switch.load();
      if (!quiet && GST_CLOCK_TIME_IS_VALID(late) && late == live.end.load())
        fprintf(stderr,
                "gst-montage: the mix ends at %.3f s, where it would have switched for less than "
                "%.2f s before its end\n",
                late / 1e9, live.min_gap / 1e9);
      g_print("%s: live mix, %u switch%s\n", montage_tool::shown(output).c_str(), live.switches,
              live.switches == 1 ? "" : "es");
    }
  }
  g_clear_error(&error);
  gst_object_unref(live.pipeline);
  for (Branch *b : branches) {
    gst_object_unref(b->target);
    gst_object_unref(b->entry);
    delete b;
  }
  return ret;
}

} // namespace montage_tool
