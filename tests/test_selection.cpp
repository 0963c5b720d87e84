/* Tests of the selection engine (selection.h) and styles (style.h), on
 * hand-made items: no pipeline, no media. */
#include <gst/montage/selection.h>
#include <gst/montage/style.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace montage;

namespace
{

SelectionItem item_at(std::size_t source, FeaturePoint p)
{
  SelectionItem it;
  it.source = source;
  it.has_features = true;
  it.point = p;
  return it;
}

/* Only the named term counts. */
SelectionSettings only(double SelectionWeights::*term, double weight = 1.0)
{
  SelectionSettings s;
  s.weights = SelectionWeights{0, 0, 0, 0, 0, 0, 0, 0, 0};
  s.weights.*term = weight;
  return s;
}

const UsableFn kAll = [](std::size_t, ItemUse &) { return true; };

/* n random items over `sources` sources (fixed generator: same on every run). */
std::vector<SelectionItem> random_items(std::size_t n, std::size_t sources, unsigned seed)
{
  std::mt19937 gen(seed);
  std::vector<SelectionItem> items;
  for (std::size_t i = 0; i < n; i++) {
    FeaturePoint p;
    for (double &v : p)
      v = (double)(gen() % 10000) / 9999.0;
    items.push_back(item_at(i % sources, p));
  }
  return items;
}

double weighted_distance(const FeaturePoint &a, const FeaturePoint &b, const FeaturePoint &w)
{
  double d = 0;
  for (std::size_t i = 0; i < kFeatureAxes; i++)
    d += w[i] * (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(d);
}

} // namespace

TEST(SelectionEngine, ChoosesTheItemNearestTheTarget)
{
  SelectionEngine engine(only(&SelectionWeights::closeness));
  auto items = random_items(500, 7, 1);
  engine.set_items(items);
  const FeaturePoint targets[] = {
      {{0.1, 0.2, 0.3, 0.4, 0.5}}, {{0.9, 0.9, 0.1, 0.5, 0.5}}, {{0.5, 0.5, 0.5, 0.5, 0.5}}};
  for (const FeaturePoint &target : targets) {
    std::size_t nearest = 0;
    for (std::size_t i = 1; i < items.size(); i++)
      if (weighted_distance(items[i].point, target, engine.settings().axis_weights) <
          weighted_distance(items[nearest].point, target, engine.settings().axis_weights))
        nearest = i;
    auto sel = engine.choose(target, kAll);
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel->item, nearest);
    EXPECT_LT(sel->considered, items.size()) << "the K-D tree walks only the nearest items";
    EXPECT_GE(sel->usable, engine.settings().neighbours);
  }
}

TEST(SelectionEngine, TreeAgreesWithScoringEveryItem)
{
  /* All terms on, neighbours = n: the tree walk must give exactly the answer
   * of scoring every item one by one. */
  auto items = random_items(300, 5, 2);
  SelectionSettings s;
  s.neighbours = items.size();
  s.seed = 9;
  SelectionEngine engine(s);
  engine.set_items(items);
  for (int step = 0; step < 20; step++) {
    FeaturePoint target{{0.05 * step, 0.5, 0.3, 1.0 - 0.05 * step, 0.5}};
    auto a = engine.choose(target, kAll);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->considered, items.size());
    /* score every item by hand with the engine's own breakdown */
    double best = -1e9;
    std::size_t best_i = 0;
    for (std::size_t i = 0; i < items.size(); i++) {
      auto one = engine.choose(target, [&](std::size_t j, ItemUse &) { return j == i; });
      ASSERT_TRUE(one);
      if (one->score.total > best) {
        best = one->score.total;
        best_i = i;
      }
    }
    EXPECT_EQ(a->item, best_i);
    engine.commit(*a);
  }
}

