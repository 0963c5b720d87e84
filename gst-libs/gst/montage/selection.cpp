/* gst-montage: the selection engine. See selection.h and docs/planner.md. */
#include <gst/montage/selection.h>

#include <nanoflann.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace montage
{

namespace
{

constexpr double kLogSharpnessMax = 8.006700845; /* log(1 + 3000) */

/* splitmix64 (Steele, Lea, Flood 2014): a fixed mixing function, so jitter
 * draws are the same on every platform and independent of which items a
 * choice happened to walk. */
guint64 mix(guint64 x)
{
  x += G_GUINT64_CONSTANT(0x9E3779B97F4A7C15);
  x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT(0xBF58476D1CE4E5B9);
  x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT(0x94D049BB133111EB);
  return x ^ (x >> 31);
}

double unit_draw(guint64 seed, guint64 choice, guint64 item)
{
  guint64 h = mix(mix(mix(seed) ^ choice) ^ item);
  return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

double raw_axis(const ShotFeatures &f, std::size_t axis)
{
  switch (axis) {
  case kAxisMotion:
    return f.motion_mean;
  case kAxisSharpness:
    return std::log1p(std::max(0.0, f.sharpness));
  case kAxisBrightness:
    return f.brightness;
  case kAxisContrast:
    return f.contrast;
  default:
    return f.colourfulness;
  }
}

double percentile(std::vector<double> v, double q)
{
  std::sort(v.begin(), v.end());
  double pos = q * (double)(v.size() - 1);
  std::size_t i = (std::size_t)pos;
  double frac = pos - (double)i;
  if (i + 1 >= v.size())
    return v.back();
  return v[i] + frac * (v[i + 1] - v[i]);
}

} // namespace

FeatureScale::FeatureScale()
    : lo{{0.0, 0.0, 0.0, 0.0, 0.0}}, hi{{32.0, kLogSharpnessMax, 255.0, 96.0, 110.0}}
{
}

FeatureScale FeatureScale::fit(const std::vector<const ShotFeatures *> &pool)
{
  FeatureScale scale;
  std::vector<const ShotFeatures *> with;
  for (const ShotFeatures *f : pool)
    if (f)
      with.push_back(f);
  if (with.size() < 2)
    return scale;
  for (std::size_t a = 0; a < kFeatureAxes; a++) {
    std::vector<double> values;
    values.reserve(with.size());
    for (const ShotFeatures *f : with)
      values.push_back(raw_axis(*f, a));
    double lo = percentile(values, 0.05), hi = percentile(values, 0.95);
    if (std::isfinite(lo) && std::isfinite(hi) && hi - lo > 1e-9) {
      scale.lo[a] = lo;
      scale.hi[a] = hi;
    }
  }
  return scale;
}

FeaturePoint FeatureScale::normalise(const ShotFeatures &f) const
{
  FeaturePoint p{};
  for (std::size_t a = 0; a < kFeatureAxes; a++) {
    double v = (raw_axis(f, a) - lo[a]) / (hi[a] - lo[a]);
    p[a] = std::isfinite(v) ? std::clamp(v, 0.0, 1.0) : 0.0;
  }
  return p;
}

FeaturePoint target_point(const TargetProfile &profile, const MusicMoment &moment)
{
  double e = std::isfinite(moment.energy) ? std::clamp(moment.energy, 0.0, 1.0) : 1.0;
  FeaturePoint p{};
  for (std::size_t a = 0; a < kFeatureAxes; a++)
    p[a] = profile.calm[a] + e * (profile.peak[a] - profile.calm[a]);
  return p;
}

double score_total(const ScoreBreakdown &s, const SelectionWeights &w)
{
  return w.closeness * s.closeness + w.freshness * s.freshness - w.reuse * s.reuse -
         w.jump_cut * s.jump_cut + w.variety * s.variety + w.match_cut * s.match_cut +
         w.inpoint * s.inpoint + w.fit * s.fit + w.jitter * s.jitter;
}

std::size_t shot_type(const SelectionItem &item)
{
  if (!item.has_features)
    return 12;
  const FeaturePoint &p = item.point;
  std::size_t motion = p[kAxisMotion] < 1.0 / 3.0 ? 0 : (p[kAxisMotion] < 2.0 / 3.0 ? 1 : 2);
  std::size_t bright = p[kAxisBrightness] < 0.5 ? 0 : 1;
  std::size_t colour = p[kAxisColourfulness] < 0.5 ? 0 : 1;
  return motion * 4 + bright * 2 + colour;
}

/* The K-D tree over the items with features, in axis-weighted coordinates
 * (each axis multiplied by sqrt(weight)), so plain L2 is the weighted
 * distance. */
struct SelectionEngine::Index {
  std::vector<std::array<double, kFeatureAxes>> points; /* weighted coordinates */
  std::vector<std::size_t> item_of;                     /* tree row -> item index */

  /* nanoflann dataset adaptor interface */
  std::size_t kdtree_get_point_count() const { return points.size(); }
  double kdtree_get_pt(std::size_t row, std::size_t dim) const { return points[row][dim]; }
  template <class BBox> bool kdtree_get_bbox(BBox &) const { return false; }

  using Tree = nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<double, Index>,
                                                   Index, (int)kFeatureAxes, std::size_t>;
  std::unique_ptr<Tree> tree;
};

SelectionEngine::SelectionEngine(const SelectionSettings &settings) : settings_(settings)
{
  settings_.neighbours = std::max<std::size_t>(1, settings_.neighbours);
  settings_.variety_window = std::max<std::size_t>(1, settings_.variety_window);
  for (double &w : settings_.axis_weights)
    w = std::isfinite(w) ? std::max(0.0, w) : 0.0;
}

SelectionEngine::~SelectionEngine() = default;

void SelectionEngine::set_items(std::vector<SelectionItem> items)
{
  items_ = std::move(items);
  dirty_ = true;
}

void SelectionEngine::update_item(std::size_t i, SelectionItem item)
{
  if (i >= items_.size())
    return;
  items_[i] = std::move(item);
  dirty_ = true;
}

void SelectionEngine::rebuild()
{
  index_ = std::make_unique<Index>();
  featureless_.clear();
  FeaturePoint scale{};
  for (std::size_t a = 0; a < kFeatureAxes; a++)
    scale[a] = std::sqrt(settings_.axis_weights[a]);
  for (std::size_t i = 0; i < items_.size(); i++) {
    if (!items_[i].has_features) {
      featureless_.push_back(i);
      continue;
    }
    std::array<double, kFeatureAxes> p{};
    for (std::size_t a = 0; a < kFeatureAxes; a++)
      p[a] = items_[i].point[a] * scale[a];
    index_->points.push_back(p);
    index_->item_of.push_back(i);
  }
  if (!index_->points.empty()) {
    index_->tree = std::make_unique<Index::Tree>((int)kFeatureAxes, *index_,
                                                 nanoflann::KDTreeSingleIndexAdaptorParams(10));
  }
  dirty_ = false;
}

ScoreBreakdown SelectionEngine::score(std::size_t i, const FeaturePoint &target,
                                      const ItemUse &use) const
{
  const SelectionItem &item = items_[i];
  ScoreBreakdown s;
  if (item.has_features) {
    double d2 = 0.0, max2 = 0.0;
    for (std::size_t a = 0; a < kFeatureAxes; a++) {
      double diff = item.point[a] - target[a];
      d2 += settings_.axis_weights[a] * diff * diff;
      max2 += settings_.axis_weights[a];
    }
    s.closeness = max2 > 0.0 ? std::clamp(1.0 - std::sqrt(d2 / max2), 0.0, 1.0) : 0.5;
  } else {
    s.closeness = 0.5;
  }
  s.freshness = std::clamp(use.freshness, 0.0, 1.0);
  s.reuse = use.reuse ? 1.0 : 0.0;
  s.jump_cut = prev_source_ && *prev_source_ == item.source ? 1.0 : 0.0;
  std::size_t type = shot_type(item);
  std::size_t same = (std::size_t)std::count(recent_types_.begin(), recent_types_.end(), type);
  s.variety = 1.0 - (double)same / (double)settings_.variety_window;
  if (!item.histogram.empty() && item.histogram.size() == prev_histogram_.size()) {
    double bc = 0.0;
    for (std::size_t b = 0; b < item.histogram.size(); b++)
      bc += std::sqrt(std::max(0.0f, item.histogram[b]) * std::max(0.0f, prev_histogram_[b]));
    s.match_cut = std::clamp(bc, 0.0, 1.0);
  }
  s.inpoint = std::clamp(use.inpoint, 0.0, 1.0);
  s.fit = std::clamp(use.fit, 0.0, 1.0);
  s.jitter = unit_draw(settings_.seed, choices_, i);
  s.total = score_total(s, settings_.weights);
  return s;
}

std::optional<Selection> SelectionEngine::choose(const FeaturePoint &target, const UsableFn &usable)
{
  if (dirty_)
    rebuild();
  std::optional<Selection> best;
  double second = -HUGE_VAL;
  std::size_t considered = 0, n_usable = 0;
  bool other_source = false;

  auto consider = [&](std::size_t i) {
    considered++;
    ItemUse use;
    if (!usable(i, use))
      return;
    n_usable++;
    if (!prev_source_ || items_[i].source != *prev_source_)
      other_source = true;
    ScoreBreakdown s = score(i, target, use);
    if (!best || s.total > best->score.total || (s.total == best->score.total && i < best->item)) {
      if (best)
        second = std::max(second, best->score.total);
      best = Selection{i, s, use, target, 0, 0, 0.0};
    } else {
      second = std::max(second, s.total);
    }
  };

  for (std::size_t i : featureless_)
    consider(i);

  const std::size_t n = index_->points.size();
  if (n > 0) {
    std::array<double, kFeatureAxes> query{};
    for (std::size_t a = 0; a < kFeatureAxes; a++)
      query[a] = target[a] * std::sqrt(settings_.axis_weights[a]);
    std::size_t k = std::min(n, settings_.neighbours * 2);
    std::vector<std::size_t> rows;
    std::vector<double> dists;
    std::vector<char> seen(n, 0);
    for (;;) {
      rows.resize(k);
      dists.resize(k);
      std::size_t found = index_->tree->knnSearch(query.data(), k, rows.data(), dists.data());
      /* Equal distances may come back in a different order from a search
       * with another k: skip the rows already walked. */
      for (std::size_t r = 0; r < found; r++) {
        if (seen[rows[r]])
          continue;
        seen[rows[r]] = 1;
        consider(index_->item_of[rows[r]]);
      }
      if (n_usable >= settings_.neighbours && other_source)
        break;
      if (k >= n)
        break;
      k = std::min(n, k * 2);
    }
  }
  if (!best)
    return std::nullopt;
  best->considered = considered;
  best->usable = n_usable;
  best->runner_up = n_usable > 1 ? second : best->score.total;
  return best;
}

void SelectionEngine::commit(const Selection &selection)
{
  if (selection.item < items_.size()) {
    const SelectionItem &item = items_[selection.item];
    prev_source_ = item.source;
    prev_histogram_ = item.histogram;
    recent_types_.push_back(shot_type(item));
    if (recent_types_.size() > settings_.variety_window)
      recent_types_.erase(recent_types_.begin());
  }
  choices_++;
}

void SelectionEngine::reset()
{
  prev_source_.reset();
  prev_histogram_.clear();
  recent_types_.clear();
  choices_ = 0;
}

} // namespace montage
