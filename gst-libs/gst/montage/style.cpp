/* gst-montage: edit styles. See style.h and docs/planner.md. */
#include <gst/montage/style.h>

#include <gio/gio.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>

namespace montage
{

namespace detail
{
/* styles-builtin.cpp, generated from data/styles/NAME.style by embed_styles.py. */
struct BuiltinStyleFile {
  const char *name;
  const char *text;
};
extern const BuiltinStyleFile builtin_style_files[];
extern const std::size_t n_builtin_style_files;
} // namespace detail

namespace
{

struct KeyFileDeleter {
  void operator()(GKeyFile *k) const { g_key_file_unref(k); }
};

class StyleParser
{
public:
  StyleParser(GKeyFile *kf, const std::string &origin, GError **error)
      : kf_(kf), origin_(origin), error_(error)
  {
  }

  bool fail(const char *group, const char *key, const std::string &what)
  {
    g_set_error(error_, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Style %s: [%s] %s %s",
                origin_.c_str(), group, key, what.c_str());
    return false;
  }

  bool number(const char *group, const char *key, double lo, double hi, double &out)
  {
    GError *e = nullptr;
    double v = g_key_file_get_double(kf_, group, key, &e);
    if (e) {
      g_error_free(e);
      return fail(group, key, "is not a number.");
    }
    if (!std::isfinite(v) || v < lo || v > hi)
      return fail(group, key,
                  "must lie between " + fmt(lo) + " and " + fmt(hi) + " (it is " + fmt(v) + ").");
    out = v;
    return true;
  }

  bool seconds(const char *group, const char *key, double hi, GstClockTime &out)
  {
    double s;
    if (!number(group, key, 0.0, hi, s))
      return false;
    out = (GstClockTime)std::llround(s * GST_SECOND);
    return true;
  }

  template <typename T> bool count(const char *group, const char *key, int lo, int hi, T &out)
  {
    GError *e = nullptr;
    gint v = g_key_file_get_integer(kf_, group, key, &e);
    if (e) {
      g_error_free(e);
      return fail(group, key, "is not a whole number.");
    }
    if (v < lo || v > hi)
      return fail(group, key,
                  "must lie between " + std::to_string(lo) + " and " + std::to_string(hi) + ".");
    out = (T)v;
    return true;
  }

  bool point(const char *group, const char *key, double hi, FeaturePoint &out)
  {
    gsize n = 0;
    GError *e = nullptr;
    gdouble *v = g_key_file_get_double_list(kf_, group, key, &n, &e);
    if (e) {
      g_error_free(e);
      return fail(group, key, "is not a list of numbers separated by ';'.");
    }
    std::unique_ptr<gdouble, decltype(&g_free)> owner(v, g_free);
    if (n != kFeatureAxes)
      return fail(group, key,
                  "needs 5 values (motion; sharpness; brightness; contrast; colourfulness).");
    for (gsize i = 0; i < n; i++)
      if (!std::isfinite(v[i]) || v[i] < 0.0 || v[i] > hi)
        return fail(group, key, "values must lie between 0 and " + fmt(hi) + ".");
    for (gsize i = 0; i < n; i++)
      out[i] = v[i];
    return true;
  }

  bool transition(const char *group, const char *key, Transition &out)
  {
    gchar *v = g_key_file_get_string(kf_, group, key, nullptr);
    std::string s = v ? v : "";
    g_free(v);
    if (s == "cut")
      out = Transition::kCut;
    else if (s == "dissolve")
      out = Transition::kDissolve;
    else if (s == "fade")
      out = Transition::kFade;
    else
      return fail(group, key, "must be cut, dissolve or fade.");
    return true;
  }

  bool text(const char *group, const char *key, std::string &out)
  {
    gchar *v = g_key_file_get_string(kf_, group, key, nullptr);
    if (!v)
      return fail(group, key, "is not valid text.");
    out = v;
    g_free(v);
    return true;
  }