TEST(SelectionEngine, BreakdownTermsAreInRangeAndSumToTotal)
{
  SelectionSettings s;
  s.weights.match_cut = 1.0;
  SelectionEngine engine(s);
  auto items = random_items(50, 4, 3);
  for (std::size_t i = 0; i < items.size(); i++)
    items[i].histogram = {0.25f * (float)(i % 4), 1.0f - 0.25f * (float)(i % 4)};
  engine.set_items(items);
  for (int step = 0; step < 30; step++) {
    auto sel =
        engine.choose(FeaturePoint{{0.3, 0.3, 0.3, 0.3, 0.3}}, [&](std::size_t i, ItemUse &use) {
          use.freshness = (double)(i % 3) / 2.0;
          use.reuse = i % 5 == 0;
          use.inpoint = 0.25;
          use.fit = 0.75;
          return true;
        });
    ASSERT_TRUE(sel);
    const ScoreBreakdown &b = sel->score;
    for (double v : {b.closeness, b.freshness, b.reuse, b.jump_cut, b.variety, b.match_cut,
                     b.inpoint, b.fit, b.jitter}) {
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
    }
    EXPECT_DOUBLE_EQ(b.total, score_total(b, s.weights));
    EXPECT_DOUBLE_EQ(b.inpoint, 0.25);
    EXPECT_DOUBLE_EQ(b.fit, 0.75);
    EXPECT_GE(b.total, sel->runner_up);
    engine.commit(*sel);
  }
}

TEST(SelectionEngine, AvoidsJumpCutsWhileAnotherSourceIsUsable)
{
  /* Source 0 crowds the target; source 1 is far away. */
  std::vector<SelectionItem> items;
  for (int i = 0; i < 40; i++)
    items.push_back(item_at(0, {{0.5 + 0.001 * i, 0.5, 0.5, 0.5, 0.5}}));
  items.push_back(item_at(1, {{0.0, 0.0, 1.0, 0.0, 1.0}}));
  SelectionSettings s; /* balanced weights: jump-cut 8 outweighs the rest */
  s.neighbours = 4;
  SelectionEngine engine(s);
  engine.set_items(items);
  const FeaturePoint target{{0.5, 0.5, 0.5, 0.5, 0.5}};
  auto first = engine.choose(target, kAll);
  ASSERT_TRUE(first);
  EXPECT_EQ(items[first->item].source, 0u);
  EXPECT_EQ(first->score.jump_cut, 0.0);
  engine.commit(*first);
  auto second = engine.choose(target, kAll);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->item, 40u) << "the walk goes on until another source is usable";
  EXPECT_EQ(second->score.jump_cut, 0.0);
  engine.commit(*second);

  /* Only the previous source usable: a jump cut, and the breakdown says so. */
  auto third = engine.choose(target, [&](std::size_t i, ItemUse &) { return i == 40; });
  ASSERT_TRUE(third);
  EXPECT_EQ(third->score.jump_cut, 1.0);
}

TEST(SelectionEngine, FreshFootageBeatsReuse)
{
  auto items = random_items(20, 20, 4);
  SelectionSettings s;
  s.neighbours = items.size();
  SelectionEngine engine(s);
  engine.set_items(items);
  /* Every item but 13 reuses footage. */
  auto sel = engine.choose(FeaturePoint{{0.5, 0.5, 0.5, 0.5, 0.5}}, [](std::size_t i, ItemUse &u) {
    u.reuse = i != 13;
    u.freshness = i == 13 ? 1.0 : 0.0;
    return true;
  });
  ASSERT_TRUE(sel);
  EXPECT_EQ(sel->item, 13u);
  EXPECT_EQ(sel->score.reuse, 0.0);
  EXPECT_EQ(sel->score.freshness, 1.0);
}

TEST(SelectionEngine, MatchCutPrefersTheClosestHistogram)
{
  std::vector<SelectionItem> items;
  const std::vector<std::vector<float>> hists = {
      {1.0f, 0.0f, 0.0f}, {0.0f, 1.0f, 0.0f}, {0.1f, 0.1f, 0.8f}, {0.0f, 0.2f, 0.8f}};
  for (std::size_t i = 0; i < hists.size(); i++) {
    SelectionItem it = item_at(i, {{0.5, 0.5, 0.5, 0.5, 0.5}});
    it.histogram = hists[i];
    items.push_back(it);
  }
  SelectionEngine engine(only(&SelectionWeights::match_cut));
  engine.set_items(items);
  Selection prev;
  prev.item = 3; /* last shown: mostly the third bin */
  engine.commit(prev);
  auto sel = engine.choose(FeaturePoint{{0.5, 0.5, 0.5, 0.5, 0.5}},
                           [](std::size_t i, ItemUse &) { return i != 3; });
  ASSERT_TRUE(sel);
  EXPECT_EQ(sel->item, 2u);
  EXPECT_NEAR(sel->score.match_cut, std::sqrt(0.1 * 0.2) + std::sqrt(0.8 * 0.8), 1e-6);
  /* with the term off, nothing prefers it */
  SelectionEngine off(only(&SelectionWeights::jitter, 0.0));
  off.set_items(items);
  off.commit(prev);
  auto any = off.choose(FeaturePoint{{0.5, 0.5, 0.5, 0.5, 0.5}},
                        [](std::size_t i, ItemUse &) { return i != 3; });
  ASSERT_TRUE(any);
  EXPECT_EQ(any->score.total, 0.0);
  EXPECT_EQ(any->item, 0u) << "ties go to the lower index";
}

