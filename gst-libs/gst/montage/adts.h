/* gst-montage: sample-exact random access into AAC audio in ADTS streams.
 *
 * Raw AAC files (.aac, broadcast archives, music libraries) are a sequence of
 * ADTS frames: a 7-byte header (9 with CRC) followed by 1 to 4 raw data
 * blocks of 1024 samples each (ISO/IEC 13818-7 and 14496-3, "adts_frame").
 * Nothing in the stream says where a given time is, so a player must read
 * from the start (GStreamer's aacparse builds its seek index while reading;
 * FFmpeg's raw ADTS demuxer cannot seek at all). This file provides:
 *
 *   AdtsIndex::build()      scan headers only -> byte offset and first sample
 *                           of every frame, validated, stored delta-coded
 *                           (2 bytes a frame plus a checkpoint every 64 frames)
 *   AdtsIndex::serialise()  msgpack bytes for the analysis cache (cache.h) and
 *   AdtsIndex::deserialise() back, in well under a millisecond for an hour
 *   AdtsExtractor           decode exactly the samples [t0, t1): decoding starts
 *                           one frame early (pre-roll), the pre-roll output is
 *                           dropped and both ends are trimmed to the sample
 *
 * Timeline. Sample n of a run (see below) is the n-th sample the decoder
 * outputs for that run, at the run's sample rate: what a full decode of the
 * file with GStreamer (aacparse ! avdec_aac) or FFmpeg gives, since neither
 * removes encoder priming from ADTS. Encoders put silent "priming" samples in
 * front of the signal (FFmpeg's and GStreamer's avenc_aac 1024, Apple's 2112,
 * others differ) and ADTS records none of it; AdtsExtractOptions::priming
 * shifts the timeline so that t = 0 is the first sample after the priming.
 * The default, 0, keeps the decoder's timeline.
 *
 * Bad input, per case (see docs/adts.md):
 *   - zero-length file: error kEmpty;
 *   - not ADTS (no two chained, consistent headers anywhere): kNotAdts;
 *   - an ID3v2 tag in front: skipped (counted as garbage, reported);
 *   - garbage between frames: skipped; the scan resynchronises on the next
 *     header that chains to a second consistent header; reported in
 *     AdtsScanReport (bytes and regions), the timeline stays continuous;
 *   - truncated last frame: left out of the index and reported
 *     (truncated_tail_bytes); everything before it is usable;
 *   - sample rate, channel configuration or object type changing mid-file:
 *     a new run starts (AdtsRun); each run has its own timeline origin (its
 *     start time is the end of the previous run), extraction works inside a
 *     run and refuses a range that spans two runs (kSpansRuns).
 * Nothing here aborts or throws; failures return false/empty with a GError
 * in MONTAGE_ADTS_ERROR whose message says what to do.
 */
#pragma once

#include <gst/gst.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace montage {

#define MONTAGE_ADTS_ERROR (montage::adts_error_quark())
GQuark adts_error_quark();

enum class AdtsError {
  kIo = 1,         /* the file cannot be opened, read or mapped */
  kEmpty,          /* zero-length file */
  kNotAdts,        /* no ADTS frames found */
  kBadIndex,       /* serialised index malformed, or does not match the file */
  kRange,          /* requested range empty or outside the stream */
  kSpansRuns,      /* requested range spans a sample-rate/channel change */
  kDecoder,        /* no AAC decoder, or it failed or dropped frames */
};

/* One parsed ADTS header (fixed + variable part). */
struct AdtsHeader {
  guint mpeg_version = 4;     /* 4 (ID bit 0) or 2 (ID bit 1) */
  bool crc = false;           /* protection_absent == 0: 2 CRC bytes follow the header */
  guint object_type = 2;      /* profile + 1: 1 Main, 2 LC, 3 SSR, 4 LTP */
  guint sample_rate_index = 0;
  guint sample_rate = 0;      /* Hz, from the index (96000 .. 7350) */
  guint channel_config = 0;   /* 0 (PCE-defined) .. 7 */
  guint frame_length = 0;     /* bytes, header included */
  guint raw_blocks = 1;       /* raw data blocks in the frame, 1..4 */

  guint header_length() const { return crc ? 9u : 7u; }
  guint samples() const { return 1024u * raw_blocks; }
  /* Channels the decoder outputs: channel_config, 8 for config 7, 0 when a
   * PCE defines them (unknown from the header). */
  guint channels() const;
  /* True when sample rate, channels, object type and MPEG version match:
   * the fields that must stay the same within one run. */
  bool same_stream(const AdtsHeader &other) const;
};

/* Parses the header at `data` (at least `size` readable bytes).
 * Returns false when size < 7, the sync word (12 bits 0xFFF) or layer (00)
 * is wrong, the sampling index is reserved (13-15), or frame_length is
 * shorter than the header. Does not look at the payload or check the CRC.
 * Layout from ISO/IEC 13818-7 section 6.2 (adts_fixed_header and
 * adts_variable_header). */
bool parse_adts_header(const guint8 *data, size_t size, AdtsHeader &out);