  static std::string fmt(double v)
  {
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof buf, "%g", v);
    return buf;
  }

private:
  GKeyFile *kf_;
  std::string origin_;
  GError **error_;
};

using KeyFn = std::function<bool(StyleParser &, const char *, const char *, Style &)>;

/* Every key a style file may hold: [group] -> key -> how to read it. */
const std::map<std::string, std::map<std::string, KeyFn>> &style_keys()
{
  static const std::map<std::string, std::map<std::string, KeyFn>> keys = {
      {"style",
       {
           {"name", [](StyleParser &p, const char *g, const char *k,
                       Style &s) { return p.text(g, k, s.name); }},
           {"description", [](StyleParser &p, const char *g, const char *k,
                              Style &s) { return p.text(g, k, s.description); }},
       }},
      {"pacing",
       {
           {"beats-per-cut-low",
            [](StyleParser &p, const char *g, const char *k, Style &s) {
              return p.count(g, k, 1, 64, s.pacing.beats_per_cut_low);
            }},
           {"beats-per-cut-medium",
            [](StyleParser &p, const char *g, const char *k, Style &s) {
              return p.count(g, k, 1, 64, s.pacing.beats_per_cut_medium);
            }},
           {"beats-per-cut-high",
            [](StyleParser &p, const char *g, const char *k, Style &s) {
              return p.count(g, k, 1, 64, s.pacing.beats_per_cut_high);
            }},
           {"low-energy", [](StyleParser &p, const char *g, const char *k,
                             Style &s) { return p.number(g, k, 0.0, 1.0, s.pacing.low_energy); }},
           {"high-energy", [](StyleParser &p, const char *g, const char *k,
                              Style &s) { return p.number(g, k, 0.0, 1.0, s.pacing.high_energy); }},
           {"min-gap", [](StyleParser &p, const char *g, const char *k,
                          Style &s) { return p.seconds(g, k, 60.0, s.pacing.min_gap); }},
           {"max-hold", [](StyleParser &p, const char *g, const char *k,
                           Style &s) { return p.seconds(g, k, 600.0, s.pacing.max_hold); }},
           {"pace-weight",
            [](StyleParser &p, const char *g, const char *k, Style &s) {
              return p.number(g, k, 0.0, 100.0, s.pacing.pace_weight);
            }},
           {"downbeat-bonus",
            [](StyleParser &p, const char *g, const char *k, Style &s) {
              return p.number(g, k, 0.0, 100.0, s.pacing.downbeat_bonus);
            }},
           {"phrase-bonus",
            [](StyleParser &p, const char *g, const char *k, Style &s) {
              return p.number(g, k, 0.0, 100.0, s.pacing.phrase_bonus);
            }},
           {"phrase-bars", [](StyleParser &p, const char *g, const char *k,
                              Style &s) { return p.count(g, k, 1, 64, s.pacing.phrase_bars); }},
           {"fade-out", [](StyleParser &p, const char *g, const char *k,
                           Style &s) { return p.seconds(g, k, 60.0, s.pacing.fade_out); }},
           {"end-search", [](StyleParser &p, const char *g, const char *k,
                             Style &s) { return p.seconds(g, k, 60.0, s.pacing.end_search); }},
       }},
      {"weights",
       {
           {"closeness", [](StyleParser &p, const char *g, const char *k,
                            Style &s) { return p.number(g, k, 0.0, 1000.0, s.weights.closeness); }},
           {"freshness", [](StyleParser &p, const char *g, const char *k,
                            Style &s) { return p.number(g, k, 0.0, 1000.0, s.weights.freshness); }},
           {"reuse", [](StyleParser &p, const char *g, const char *k,
                        Style &s) { return p.number(g, k, 0.0, 1000.0, s.weights.reuse); }},
           {"jump-cut", [](StyleParser &p, const char *g, const char *k,
                           Style &s) { return p.number(g, k, 0.0, 1000.0, s.weights.jump_cut); }},
           {"variety", [](StyleParser &p, const char *g, const char *k,
                          Style &s) { return p.number(g, k, 0.0, 1000.0, s.weights.variety); }},
           {"match-cut", [](StyleParser &p, const char *g, const char *k,
                            Style &s) { return p.number(g, k, 0.0, 1000.0, s.weights.match_cut); }},
           {"inpoint", [](StyleParser &p, const char *g, const char *k,
                          Style &s) { return p.number(g, k, 0.0, 1000.0, s.weights.inpoint); }},
           {"fit", [](StyleParser &p, const char *g, const char *k,
                      Style &s) { return p.number(g, k, 0.0, 1000.0, s.weights.fit); }},
           {"jitter", [](StyleParser &p, const char *g, const char *k,
                         Style &s) { return p.number(g, k, 0.0, 1000.0, s.weights.jitter); }},
       }},
      {"selection",
       {
           {"neighbours", [](StyleParser &p, const char *g, const char *k,
                             Style &s) { return p.count(g, k, 1, 4096, s.neighbours); }},
           {"variety-window", [](StyleParser &p, const char *g, const char *k,
                                 Style &s) { return p.count(g, k, 1, 1024, s.variety_window); }},
       }},
      {"target",
       {
           {"calm", [](StyleParser &p, const char *g, const char *k,
                       Style &s) { return p.point(g, k, 1.0, s.target.calm); }},
           {"peak", [](StyleParser &p, const char *g, const char *k,
                       Style &s) { return p.point(g, k, 1.0, s.target.peak); }},
           {"axis-weights", [](StyleParser &p, const char *g, const char *k,
                               Style &s) { return p.point(g, k, 100.0, s.target.axis_weights); }},
       }},
      {"transitions",
       {
           {"normal", [](StyleParser &p, const char *g, const char *k,
                         Style &s) { return p.transition(g, k, s.transitions.normal); }},
           {"section-change",
            [](StyleParser &p, const char *g, const char *k,
               Style &s) { return p.transition(g, k, s.transitions.section_change); }},
           {"duration", [](StyleParser &p, const char *g, const char *k,
                           Style &s) { return p.seconds(g, k, 10.0, s.transitions.duration); }},
       }},
  };
  return keys;
}

} // namespace