TEST(SelectionEngine, VarietyTurnsAwayFromAnOverusedShotType)
{
  /* Two still/dark items and one action/bright item. */
  std::vector<SelectionItem> items{item_at(0, {{0.1, 0.5, 0.2, 0.5, 0.2}}),
                                   item_at(1, {{0.1, 0.5, 0.2, 0.5, 0.2}}),
                                   item_at(2, {{0.9, 0.5, 0.8, 0.5, 0.8}})};
  EXPECT_EQ(shot_type(items[0]), shot_type(items[1]));
  EXPECT_NE(shot_type(items[0]), shot_type(items[2]));
  SelectionEngine engine(only(&SelectionWeights::variety));
  engine.set_items(items);
  for (int i = 0; i < 3; i++) {
    Selection s;
    s.item = (std::size_t)(i % 2);
    engine.commit(s);
  }
  auto sel = engine.choose(FeaturePoint{{0.1, 0.5, 0.2, 0.5, 0.2}}, kAll);
  ASSERT_TRUE(sel);
  EXPECT_EQ(sel->item, 2u);
  EXPECT_DOUBLE_EQ(sel->score.variety, 1.0);
}

TEST(SelectionEngine, DeterministicForASeed)
{
  auto items = random_items(400, 6, 5);
  auto run = [&](guint64 seed) {
    SelectionSettings s;
    s.seed = seed;
    s.weights.jitter = 2.0; /* let the seed matter */
    SelectionEngine engine(s);
    engine.set_items(items);
    std::vector<std::size_t> picks;
    for (int i = 0; i < 60; i++) {
      auto sel = engine.choose(FeaturePoint{{0.5, 0.4, 0.6, 0.5, 0.5}}, kAll);
      picks.push_back(sel->item);
      engine.commit(*sel);
    }
    return picks;
  };
  EXPECT_EQ(run(1), run(1));
  EXPECT_NE(run(1), run(2));
}

TEST(SelectionEngine, FeaturelessItemsAndLiveUpdates)
{
  std::vector<SelectionItem> items{item_at(0, {{0.9, 0.9, 0.9, 0.9, 0.9}}), SelectionItem{}};
  items[1].source = 1;
  SelectionEngine engine(only(&SelectionWeights::closeness));
  engine.set_items(items);
  auto sel = engine.choose(FeaturePoint{{0.0, 0.0, 0.0, 0.0, 0.0}}, kAll);
  ASSERT_TRUE(sel);
  EXPECT_EQ(sel->item, 1u) << "0.5 for no features beats a far item";
  EXPECT_DOUBLE_EQ(sel->score.closeness, 0.5);

  /* input 0's latest shot moved next to the target */
  engine.update_item(0, item_at(0, {{0.0, 0.0, 0.0, 0.0, 0.05}}));
  sel = engine.choose(FeaturePoint{{0.0, 0.0, 0.0, 0.0, 0.0}}, kAll);
  ASSERT_TRUE(sel);
  EXPECT_EQ(sel->item, 0u);

  EXPECT_FALSE(engine.choose(FeaturePoint{}, [](std::size_t, ItemUse &) { return false; }));
  SelectionEngine empty(SelectionSettings{});
  EXPECT_FALSE(empty.choose(FeaturePoint{}, kAll));
}