/* True when `data` (the first `size` bytes of a file, or all of it) starts
 * like raw AAC in ADTS frames: after an optional ID3v2 tag, a header that
 * parse_adts_header() accepts followed by a second header of the same
 * stream, or by the end of the data. A quick content sniff for choosing a
 * reader (the extension says nothing: .aac may be ADTS or ADIF); it does not
 * validate the file (AdtsIndex::build does). Junk before the first frame
 * other than an ID3v2 tag answers false. */
bool looks_like_adts(const guint8 *data, size_t size);

/* A stretch of consecutive frames with the same stream parameters. */
struct AdtsRun {
  guint64 first_frame = 0;  /* index of its first frame */
  guint64 frames = 0;       /* number of frames */
  guint64 samples = 0;      /* decoded samples (per channel) in the run */
  GstClockTime start = 0;   /* timeline position of its sample 0, ns (sum of earlier runs) */
  guint sample_rate = 0;    /* Hz */
  guint channels = 0;       /* AdtsHeader::channels() of its frames */
  guint object_type = 0;    /* AdtsHeader::object_type */
  bool crc = false;         /* its frames carry a CRC (9-byte headers) */

  GstClockTime duration() const;
};

/* What the scan found besides frames: recoveries, for the user to see. */
struct AdtsScanReport {
  guint64 garbage_bytes = 0;        /* bytes skipped that belong to no frame */
  guint garbage_regions = 0;        /* separate stretches of such bytes */
  guint64 first_garbage_offset = 0; /* byte offset of the first one */
  bool id3_tag = false;             /* an ID3v2 tag preceded the first frame */
  guint64 truncated_tail_bytes = 0; /* bytes of an incomplete last frame, left out */
  guint stream_changes = 0;         /* runs - 1 */
};

/* One indexed frame. */
struct AdtsFrame {
  guint64 offset = 0;   /* byte offset in the file */
  guint size = 0;       /* bytes, header included */
  guint64 sample = 0;   /* its first decoded sample, counted from its run's start */
  guint samples = 0;    /* samples it decodes to (1024 x raw blocks) */
  size_t run = 0;       /* which AdtsRun */
};

class AdtsIndex
{
public:
  /* Scans `size` bytes of ADTS (the whole file, mapped or read) and indexes
   * every frame. Cost: headers only, O(frames); measured >= 1 GB/s from a
   * warm page cache (bench/adts). Fails with kEmpty or kNotAdts; recoverable
   * damage is skipped and written to `report` (may be null). */
  static std::unique_ptr<AdtsIndex> build(const guint8 *data, size_t size,
                                          AdtsScanReport *report, GError **error);
  /* Maps the file and calls build(). Adds kIo failures. */
  static std::unique_ptr<AdtsIndex> build_from_file(const std::string &path,
                                                    AdtsScanReport *report, GError **error);

  /* msgpack encoding (schema below, versioned) for the analysis cache:
   * ["montage-adts-index", 1, file_size, frame_words(bin, u16 LE each:
   * frame_length | (raw_blocks - 1) << 13), gaps [[frame, bytes]...],
   * runs [[first_frame, rate, channels, object_type, crc]...],
   * report [garbage_bytes, garbage_regions, first_garbage_offset, id3,
   * truncated_tail_bytes]]. About 2 bytes a frame (300 KB an hour). */
  std::vector<uint8_t> serialise() const;
  /* Rebuilds an index from serialise()'s bytes. Returns null with kBadIndex
   * on any malformed, truncated or inconsistent input (never throws). */
  static std::unique_ptr<AdtsIndex> deserialise(const uint8_t *data, size_t size, GError **error);

  size_t frame_count() const { return words_.size(); }
  AdtsFrame frame(size_t i) const; /* i < frame_count() */
  const std::vector<AdtsRun> &runs() const { return runs_; }
  const AdtsScanReport &report() const { return report_; }
  guint64 file_size() const { return file_size_; }   /* bytes scanned */
  GstClockTime duration() const;                     /* end of the last run, ns */

  /* Which run holds timeline position `t` (ns); the last run for t past the end. */
  size_t run_at(GstClockTime t) const;
  /* Index of the frame of run `run` whose samples include run sample
   * `sample`; the run's last frame when sample is past its end. O(log n). */
  size_t find_frame(size_t run, guint64 sample) const;

private:
  AdtsIndex() = default;
  bool finish(GError **error); /* checkpoints, run sample counts */

  guint64 file_size_ = 0;
  std::vector<guint16> words_; /* per frame: length | (raw_blocks - 1) << 13 */
  struct Gap {
    guint64 frame; /* garbage precedes this frame */
    guint64 bytes;
  };
  std::vector<Gap> gaps_; /* ascending frame; frame 0 may have one (leading junk) */
  struct Checkpoint {
    guint64 offset;
    guint64 sample; /* run-relative */
  };
  static constexpr size_t kCheckpointStride = 64;
  std::vector<Checkpoint> checkpoints_; /* frame k * kCheckpointStride */
  std::vector<AdtsRun> runs_;
  AdtsScanReport report_;
};

