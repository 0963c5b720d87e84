#!/usr/bin/python3
"""What the MIDI scores of the benchmark songs show of two metrical-level cues, at three levels.

    bench/beat/midi_cues.py [--only SUBSTRING]

Before a cue for the tempo octave is built into the tracker, this tells whether it is there in the
music at all: it reads the notes of each MIDI song build-sets.sh rendered (the first 150 s, what is
rendered and scored) and prints, for a beat of half, one and two notated beats (twice, once and half
the notated tempo):

  chord  the change of the pitch-class set (Jaccard distance of the non-drum notes starting in
         consecutive half-beat slots) on the "and"s over that on the beats. Goto (2001) tells the
         beat from its subdivisions by chords changing on beats; at the notated level this should
         stay well under 1, and at half or twice it differ from that.
  pitched / drums  note-ons (within 1/16 beat) at 1/4, 1/2 and 3/4 of the beat over those on it,
         non-drum and drum notes apart: the onset profile of a beat interval, for a tatum-to-beat
         ratio (Klapuri, Eronen and Astola 2006) or a test on the midpoints.

and once per song (`voices`) the median interval between successive note-ons of one non-drum
channel (each channel with more than 20 onsets, pooled), in notated beats and in ms: the note value
the composer wrote most, which a notation convention ("the beat is the quarter, the running notes
eighths") would tie to the beat.

Positions count in ticks from the file's start (a beat of two notated beats starts on the notated
beats 1 and 3 of a 4/4 bar), so tempo changes do not move them. A song whose notated level reads
like the other levels on a cue cannot be mended by that cue, whatever the audio front end.
docs/beat-benchmark.md's thirty-third and thirty-fifth rounds quote this script's output.
"""
import argparse
import glob
import importlib.util
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
LEVELS = (0.5, 1.0, 2.0)  # notated beats per beat


def notes_of(path):
    """(tick, note, is_drum) of every note-on in the first RENDERED_S seconds, and ticks per beat."""
    mid = mido.MidiFile(path)
    tempos, _, _, _ = midi_truth.tempo_and_meter_maps(mid)
    to_s = midi_truth.tick_to_seconds(tempos, mid.ticks_per_beat)
    out = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == 'note_on' and msg.velocity > 0 and to_s(tick) <= RENDERED_S:
                out.append((tick, msg.note, msg.channel == 9))
    return sorted(out), mid.ticks_per_beat


def voice_ioi(path):
    """Median interval between successive note-ons of one non-drum channel (channels with more than
    20 onsets in the first RENDERED_S seconds, pooled), in notated beats and in seconds."""
    mid = mido.MidiFile(path)
    tempos, _, _, _ = midi_truth.tempo_and_meter_maps(mid)
    to_s = midi_truth.tick_to_seconds(tempos, mid.ticks_per_beat)
    starts = {}
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == 'note_on' and msg.velocity > 0 and msg.channel != 9 and to_s(tick) <= RENDERED_S:
                starts.setdefault(msg.channel, set()).add(tick)
    beats, secs = [], []
    for ticks in starts.values():
        if len(ticks) > 20:
            ticks = sorted(ticks)
            beats += [(b - a) / mid.ticks_per_beat for a, b in zip(ticks, ticks[1:])]
            secs += [to_s(b) - to_s(a) for a, b in zip(ticks, ticks[1:])]
    if not beats:
        return float('nan'), float('nan')
    return sorted(beats)[len(beats) // 2], sorted(secs)[len(secs) // 2]


def chord_ratio(notes, beat_ticks):
    """Mean pitch-class set change into the "and" slots over that into the beat slots (half-beat
    slots, non-drum notes; a slot without notes is left out); nan where either has none."""
    slot = beat_ticks / 2
    sets = {}
    for tick, note, drum in notes:
        if not drum:
            sets.setdefault(int(tick // slot), set()).add(note % 12)
    change, count = [0.0, 0.0], [0, 0]
    for k, pcs in sets.items():
        prev = sets.get(k - 1)
        if prev:
            change[k % 2] += 1 - len(pcs & prev) / len(pcs | prev)
            count[k % 2] += 1
    if not count[0] or not count[1] or change[0] == 0:
        return float('nan')
    return (change[1] / count[1]) / (change[0] / count[0])


def profile(notes, beat_ticks, drums):
    """Note-ons at 1/4, 1/2 and 3/4 of the beat over those on it (within 1/16 beat)."""
    at = [0, 0, 0, 0]
    for tick, _, drum in notes:
        if drum != drums:
            continue
        x = (tick % beat_ticks) / beat_ticks * 4
        k = round(x)
        if abs(x - k) <= 0.25:
            at[k % 4] += 1
    return [a / at[0] if at[0] else float('nan') for a in at[1:]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--only', default='')
    args = ap.parse_args()
    songs = sorted(glob.glob(CACHE + '/audio/*.beats'))
    songs = [s for s in songs if args.only in os.path.basename(s)]
    if not songs:
        sys.exit('midi_cues: no songs; run bench/beat/build-sets.sh first')
    for beats in songs:
        name = os.path.basename(beats)[:-len('.beats')]
        found = glob.glob(CACHE + '/pkg/**/' + name.split('-', 1)[1] + '.mid', recursive=True)
        if not found:
            print(f'{name:32s} no MIDI file under {CACHE}/pkg')
            continue
        notes, tpq = notes_of(found[0])
        ioi_beats, ioi_s = voice_ioi(found[0])
        print(f'{name:32s} voices: median note-on interval {ioi_beats:5.3f} notated beats, {1000 * ioi_s:4.0f} ms')
        for level in LEVELS:
            ticks = tpq * level

            def fmt(v):
                return ' '.join(f'{x:4.2f}' for x in v)
            print(f'{name:32s} x{1 / level:3.1f} tempo  chord {chord_ratio(notes, ticks):4.2f}  '
                  f'pitched {fmt(profile(notes, ticks, False))}  drums {fmt(profile(notes, ticks, True))}')


if __name__ == '__main__':
    main()
