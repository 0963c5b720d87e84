#!/usr/bin/python3
"""What marks the bar line in the MIDI scores of the benchmark songs: cues per notated bar position.

    bench/beat/midi_bars.py [--only SUBSTRING]

For each song scored for downbeats (one metre, 3 or 4 beats a bar, over what build-sets.sh renders:
the first 150 s), reads the notes with mido and prints, per notated bar position (1 = the downbeat),
per beat at that position:

  onsets    pitched (non-drum) note-ons within 1/8 beat of the beat
  velocity  their mean velocity
  bass      note-ons of the bass part (the channel with the lowest mean pitch)
  lowest    how often the lowest pitched note starting on the beat differs from the beat before's
  duration  mean length (beats) of the pitched notes starting on the beat
  kick / snare / crash   drum note-ons (GM 35-36 / 37, 38, 40 / 49, 52, 55, 57)
  newpc     pitch classes sounding in the beat (at least 0.3 beat of it) that did not sound in the beat
            before
  pcchange  one less the cosine of the pitch-class weights (beats each sounds) of the beat and of the
            beat before

and which position each cue favours ('*' when it is notated beat 1). Before a downbeat cue is built into
the tracker, this shows whether it is in the music at all (docs/beat-benchmark.md, thirty-fourth round).
"""
import argparse
import bisect
import glob
import importlib.util
import math
import os
import sys

import mido

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('midi_truth', os.path.join(HERE, 'midi_truth.py'))
midi_truth = importlib.util.module_from_spec(spec)
spec.loader.exec_module(midi_truth)
CACHE = os.path.expanduser(os.environ.get('GST_MONTAGE_BENCH_DIR', '~/.cache/gst-montage/bench')) + '/beat'
RENDERED_S = 150.0  # build-sets.sh keeps at most this much of each song
ON_BEAT = 0.125  # beats: a note-on this near a beat is on it
KICK, SNARE, CRASH = (35, 36), (37, 38, 40), (49, 52, 55, 57)


def notes_of(path):
    """(start tick, end tick, note, velocity, channel) of every note in the first RENDERED_S seconds,
    the beats [(tick, bar position, beats per bar, ticks per beat)] and the ticks per quarter note."""
    mid = mido.MidiFile(path)
    tempos, metres, _, _ = midi_truth.tempo_and_meter_maps(mid)
    to_s = midi_truth.tick_to_seconds(tempos, mid.ticks_per_beat)
    notes = []
    for track in mid.tracks:
        tick, on = 0, {}
        for msg in track:
            tick += msg.time
            if msg.type == 'note_on' and msg.velocity > 0:
                on.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
            elif msg.type == 'note_off' or (msg.type == 'note_on' and msg.velocity == 0):
                started = on.get((msg.channel, msg.note))
                if started:
                    s, v = started.pop(0)
                    notes.append((s, tick, msg.note, v, msg.channel))
    notes = [n for n in notes if to_s(n[0]) <= RENDERED_S]
    end = max(n[1] for n in notes)
    beats = [b for b in midi_truth.beat_ticks(metres, mid.ticks_per_beat, end) if to_s(b[0]) <= RENDERED_S]
    return notes, beats, mid.ticks_per_beat


