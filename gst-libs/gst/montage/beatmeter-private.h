/* gst-montage: meter (3 or 4 beats per bar) and bar positions of a beat
 * sequence from per-beat accents. Internal to the beat tracker
 * (beattracker.cpp), which measures the accents; not installed. Split out
 * so that the counting and the phase choice can be tested on their own
 * (tests/test_beatmeter.cpp).
 *
 * The accents of beat i (each vector has one value per beat, in beat
 * order; value 0 for the first beat, which has no interval before it):
 *  - bass_acc: the bass-band spectral flux at the beat (any unit);
 *  - novelty: how much the band spectrum of the beat's interval differs
 *    from the interval before (any unit);
 *  - harmony: how much its chord differs (chord_change(): 1 less a cosine
 *    similarity, 0-2), or empty when there is no chroma.
 * Each is z-scored over the sequence before use, so only their shapes
 * matter; the chord change weighs 5 times the other two (the constants and
 * the measurements behind them are in beatmeter.cpp).
 *
 * `number` gives each beat's count from the first (beat_numbers()), so
 * that a gap in the beats does not shift the bar; empty means the index.
 * Bar positions are 1..per_bar, 1 on the bar's first beat (the downbeat).
 */
#pragma once

#include <glib.h>
#include <gst/gst.h>

#include <optional>
#include <vector>

namespace montage {
namespace beatmeter {

/* The count of each beat from the first (0), gaps included: the whole-song
 * pass drops the beats of quiet stretches, the live tracker has none over a
 * break, and a bar position counted by index would slip by the beats
 * missing. An interval of at least 1.75 times the median of the 8
 * intervals either side (the local beat period) counts as many beats as it
 * holds periods, rounded; a shorter one counts 1. `beats`: ascending times
 * (ns). Returns one count per beat, ascending. */
std::vector<long> beat_numbers(const std::vector<GstClockTime> &beats);

/* The meter (3 or 4) at which the chords change on one beat of the bar far
 * more than on the others, or 0 when they do not tell: for each meter, the
 * largest difference over the phases between the mean z-scored chord
 * change on that phase's beats and on the rest; a meter wins with a
 * difference of at least 0.25 z-units and 1.25 times the other meter's.
 * 0 under 64 beats (the contrast's standard error is about
 * sqrt(4.5 / n)). */
guint harmonic_meter(std::vector<double> harmony, const std::vector<long> &number = {});

/* The parity (0 or 1) of the beat counts (`number`, beat_numbers(); empty:
 * the index) on which the chords change more, where that parity's mean
 * z-scored chord change (`harmony`, as meter_of()'s; its standard
 * deviation floored as there) stands out from the other parity's by at
 * least 3 standard errors (the mean over the one parity less that over the
 * other, over sqrt(1/n_on + 1/n_off)); -1 where neither does, or with fewer
 * than 8 beats. Chords change on beats far more often than between them
 * (M. Goto, "An audio-based real-time beat tracking system for music with
 * or without drum-sounds", J. New Music Research 30(2), 2001: the
 * chord-change cue of the quarter-note level), so of beats tracked at twice
 * the tempo, the parity the chords change on holds the beats. The beat
 * tracker uses it where a tempo range halves the level (BeatTrackerConfig::
 * min_bpm). Two chords a bar at the right level show the same asymmetry:
 * this says which half, not whether to halve. */
int harmonic_parity(std::vector<double> harmony, const std::vector<long> &number = {});

/* The meter and bar positions from the three accents: the meter and phase
 * with the most accent (bass_acc + novelty + 5 * harmony, z-scores) on the
 * bar's first beat against the others (3 must win by 0.1 z-units), or
 * only the phase when `only` (3 or 4) gives the meter. `harmony` may be
 * empty. Sets per_bar to the meter; with fewer than 8 beats per_bar is 0
 * and every position 0. Returns one position (1..per_bar) per beat.
 *
 * confidence, when given, is set to how sure the bar is, 0..1: the
 * evidence for it in standard errors (the downbeats' accent contrast over
 * sqrt(1/n_on + 1/n_off), the combined accent z-scored) beyond both the
 * best contrast at a period no meter has (5 and 7 beats: what any grouping
 * of these beats shows by chance) and the meter's next best phase (a bar
 * line one or two beats off), divided by 4 and clipped (0 with under 8
 * beats). Measured (bench/beat, offline, the accents' own bar, without
 * `start`): the benchmark songs whose bars are right 0.32-1.00,
 * slow_neasy_redfarn and midnight_snow_run (bar line off) 0 and 0.10,
 * hard-105 (a beat late) 0.21, unaccented click tracks 0-0.17, clicks
 * accented every 3 or 4 beats 0.64-0.86. A song whose beats are at the wrong level (twice or
 * half the tempo) can still have confident bars of those beats.
 *
 * start, when given, is the beat count (as in `number`; it may be negative,
 * before the first beat) at which the music starts. Where the chosen bar's
 * evidence is under 1 standard error (a confidence under 0.25) the accents
 * do not decide the bar line, and the bar starts there instead (same
 * meter): Lerdahl and Jackendoff's "strong beat early" (metrical preference
 * rule 2, A Generative Theory of Tonal Music, 1983) for the piece as a
 * whole. The confidence is then that bar's own evidence (usually 0). A
 * piece that starts on an upbeat (an anacrusis) or is cut inside a bar gets
 * a bar line off by that much, in place of one the accents did not back. */
std::vector<guint> meter_of(std::vector<double> bass_acc, std::vector<double> novelty,
                            guint &per_bar, guint only = 0, std::vector<double> harmony = {},
                            const std::vector<long> &number = {}, double *confidence = nullptr,
                            std::optional<long> start = std::nullopt);

/* meter_of() for the live tracker's beats: the meter from the chord changes
 * (harmonic_meter()) or else from the bass onset and band novelty alone
 * (the chord change, at its weight, would let a few beats' noise pick the
 * meter), then the phase from all three. */
std::vector<guint> causal_meter(const std::vector<double> &bass_acc,
                                const std::vector<double> &novelty,
                                const std::vector<double> &harmony, guint &per_bar,
                                const std::vector<long> &number = {}, double *confidence = nullptr);

} // namespace beatmeter
} // namespace montage