TEST(FeatureScale, NormalisesToTheUnitRange)
{
  ShotFeatures f;
  f.motion_mean = 64;   /* beyond the default range: clamped */
  f.brightness = 127.5; /* middle */
  f.sharpness = 0;
  FeaturePoint p = FeatureScale().normalise(f);
  EXPECT_DOUBLE_EQ(p[kAxisMotion], 1.0);
  EXPECT_DOUBLE_EQ(p[kAxisBrightness], 0.5);
  EXPECT_DOUBLE_EQ(p[kAxisSharpness], 0.0);

  std::vector<ShotFeatures> pool(21);
  std::vector<const ShotFeatures *> ptrs;
  for (std::size_t i = 0; i < pool.size(); i++) {
    pool[i].motion_mean = (double)i; /* 0..20 */
    pool[i].brightness = 100;        /* constant: keeps the default range */
    ptrs.push_back(&pool[i]);
  }
  FeatureScale fit = FeatureScale::fit(ptrs);
  EXPECT_DOUBLE_EQ(fit.lo[kAxisMotion], 1.0); /* 5th percentile */
  EXPECT_DOUBLE_EQ(fit.hi[kAxisMotion], 19.0);
  EXPECT_DOUBLE_EQ(fit.normalise(pool[10])[kAxisMotion], 0.5);
  EXPECT_DOUBLE_EQ(fit.hi[kAxisBrightness], 255.0);
}

TEST(TargetPoint, FollowsTheEnergy)
{
  TargetProfile profile;
  MusicMoment calm, peak, mid;
  calm.energy = 0.0;
  peak.energy = 1.0;
  mid.energy = 0.5;
  EXPECT_EQ(target_point(profile, calm), profile.calm);
  EXPECT_EQ(target_point(profile, peak), profile.peak);
  EXPECT_DOUBLE_EQ(target_point(profile, mid)[kAxisMotion],
                   (profile.calm[kAxisMotion] + profile.peak[kAxisMotion]) / 2);
}

TEST(Style, BuiltInStylesParse)
{
  auto names = builtin_style_names();
  ASSERT_GE(names.size(), 3u);
  EXPECT_EQ(names[0], "balanced");
  for (const std::string &name : names) {
    SCOPED_TRACE(name);
    Style style;
    GError *error = nullptr;
    ASSERT_TRUE(load_style(name, style, &error)) << error->message;
    EXPECT_EQ(style.name, name);
    EXPECT_FALSE(style.description.empty());
    EXPECT_GT(style.weights.jump_cut, style.weights.closeness + style.weights.freshness +
                                          style.weights.variety + style.weights.match_cut +
                                          style.weights.inpoint + style.weights.fit +
                                          style.weights.jitter)
        << "built-in styles make jump cuts a hard rule";
  }
  Style energetic, calm;
  ASSERT_TRUE(load_style("energetic", energetic, nullptr));
  ASSERT_TRUE(load_style("calm", calm, nullptr));
  EXPECT_LT(energetic.pacing.beats_per_cut_medium, calm.pacing.beats_per_cut_medium);
  EXPECT_EQ(calm.transitions.section_change, Transition::kDissolve);
  EXPECT_GT(calm.weights.match_cut, 0.0);
}

TEST(Style, BalancedFileIsTheDefault)
{
  Style parsed;
  ASSERT_TRUE(load_style("balanced", parsed, nullptr));
  Style def = default_style();
  EXPECT_EQ(parsed.description, def.description);
  EXPECT_EQ(parsed.pacing.beats_per_cut_low, def.pacing.beats_per_cut_low);
  EXPECT_EQ(parsed.pacing.beats_per_cut_medium, def.pacing.beats_per_cut_medium);
  EXPECT_EQ(parsed.pacing.beats_per_cut_high, def.pacing.beats_per_cut_high);
  EXPECT_EQ(parsed.pacing.min_gap, def.pacing.min_gap);
  EXPECT_EQ(parsed.pacing.max_hold, def.pacing.max_hold);
  EXPECT_EQ(parsed.pacing.fade_out, def.pacing.fade_out);
  EXPECT_EQ(parsed.pacing.end_search, def.pacing.end_search);
  EXPECT_EQ(parsed.pacing.phrase_bars, def.pacing.phrase_bars);
  EXPECT_DOUBLE_EQ(parsed.pacing.downbeat_bonus, def.pacing.downbeat_bonus);
  EXPECT_DOUBLE_EQ(parsed.pacing.phrase_bonus, def.pacing.phrase_bonus);
  EXPECT_DOUBLE_EQ(parsed.weights.jump_cut, def.weights.jump_cut);
  EXPECT_DOUBLE_EQ(parsed.weights.jitter, def.weights.jitter);
  EXPECT_DOUBLE_EQ(parsed.weights.fit, def.weights.fit);
  EXPECT_EQ(parsed.target.calm, def.target.calm);
  EXPECT_EQ(parsed.target.peak, def.target.peak);
  EXPECT_EQ(parsed.target.axis_weights, def.target.axis_weights);
  EXPECT_EQ(parsed.neighbours, def.neighbours);
  EXPECT_EQ(parsed.variety_window, def.variety_window);
}