/* How AdtsExtractor maps times to samples and decodes. */
struct AdtsExtractOptions {
  /* Samples of encoder priming at the start of each run: timeline t = 0 is
   * decoded sample `priming`. 0 (default): the decoder's own timeline, the
   * same as a full decode by GStreamer or FFmpeg. 1024 for FFmpeg/libav
   * (avenc_aac), 2112 for Apple encoders. ADTS cannot tell which. */
  guint priming = 0;
  /* Frames decoded and dropped before the first needed frame. One is enough
   * for AAC-LC (each frame's output overlaps only the previous frame's MDCT
   * block); AAC Main/LTP prediction or SBR need more to be exact. */
  guint preroll_frames = 1;
  /* GStreamer decoder factory; empty: the highest-ranked decoder that takes
   * audio/mpeg, mpegversion=4, stream-format=adts (avdec_aac, then faad). */
  std::string decoder;
  /* Decoders working at once on one excerpt (1..8): the calling thread's
   * and one helper thread each for the others, started by open() and kept
   * (asleep between excerpts) until the extractor is destroyed. An excerpt
   * of at least 2 x `min_parallel_frames` frames is cut into consecutive
   * parts of about `min_parallel_frames` frames on the frame grid, which the
   * threads take one at a time, each decoding from its own pre-roll frame;
   * exact for the same reason one part is (bit-identical without PNS:
   * tests). When the calling thread has no part left and a helper's part is
   * late (a preempted helper on a busy machine), it decodes that part too
   * and the first copy to finish is used. Costs one extra pre-roll frame per
   * part (64 frames: 1.6 %). 0: the number of processors, at most 4. */
  guint decoders = 0;
  guint min_parallel_frames = 64;
};

/* Decoded excerpt: interleaved 32-bit float samples. */
struct PcmExcerpt {
  guint rate = 0;
  guint channels = 0;
  std::vector<float> samples; /* frames x channels, interleaved */
  GstClockTime start = 0;     /* timeline time of the first sample (>= the t0 asked) */
  size_t frames() const { return channels ? samples.size() / channels : 0; }
};

/* Exact extraction from one ADTS file with its index. Keeps the file mapped
 * and its decoders open, warm and linked to our own pads (no pipeline, no
 * bus thread), so repeated extractions cost only decoding: a 10 s AAC-LC
 * stereo excerpt takes about 7 ms of CPU here with avdec_aac, split over the
 * decoders (bench/adts). Each part's decoded samples are written straight
 * into the caller's PcmExcerpt: passing the same PcmExcerpt again reuses its
 * storage (no allocation or page faults for an excerpt no longer than the
 * last). Not thread-safe: one extraction at a time per object. With priming
 * and several runs, each run's timeline starts at AdtsRun::start. */
class AdtsExtractor
{
public:
  ~AdtsExtractor();
  /* Maps `path` and checks it against `index` (same size; the first frames
   * parse where the index says). `index` must outlive the extractor.
   * Starts the decoders (options.decoders) and runs each over the first
   * frames, so that the first excerpt pays no first-use costs (about 50 ms
   * here for two avdec_aac). Fails with kIo, kBadIndex (index of another
   * file) or kDecoder (no AAC decoder: install gstreamer1.0-libav; or it
   * decodes nothing from the first frames). */
  static std::unique_ptr<AdtsExtractor> open(const std::string &path, const AdtsIndex &index,
                                             const AdtsExtractOptions &options, GError **error);

  /* Decodes the samples whose times lie in [start, end) (ns, timeline of the
   * options' priming): sample n of a run has time run.start + n * 1e9 / rate,
   * first sample ceil(start * rate / 1e9). end past the stream is clamped to
   * its end. Fails with kRange (empty, or start at/after the end), kSpansRuns
   * (the range crosses a stream change: extract each side separately) or
   * kDecoder (decoder error or dropped frames, e.g. damaged payload). `out`
   * is resized to the excerpt (its capacity kept); on failure its samples
   * are unspecified. */
  bool extract(GstClockTime start, GstClockTime end, PcmExcerpt &out, GError **error);

  /* Same, in samples of run `run`: count samples from `first` (decoder
   * timeline plus priming, i.e. run sample first + priming). */
  bool extract_samples(size_t run, guint64 first, guint64 count, PcmExcerpt &out, GError **error);

  /* Name of the decoder factory in use. */
  std::string decoder_name() const;

  /* Decoders in use (1 + helper threads), after open(). */
  guint decoders() const;

  /* Since open(): parts handed to the decoders by excerpts decoded in
   * parallel, and how many of them the calling thread decoded a second time
   * because a helper was late (diagnostics, bench/adts). */
  void part_counts(guint64 &parts, guint64 &redone) const;

private:
  AdtsExtractor() = default;
  struct Impl;
  struct Pool;
  std::unique_ptr<Impl> impl_;  /* the calling thread's decoder */
  std::unique_ptr<Pool> pool_;  /* helper decoders and their threads */
};

} // namespace montage
