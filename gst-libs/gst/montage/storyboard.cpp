/* Storyboard of a plan; see storyboard.h. */
#include <gst/montage/storyboard.h>

#include <cairo.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC(montage_storyboard_debug);
#define GST_CAT_DEFAULT montage_storyboard_debug

namespace montage {

namespace {

/* Decodes frames of one clip at given times with playbin's convert-sample. */
class FrameGrabber {
public:
  FrameGrabber(const std::string &uri, int height, GstClockTime timeout)
      : height_(height), timeout_(timeout)
  {
    playbin_ = gst_element_factory_make("playbin", nullptr);
    if (!playbin_)
      return;
    GstElement *vsink = gst_element_factory_make("fakesink", nullptr);
    GstElement *asink = gst_element_factory_make("fakesink", nullptr);
    g_object_set(playbin_, "uri", uri.c_str(), "video-sink", vsink, "audio-sink", asink, NULL);
    /* Upright where the container says the picture is stored turned (the
     * image-orientation tag of phones' portrait clips), as both render
     * paths show it: convert-sample takes the frame after this filter. */
    if (GstElement *flip = gst_element_factory_make("videoflip", nullptr)) {
      gst_util_set_object_arg(G_OBJECT(flip), "video-direction", "auto");
      g_object_set(playbin_, "video-filter", flip, NULL);
    }
    gst_element_set_state(playbin_, GST_STATE_PAUSED);
    ok_ = wait_async();
  }
  ~FrameGrabber()
  {
    if (playbin_) {
      gst_element_set_state(playbin_, GST_STATE_NULL);
      gst_object_unref(playbin_);
    }
  }

  /* A BGRx image `height_` pixels high at stream time `t`, or NULL; only
   * its first `max_width` columns (>= 1) are kept. */
  cairo_surface_t *grab(GstClockTime t, int max_width)
  {
    if (!ok_)
      return nullptr;
    if (!gst_element_seek_simple(playbin_, GST_FORMAT_TIME,
                                 (GstSeekFlags)(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE), t) ||
        !wait_async())
      return nullptr;
    GstCaps *caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "BGRx", "height",
                                        G_TYPE_INT, height_, "pixel-aspect-ratio",
                                        GST_TYPE_FRACTION, 1, 1, NULL);
    GstSample *sample = nullptr;
    g_signal_emit_by_name(playbin_, "convert-sample", caps, &sample);
    gst_caps_unref(caps);
    if (!sample)
      return nullptr;
    cairo_surface_t *surface = nullptr;
    GstVideoInfo info;
    GstBuffer *buf = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) &&
        gst_buffer_map(buf, &map, GST_MAP_READ)) {
      int w = std::min(GST_VIDEO_INFO_WIDTH(&info), std::max(1, max_width));
      int h = GST_VIDEO_INFO_HEIGHT(&info);
      surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
      unsigned char *dst = cairo_image_surface_get_data(surface);
      int dst_stride = cairo_image_surface_get_stride(surface);
      int src_stride = GST_VIDEO_INFO_PLANE_STRIDE(&info, 0);
      cairo_surface_flush(surface);
      for (int y = 0; y < h; y++)
        memcpy(dst + y * dst_stride, map.data + y * src_stride, (size_t)w * 4);
      cairo_surface_mark_dirty(surface);
      gst_buffer_unmap(buf, &map);
    }
    gst_sample_unref(sample);
    return surface;
  }

private:
  bool wait_async()
  {
    GstBus *bus = gst_element_get_bus(playbin_);
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, timeout_, (GstMessageType)(GST_MESSAGE_ASYNC_DONE | GST_MESSAGE_ERROR));
    gst_object_unref(bus);
    bool ok = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ASYNC_DONE;
    if (msg && !ok) {
      GError *err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      GST_WARNING("thumbnail: %s", err->message);
      g_error_free(err);
    }
    if (msg)
      gst_message_unref(msg);
    return ok;
  }
  GstElement *playbin_ = nullptr;
  int height_;
  GstClockTime timeout_;
  bool ok_ = false;
};