TEST(Style, BuiltInTextIsTheDataFile)
{
  const char *src = g_getenv("GST_MONTAGE_SOURCE_DIR");
  if (!src)
    GTEST_SKIP() << "GST_MONTAGE_SOURCE_DIR is not set (run through meson test)";
  for (const std::string &name : builtin_style_names()) {
    std::ifstream in(std::string(src) + "/data/styles/" + name + ".style");
    ASSERT_TRUE(in) << name;
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str(), builtin_style_text(name)) << name;
  }
}

TEST(Style, BadFilesFailWithTheKeyNamed)
{
  Style style;
  GError *error = nullptr;
  EXPECT_FALSE(parse_style("[pacing]\nbeats-per-cut-lo=3\n", "t", style, &error));
  ASSERT_NE(error, nullptr);
  EXPECT_NE(std::string(error->message).find("beats-per-cut-lo"), std::string::npos)
      << error->message;
  g_clear_error(&error);

  EXPECT_FALSE(parse_style("[pacing]\nbeats-per-cut-low=0\n", "t", style, &error));
  EXPECT_TRUE(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
  g_clear_error(&error);

  EXPECT_FALSE(parse_style("[target]\ncalm=0.1;0.2\n", "t", style, &error));
  EXPECT_NE(std::string(error->message).find("5 values"), std::string::npos) << error->message;
  g_clear_error(&error);

  EXPECT_FALSE(parse_style("[colours]\nred=1\n", "t", style, &error));
  g_clear_error(&error);
  EXPECT_FALSE(parse_style("[transitions]\nnormal=wipe\n", "t", style, &error));
  g_clear_error(&error);
  EXPECT_FALSE(parse_style("[pacing]\nmin-gap=5\nmax-hold=2\n", "t", style, &error));
  g_clear_error(&error);
  EXPECT_FALSE(parse_style("not a key file", "t", style, &error));
  g_clear_error(&error);

  /* A partial file changes only what it names. */
  ASSERT_TRUE(parse_style("[pacing]\nbeats-per-cut-high=2\n[weights]\nmatch-cut=0.5\n", "t", style,
                          &error));
  EXPECT_EQ(style.pacing.beats_per_cut_high, 2u);
  EXPECT_EQ(style.pacing.beats_per_cut_low, Style{}.pacing.beats_per_cut_low);
  EXPECT_DOUBLE_EQ(style.weights.match_cut, 0.5);

  EXPECT_FALSE(load_style("no-such-style", style, &error));
  EXPECT_TRUE(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
  EXPECT_NE(std::string(error->message).find("energetic"), std::string::npos) << error->message;
  g_clear_error(&error);
}

TEST(Style, LoadsByPathAndFromTheSearchPath)
{
  GError *error = nullptr;
  gchar *dir = g_dir_make_tmp("test-style-XXXXXX", &error);
  ASSERT_NE(dir, nullptr);
  std::string path = std::string(dir) + "/mine.style";
  const char *text = "[style]\nname=mine\ndescription=test\n[pacing]\nbeats-per-cut-low=6\n";
  ASSERT_TRUE(g_file_set_contents(path.c_str(), text, -1, nullptr));

  Style style;
  ASSERT_TRUE(load_style(path, style, &error)) << error->message;
  EXPECT_EQ(style.name, "mine");
  EXPECT_EQ(style.pacing.beats_per_cut_low, 6u);

  g_setenv("GST_MONTAGE_STYLE_PATH", dir, TRUE);
  Style by_name;
  EXPECT_TRUE(load_style("mine", by_name, &error));
  EXPECT_EQ(by_name.pacing.beats_per_cut_low, 6u);
  g_unsetenv("GST_MONTAGE_STYLE_PATH");

  EXPECT_FALSE(load_style(std::string(dir) + "/missing.style", style, &error));
  EXPECT_TRUE(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
  g_clear_error(&error);
  g_remove(path.c_str());
  g_rmdir(dir);
  g_free(dir);
}