std::vector<std::string> builtin_style_names()
{
  std::vector<std::string> names;
  for (std::size_t i = 0; i < detail::n_builtin_style_files; i++)
    names.push_back(detail::builtin_style_files[i].name);
  return names;
}

std::string builtin_style_text(const std::string &name)
{
  for (std::size_t i = 0; i < detail::n_builtin_style_files; i++)
    if (name == detail::builtin_style_files[i].name)
      return detail::builtin_style_files[i].text;
  return "";
}

bool parse_style(const std::string &text, const std::string &origin, Style &out, GError **error)
{
  std::unique_ptr<GKeyFile, KeyFileDeleter> kf(g_key_file_new());
  if (!g_key_file_load_from_data(kf.get(), text.c_str(), text.size(), G_KEY_FILE_NONE, error)) {
    if (error && *error)
      g_prefix_error(error, "Style %s: ", origin.c_str());
    return false;
  }
  Style style;
  StyleParser parser(kf.get(), origin, error);
  const auto &keys = style_keys();
  gsize n_groups = 0;
  gchar **groups = g_key_file_get_groups(kf.get(), &n_groups);
  std::unique_ptr<gchar *, decltype(&g_strfreev)> groups_owner(groups, g_strfreev);
  for (gsize gi = 0; gi < n_groups; gi++) {
    auto group = keys.find(groups[gi]);
    if (group == keys.end()) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                  "Style %s: unknown group [%s] (known: style, pacing, weights, selection, "
                  "target, transitions).",
                  origin.c_str(), groups[gi]);
      return false;
    }
    gsize n_keys = 0;
    gchar **names = g_key_file_get_keys(kf.get(), groups[gi], &n_keys, nullptr);
    std::unique_ptr<gchar *, decltype(&g_strfreev)> names_owner(names, g_strfreev);
    for (gsize ki = 0; ki < n_keys; ki++) {
      auto key = group->second.find(names[ki]);
      if (key == group->second.end())
        return parser.fail(groups[gi], names[ki], "is not a style key (see docs/planner.md).");
      if (!key->second(parser, groups[gi], names[ki], style))
        return false;
    }
  }
  if (style.pacing.high_energy < style.pacing.low_energy)
    return parser.fail("pacing", "high-energy", "must not be below low-energy.");
  if (style.pacing.max_hold < style.pacing.min_gap)
    return parser.fail("pacing", "max-hold", "must not be below min-gap.");
  out = std::move(style);
  return true;
}

bool load_style(const std::string &name_or_path, Style &out, GError **error)
{
  auto load_file = [&](const std::string &path) {
    gchar *contents = nullptr;
    gsize length = 0;
    if (!g_file_get_contents(path.c_str(), &contents, &length, error))
      return false;
    std::string text(contents, length);
    g_free(contents);
    return parse_style(text, path, out, error);
  };
  const std::string &v = name_or_path;
  bool is_path = v.find('/') != std::string::npos ||
                 (v.size() > 6 && v.compare(v.size() - 6, 6, ".style") == 0);
  if (is_path)
    return load_file(v);

  std::vector<std::string> dirs;
  if (const char *env = g_getenv("GST_MONTAGE_STYLE_PATH")) {
    gchar **parts = g_strsplit(env, G_SEARCHPATH_SEPARATOR_S, -1);
    for (gchar **p = parts; *p; p++)
      if (**p)
        dirs.push_back(*p);
    g_strfreev(parts);
  }
  gchar *user = g_build_filename(g_get_user_data_dir(), "gst-montage", "styles", nullptr);
  dirs.push_back(user);
  g_free(user);
  for (const std::string &dir : dirs) {
    gchar *path = g_build_filename(dir.c_str(), (v + ".style").c_str(), nullptr);
    std::string p = path;
    g_free(path);
    if (g_file_test(p.c_str(), G_FILE_TEST_IS_REGULAR))
      return load_file(p);
  }
  std::string text = builtin_style_text(v);
  if (!text.empty())
    return parse_style(text, "built-in " + v, out, error);

  std::string known;
  for (const std::string &n : builtin_style_names())
    known += (known.empty() ? "" : ", ") + n;
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
              "There is no style named '%s': use one of %s, or give the path of a .style file.",
              v.c_str(), known.c_str());
  return false;
}

Style default_style()
{
  return Style{};
}

} // namespace montage