def cues(notes, beats, tpq):
    """{cue: [value per bar position]} and the metre, or None when the beats have more than one."""
    metres = {b[2] for b in beats}
    if len(metres) != 1 or metres.pop() not in (3, 4):
        return None, 0
    m = beats[0][2]
    ticks = [b[0] for b in beats]
    nb = len(beats)

    def beat_of(tick):
        """Index of the beat a note-on at tick is on, or None when it is between beats."""
        i = bisect.bisect_right(ticks, tick) - 1
        if i < 0:
            return None
        f = (tick - ticks[i]) / beats[i][3]
        if f <= ON_BEAT:
            return i
        if f >= 1 - ON_BEAT and i + 1 < nb:
            return i + 1
        return None

    pitched = [n for n in notes if n[4] != 9]
    drums = [n for n in notes if n[4] == 9]
    pitch = {}
    for n in pitched:
        pitch.setdefault(n[4], []).append(n[2])
    bass_ch = min(pitch, key=lambda c: sum(pitch[c]) / len(pitch[c])) if pitch else None
    names = ('onsets', 'velocity', 'bass', 'lowest', 'duration', 'kick', 'snare', 'crash', 'newpc',
             'pcchange')
    sums = {k: [0.0] * m for k in names}
    count = [0] * m
    weights = [[0.0] * 12 for _ in range(nb)]
    lowest = [None] * nb
    for s, e, note, v, ch in pitched:
        i = max(0, bisect.bisect_right(ticks, s) - 1)
        while i < nb and ticks[i] < e:
            a, b = max(s, ticks[i]), min(e, ticks[i] + beats[i][3])
            if b > a:
                weights[i][note % 12] += (b - a) / beats[i][3]
            i += 1
        i = beat_of(s)
        if i is None:
            continue
        p = beats[i][1] - 1
        sums['onsets'][p] += 1
        sums['velocity'][p] += v
        sums['duration'][p] += (e - s) / beats[i][3]
        sums['bass'][p] += ch == bass_ch
        lowest[i] = note if lowest[i] is None else min(lowest[i], note)
    for s, _, note, _, _ in drums:
        i = beat_of(s)
        if i is not None:
            p = beats[i][1] - 1
            sums['kick'][p] += note in KICK
            sums['snare'][p] += note in SNARE
            sums['crash'][p] += note in CRASH
    for i in range(nb):
        count[beats[i][1] - 1] += 1
    for i in range(1, nb):
        p = beats[i][1] - 1
        a, b = weights[i], weights[i - 1]
        na, nb_ = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(x * x for x in b))
        if na > 0 and nb_ > 0:
            sums['pcchange'][p] += 1 - sum(x * y for x, y in zip(a, b)) / (na * nb_)
        sums['newpc'][p] += sum(1 for k in range(12) if a[k] >= 0.3 and b[k] == 0)
        if lowest[i] is not None and lowest[i - 1] is not None and lowest[i] != lowest[i - 1]:
            sums['lowest'][p] += 1
    out = {}
    for k in names:
        if k in ('velocity', 'duration'):
            out[k] = [sums[k][p] / sums['onsets'][p] if sums['onsets'][p] else 0.0 for p in range(m)]
        else:
            out[k] = [sums[k][p] / count[p] if count[p] else 0.0 for p in range(m)]
    return out, m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--only', default='')
    args = ap.parse_args()
    songs = sorted(glob.glob(CACHE + '/audio/*.beats'))
    songs = [s for s in songs if args.only in os.path.basename(s)]
    if not songs:
        sys.exit('midi_bars: no songs; run bench/beat/build-sets.sh first')
    for beats_file in songs:
        name = os.path.basename(beats_file)[:-len('.beats')]
        found = glob.glob(CACHE + '/pkg/**/' + name.split('-', 1)[1] + '.mid', recursive=True)
        if not found:
            print(f'{name:32s} no MIDI file under {CACHE}/pkg')
            continue
        notes, beats, tpq = notes_of(found[0])
        table, m = cues(notes, beats, tpq)
        if table is None:
            print(f'{name:32s} more than one metre (or not 3 or 4): not scored for downbeats')
            continue
        first = min(n[0] for n in notes)
        i = bisect.bisect_right([b[0] for b in beats], first) - 1
        print(f'{name:32s} {m} beats a bar, first note on bar position {beats[i][1]}')
        for k, v in table.items():
            best = max(range(m), key=lambda p: v[p])
            mark = '*' if best == 0 else f'  (position {best + 1})'
            print(f'    {k:9s}' + ''.join(f'{x:8.2f}' for x in v) + f'  {mark}')


if __name__ == '__main__':
    main()