void set_level_colour(cairo_t *cr, Section::Level level)
{
  switch (level) {
  case Section::Level::kLow:
    cairo_set_source_rgb(cr, 0.86, 0.91, 0.97);
    break;
  case Section::Level::kMedium:
    cairo_set_source_rgb(cr, 0.97, 0.93, 0.80);
    break;
  case Section::Level::kHigh:
    cairo_set_source_rgb(cr, 0.98, 0.82, 0.80);
    break;
  }
}

/* Width in pixels of `text` (valid UTF-8) in the current font. */
double text_width(cairo_t *cr, const std::string &text)
{
  cairo_text_extents_t ext;
  cairo_text_extents(cr, text.c_str(), &ext);
  return ext.x_advance;
}

/* The longest label of segment number `number` showing `name` (valid UTF-8)
 * that fits in `room` pixels: "12 clip.webm", else "12 cli…" with at least
 * kMinNameChars characters of the name (all of a shorter one), else "12"
 * (which may not fit: the caller decides). Names longer than kMaxNameChars
 * are shortened anyway. */
constexpr glong kMinNameChars = 3, kMaxNameChars = 32;
std::string fit_label(cairo_t *cr, const std::string &number, const std::string &name, double room)
{
  const glong n_chars = g_utf8_strlen(name.c_str(), -1);
  for (glong keep = std::min(n_chars, kMaxNameChars); keep >= std::min(n_chars, kMinNameChars);
       keep--) {
    const gchar *end = g_utf8_offset_to_pointer(name.c_str(), keep);
    std::string label = number + " " + name.substr(0, (size_t)(end - name.c_str()));
    if (keep < n_chars)
      label += "\u2026";
    if (text_width(cr, label) <= room)
      return label;
  }
  return number;
}

} // namespace

