/* gst-montage: the selection engine, shared by the planner (files) and
 * montageselect (live inputs).
 *
 * Every choosable thing (a shot of a clip, or a live input showing its
 * latest shot) is an item: a point in a five-axis feature space (motion,
 * sharpness, brightness, contrast, colourfulness; montagescene's
 * ShotFeatures, normalised to 0..1 by a FeatureScale) plus its colour
 * histogram and the source it comes from. At each cut the caller asks for
 * the item nearest to a target point (from the music at that moment and the
 * style, see target_point()); the engine walks the items in order of
 * distance with a nanoflann K-D tree, lets the caller say which are usable
 * now and how (freshness, reuse, in-point, fit), scores them with the
 * weighted terms below and returns the best with its score breakdown.
 *
 *   items ---set_items()---> K-D tree
 *   target + usable(item) ---choose()---> Selection (item, ScoreBreakdown)
 *   commit(selection): remembered for the jump-cut, variety and match-cut terms
 *
 * The engine knows nothing of clips, shots' times or pads: the caller keeps
 * its own bookkeeping (the planner tracks the used footage of every shot;
 * montageselect the latest features of each input) and answers usable().
 * Same items, calls and seed: same choices, on every platform.
 */
#pragma once

#include <gst/montage/types.h>

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace montage
{

/* The axes of the feature space, in the order of FeaturePoint. */
enum FeatureAxis : std::size_t {
  kAxisMotion = 0,
  kAxisSharpness,
  kAxisBrightness,
  kAxisContrast,
  kAxisColourfulness,
  kFeatureAxes
};

/* A point in the feature space, each axis normalised to 0..1. */
using FeaturePoint = std::array<double, kFeatureAxes>;

/* Maps montagescene's raw ShotFeatures to 0..1 per axis: (x - lo) / (hi - lo),
 * clamped, where sharpness is taken as log(1 + sharpness) first (the variance
 * of the Laplacian spans several decades).
 * The default ranges are montagescene's scales (docs/montagescene.md): motion
 * (mean absolute luma difference) 0..32, log(1 + sharpness) 0..log(1 + 3000),
 * brightness 0..255, contrast (luma standard deviation) 0..96, colourfulness
 * (Hasler and Suesstrunk) 0..110 ("extremely colourful" in their paper). */
class FeatureScale
{
public:
  FeatureScale();

  /* A scale fitted to a pool of shots: per axis the 5th and 95th percentiles
   * of the pool (robust to a few outliers), so that "high motion" means high
   * for this footage. Shots without features are skipped; an axis whose
   * percentiles coincide (or a pool with fewer than 2 shots with features)
   * keeps the default range. Never fails. */
  static FeatureScale fit(const std::vector<const ShotFeatures *> &pool);

  /* The normalised point of `f`, each axis in [0, 1]. */
  FeaturePoint normalise(const ShotFeatures &f) const;

  FeaturePoint lo; /* per axis, after the sharpness log */
  FeaturePoint hi; /* per axis, > lo */
};

/* What the music asks for at a cut. */
struct MusicMoment {
  double energy = 1.0; /* 0..1 (SongAnalysis energy at the cut) */
  Section::Level level = Section::Level::kMedium;
  bool downbeat = false;      /* the cut is on the first beat of a bar */
  bool phrase_start = false;  /* ... of a phrase (every few bars, or a section) */
  bool section_start = false; /* the cut is the first beat of a section */
};

/* Where the style puts the target at a given energy: per axis a straight line
 * from `calm` (energy 0) to `peak` (energy 1); `axis_weights` (>= 0) weigh the
 * axes in the distance. */
struct TargetProfile {
  FeaturePoint calm{{0.25, 0.5, 0.5, 0.4, 0.4}};
  FeaturePoint peak{{0.85, 0.7, 0.6, 0.75, 0.75}};
  FeaturePoint axis_weights{{2.0, 0.5, 0.5, 1.0, 1.0}};
};

/* The target point for `moment`: calm + energy * (peak - calm) per axis, with
 * energy clamped to 0..1. */
FeaturePoint target_point(const TargetProfile &profile, const MusicMoment &moment);

/* Weights of the scoring terms (all >= 0; 0 switches a term off). The score
 * of a candidate is
 *
 *   closeness*w.closeness + freshness*w.freshness - reuse*w.reuse
 *   - jump_cut*w.jump_cut + variety*w.variety + match_cut*w.match_cut
 *   + inpoint*w.inpoint + fit*w.fit + jitter*w.jitter
 *
 * A weight larger than the sum of all the positive ones makes its penalty a
 * hard rule (the built-in styles do this for jump cuts). Defaults are the
 * built-in "balanced" style's. */
struct SelectionWeights {
  double closeness = 1.0;
  double freshness = 1.0;
  double reuse = 2.0;
  double jump_cut = 8.0;
  double variety = 0.5;
  double match_cut = 0.0;
  double inpoint = 0.5;
  double fit = 0.5;
  double jitter = 0.3;
};

/* One candidate's terms, each in 0..1, and their weighted sum.
 * - closeness: 1 - (weighted distance to the target / largest possible
 *   distance); 0.5 for an item without features (it has no position).
 * - freshness: unused fraction of the item's footage (from the caller).
 * - reuse: 1 when this use shows footage seen earlier in the edit (caller).
 * - jump_cut: 1 when the item's source is the previous choice's source.
 * - variety: 1 - (choices of the same shot type among the last
 *   `variety_window` choices) / variety_window; see shot_type().
 * - match_cut: Bhattacharyya coefficient sum(sqrt(p * q)) of the item's
 *   histogram and the previous choice's (0 when either is missing or their
 *   bin counts differ).
 * - inpoint: how close the in-point is to the item's best moment (caller;
 *   0.5 when the best moment is unknown).
 * - fit: how well the use fills the footage it is taken from (caller).
 * - jitter: a seeded draw in [0, 1), from (seed, choice number, item). */
struct ScoreBreakdown {
  double closeness = 0.0;
  double freshness = 0.0;
  double reuse = 0.0;
  double jump_cut = 0.0;
  double variety = 0.0;
  double match_cut = 0.0;
  double inpoint = 0.0;
  double fit = 0.0;
  double jitter = 0.0;
  double total = 0.0; /* the weighted sum above */
};

/* The weighted sum of `s`'s terms under `w` (ignores s.total). */
double score_total(const ScoreBreakdown &s, const SelectionWeights &w);

/* One choosable item. */
struct SelectionItem {
  std::size_t source = 0;       /* clip or input: the same source twice in a row is a jump cut */
  bool has_features = false;    /* false: no position (closeness 0.5), always considered */
  FeaturePoint point{};         /* normalised features, 0..1 per axis */
  std::vector<float> histogram; /* sums to 1, or empty */
};

/* The shot type used by the variety term: a coarse class of the feature
 * point, motion in thirds (still, moving, action) x brightness in halves x
 * colourfulness in halves: 0..11; 12 for an item without features. */
std::size_t shot_type(const SelectionItem &item);

/* What the caller says about using an item at this cut: the caller-side
 * terms of ScoreBreakdown, each 0..1. */
struct ItemUse {
  double freshness = 1.0;
  bool reuse = false;
  double inpoint = 0.5;
  double fit = 0.5;
};

/* Answers whether `item` can be used at this cut; when it can, fills `use`
 * and returns true. Called at most once per item per choose(). */
using UsableFn = std::function<bool(std::size_t item, ItemUse &use)>;

/* The engine's answer. */
struct Selection {
  std::size_t item = 0;
  ScoreBreakdown score;
  ItemUse use;
  FeaturePoint target{};
  std::size_t considered = 0; /* items the engine asked usable() about */
  std::size_t usable = 0;     /* ... of which were usable */
  double runner_up = 0.0;     /* total of the second best usable item (= total when alone) */
};

/* Engine settings (the style's). */
struct SelectionSettings {
  SelectionWeights weights;
  FeaturePoint axis_weights{{2.0, 0.5, 0.5, 1.0, 1.0}}; /* distance weights per axis, >= 0 */
  /* Usable items to score per choice (>= 1): the engine walks the nearest
   * items until it has this many usable ones, and further while every usable
   * one so far shares the previous choice's source (so a jump cut is only
   * taken when nothing else is usable). Default 12. */
  std::size_t neighbours = 12;
  std::size_t variety_window = 8; /* choices remembered for the variety term, >= 1 */
  guint64 seed = 0;
};

/* The selection engine. Not thread-safe; cheap to create. */
class SelectionEngine
{
public:
  explicit SelectionEngine(const SelectionSettings &settings);
  ~SelectionEngine();
  SelectionEngine(const SelectionEngine &) = delete;
  SelectionEngine &operator=(const SelectionEngine &) = delete;

  /* Replaces the items and rebuilds the K-D tree (O(n log n)). Keeps the
   * history (previous choice, shot types) unless reset() is called. */
  void set_items(std::vector<SelectionItem> items);

  /* Replaces item `i` (a live input's latest shot); the tree is rebuilt on
   * the next choose(). Out-of-range `i` is ignored. */
  void update_item(std::size_t i, SelectionItem item);

  const std::vector<SelectionItem> &items() const { return items_; }

  /* The best usable item for `target`, or nullopt when no item is usable.
   * Walks items with features in order of weighted distance to `target`
   * (the K-D tree, expanding the search as needed), plus every item without
   * features, calling usable() once per item walked; scores each usable one
   * (ScoreBreakdown) and returns the highest total (ties: the lower index).
   * Does not change the engine's history: commit() does. */
  std::optional<Selection> choose(const FeaturePoint &target, const UsableFn &usable);

  /* Records `selection` as shown: the next choice's previous source and
   * histogram, the variety window, and the choice counter (jitter). */
  void commit(const Selection &selection);

  /* Forgets the history (previous choice, variety window, choice counter). */
  void reset();

  /* Number of choices committed since the last reset(). */
  std::size_t committed() const { return choices_; }

  const SelectionSettings &settings() const { return settings_; }

private:
  struct Index;
  void rebuild();
  ScoreBreakdown score(std::size_t i, const FeaturePoint &target, const ItemUse &use) const;

  SelectionSettings settings_;
  std::vector<SelectionItem> items_;
  std::vector<std::size_t> featureless_; /* items without features */
  std::unique_ptr<Index> index_;
  bool dirty_ = true;
  /* history */
  std::optional<std::size_t> prev_source_;
  std::vector<float> prev_histogram_;
  std::vector<std::size_t> recent_types_; /* last variety_window shot types */
  std::size_t choices_ = 0;
};

} // namespace montage