bool write_storyboard(const Plan &plan, const SongAnalysis &song,
                      const std::vector<ClipAnalysis> &clips, const std::string &png_path,
                      const StoryboardOptions &options, GError **error)
{
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(montage_storyboard_debug, "montagestoryboard", 0, "storyboard");
    g_once_init_leave(&once, 1);
  }
  if (plan.segments.empty() || plan.duration == 0) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED, "the plan has no segments to draw");
    return false;
  }
  const int W = std::max(400, options.width);
  const int th = std::max(24, options.thumbnail_height);
  const int margin = 20, label_h = 14, curve_h = 160, axis_h = 24;
  const int thumb_rows = 2; /* alternate rows so narrow segments still show */
  const int H = margin + thumb_rows * (th + label_h) + 10 + curve_h + axis_h + margin;
  const double x0 = margin, x1 = W - margin;
  auto x_of = [&](GstClockTime t) { return x0 + (x1 - x0) * ((double)t / plan.duration); };

  cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 10);

  const double curve_top = margin + thumb_rows * (th + label_h) + 10;
  const double curve_bottom = curve_top + curve_h;

  /* Sections as bands behind the curve. */
  for (const Section &sec : song.sections) {
    if (sec.start >= plan.duration)
      continue;
    set_level_colour(cr, sec.level);
    cairo_rectangle(cr, x_of(sec.start), curve_top,
                    x_of(std::min(sec.end, plan.duration)) - x_of(sec.start), curve_h);
    cairo_fill(cr);
  }

  /* Energy curve. */
  std::vector<std::pair<GstClockTime, double>> points;
  if (!song.energy_curve.empty() && song.energy_interval > 0) {
    for (size_t i = 0; i < song.energy_curve.size(); i++)
      points.push_back({i * song.energy_interval, song.energy_curve[i]});
  } else {
    for (size_t i = 0; i < song.beats.size() && i < song.beat_energy.size(); i++)
      points.push_back({song.beats[i], song.beat_energy[i]});
  }
  cairo_set_source_rgb(cr, 0.15, 0.35, 0.7);
  cairo_set_line_width(cr, 1.5);
  bool first = true;
  for (const auto &p : points) {
    if (p.first > plan.duration)
      break;
    double y = curve_bottom - std::clamp(p.second, 0.0, 1.0) * (curve_h - 10);
    if (first)
      cairo_move_to(cr, x_of(p.first), y);
    else
      cairo_line_to(cr, x_of(p.first), y);
    first = false;
  }
  cairo_stroke(cr);

  /* Beats as ticks along the bottom of the curve area. */
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  cairo_set_line_width(cr, 1);
  for (size_t i = 0; i < song.beats.size(); i++) {
    if (song.beats[i] > plan.duration)
      break;
    bool down = i < song.downbeats.size() && song.downbeats[i];
    double x = std::round(x_of(song.beats[i])) + 0.5;
    cairo_move_to(cr, x, curve_bottom);
    cairo_line_to(cr, x, curve_bottom - (down ? 14 : 7));
  }
  cairo_stroke(cr);

  /* Time axis. */
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_move_to(cr, x0, curve_bottom + 0.5);
  cairo_line_to(cr, x1, curve_bottom + 0.5);
  cairo_stroke(cr);
  /* The axis's labels at least kAxisSpacing pixels apart, whatever the
   * length (a fixed 30 s step put an hour's labels 13 pixels apart, on top of
   * each other). */
  constexpr double kAxisSpacing = 80;
  GstClockTime step = 0;
  for (guint64 seconds :
       {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 18000, 36000, 86400}) {
    step = seconds * GST_SECOND;
    if ((x1 - x0) * ((double)step / plan.duration) >= kAxisSpacing)
      break;
  }
  for (GstClockTime t = 0; t <= plan.duration; t += step) {
    gchar *label = g_strdup_printf("%d:%02d", (int)(t / GST_SECOND / 60), (int)(t / GST_SECOND % 60));
    cairo_move_to(cr, x_of(t) - 10, curve_bottom + 16);
    cairo_show_text(cr, label);
    g_free(label);
  }

  /* Each row holds every other segment: a thumbnail may use the room up to
   * the next segment of its own row, never more. Its cut is at `x`. */
  auto cut_x = [&](size_t i) { return std::round(x_of(plan.segments[i].start)) + 0.5; };
  auto room = [&](size_t i) {
    GstClockTime room_end =
        i + thumb_rows < plan.segments.size() ? plan.segments[i + thumb_rows].start : plan.duration;
    return std::max(1.0, x_of(room_end) - cut_x(i) - 1);
  };

  /* The thumbnails first, one clip at a time: a clip's pipeline grabs all of
   * its segments' in-points (in plan order, as before) and is closed before
   * the next clip's opens, so at most one decoder is alive. Keeping every
   * clip's pipeline open to the end cost ~190 MB per 1080p H.264 clip
   * (decoded picture buffer, threads, queues): 7 GB for 40 clips. Each
   * thumbnail keeps only the columns its room shows, plus 2 for the half-
   * pixel offset at which it is painted (bilinear: a column blends with the
   * next), so the pixels drawn are the same as from the whole frame and all
   * thumbnails together hold at most about two rows of the picture. */
  std::vector<cairo_surface_t *> thumbs(plan.segments.size(), nullptr);
  {
    std::map<size_t, std::vector<size_t>> segments_of_clip;
    for (size_t i = 0; i < plan.segments.size(); i++)
      if (plan.segments[i].clip < clips.size())
        segments_of_clip[plan.segments[i].clip].push_back(i);
    for (const auto &c : segments_of_clip) {
      FrameGrabber grabber(clips[c.first].uri, th, options.frame_timeout);
      for (size_t i : c.second)
        thumbs[i] = grabber.grab(plan.segments[i].inpoint, (int)std::ceil(room(i)) + 2);
    }
  }

  /* Cuts, and the thumbnail of each segment's first frame above it, in
   * plan order; the labels below the thumbnails come after, over
   * everything. */
  for (size_t i = 0; i < plan.segments.size(); i++) {
    const Segment &seg = plan.segments[i];
    double x = cut_x(i);
    cairo_set_source_rgb(cr, 0.85, 0.1, 0.1);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, x, margin);
    cairo_line_to(cr, x, curve_bottom);
    cairo_stroke(cr);
    if (seg.clip >= clips.size())
      continue;
    int row = i % thumb_rows;
    double ty = margin + row * (th + label_h);
    cairo_surface_t *thumb = thumbs[i];
    thumbs[i] = nullptr;
    double tw = th * 16.0 / 9.0;
    cairo_save(cr);
    cairo_rectangle(cr, x, ty, room(i), th + label_h);
    cairo_clip(cr);
    if (thumb) {
      cairo_set_source_surface(cr, thumb, x, ty);
      cairo_paint(cr);
      cairo_surface_destroy(thumb);
    } else {
      cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
      cairo_rectangle(cr, x, ty, tw, th);
      cairo_fill(cr);
    }
    cairo_restore(cr);
  }

  /* Labels: the segment's number and its clip's name, starting just right of
   * its cut, on white so that no cut line crosses them, and never over one
   * another. A label gets the room up to the next cut of its row, shortening
   * the name to fit ("12 Megam…"), down to the number alone; a label that
   * would reach within kLabelGap of the last one drawn in its row is left
   * out (the thumbnails still show every segment). They were clipped to that
   * room instead: a dense edit showed runs of cut-off names ("1 c3 v5 N")
   * and numbers ("10 10 10" for 100-109), and the cuts of the other row ran
   * through them. */
  constexpr double kLabelGap = 10;
  std::vector<double> row_right(thumb_rows, -1e9); /* right end of each row's last label */
  for (size_t i = 0; i < plan.segments.size(); i++) {
    const Segment &seg = plan.segments[i];
    if (seg.clip >= clips.size())
      continue;
    const size_t row = i % thumb_rows;
    const double left = std::round(x_of(seg.start)) + 2;
    if (left < row_right[row] + kLabelGap)
      continue;
    const GstClockTime room_end =
        i + thumb_rows < plan.segments.size() ? plan.segments[i + thumb_rows].start : plan.duration;
    const double room = std::min(std::round(x_of(room_end)) - 2, W - 2.0) - left;
    /* The name as UTF-8 (bytes that are not are shown as U+FFFD): Cairo
     * draws nothing more once given a string that is no UTF-8. */
    gchar *base = g_filename_display_basename(clips[seg.clip].path.c_str());
    const std::string label = fit_label(cr, std::to_string(i), base, room);
    g_free(base);
    const double width = text_width(cr, label);
    if (left + width > W - 2)
      continue;
    const double band = margin + row * (th + label_h) + th;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, left - 1, band, width + 2, label_h);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, left, band + 11);
    cairo_show_text(cr, label.c_str());
    row_right[row] = left + width;
  }
  cairo_destroy(cr);

  /* Atomic: write next to the target, then rename. */
  gchar *tmp = g_strdup_printf("%s.partial-%d", png_path.c_str(), (int)getpid());
  cairo_status_t st = cairo_surface_write_to_png(surface, tmp);
  cairo_surface_destroy(surface);
  if (st != CAIRO_STATUS_SUCCESS || g_rename(tmp, png_path.c_str()) != 0) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "cannot write %s: %s", png_path.c_str(),
                st != CAIRO_STATUS_SUCCESS ? cairo_status_to_string(st) : g_strerror(errno));
    g_unlink(tmp);
    g_free(tmp);
    return false;
  }
  g_free(tmp);
  return true;
}

} // namespace montage
