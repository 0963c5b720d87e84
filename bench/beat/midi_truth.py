#!/usr/bin/python3
"""Exact beat and downbeat times of a MIDI file, from its tempo and time-signature maps.

    midi_truth.py FILE.mid            prints a one-line summary (tempo map, meters, grid fit, drums)
    midi_truth.py FILE.mid OUT.beats  also writes "time_seconds bar_position" per beat

A beat is the time signature's beat unit (a quarter note in x/4, a half in x/2, a dotted quarter
in compound x/8 meters such as 6/8 and 12/8, an eighth in simple x/8). Grid fit: the share of
note-ons within 1/24 beat of a sixteenth or triplet-eighth subdivision of the beat: a file whose
notes sit off that grid does not play where its tempo map says the beats are.

Repeat: how strongly the notes repeat at the notated beat or bar, the larger of the two
autocorrelations (Pearson, -1..1) of the note-on velocities summed in 1/12-beat slots (in ticks, so
tempo changes do not matter), at a lag of one beat and of one bar of the meter that covers most of
the file. Notes on a grid need not follow its beat: a file with no time signature is 4/4 by
default, and busy_schedule.mid's notes repeat every three sixteenths (0.85) but hardly at its
quarter note or bar (0.14, 0.20); what one hears there is a pulse of 3/4 of the notated beat, so
its tempo map gives no beats to score against. build-sets.sh drops a file under MIN_REPEAT; the
files it keeps measure 0.72-0.97.
"""
import sys

import mido

MIN_REPEAT = 0.5


def tempo_and_meter_maps(mid):
    tempos, metres = [(0, 500000)], [(0, 4, 4)]
    notes, drums = [], False
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == 'set_tempo':
                tempos.append((tick, msg.tempo))
            elif msg.type == 'time_signature':
                metres.append((tick, msg.numerator, msg.denominator))
            elif msg.type == 'note_on' and msg.velocity > 0:
                notes.append(tick)
                drums = drums or msg.channel == 9
    tempos.sort(key=lambda x: x[0])
    metres.sort(key=lambda x: x[0])
    # Keep the last event at each tick.
    tempos = list({t: (t, v) for t, v in tempos}.values())
    metres = list({t: (t, n, d) for t, n, d in metres}.values())
    return tempos, metres, sorted(notes), drums


def tick_to_seconds(tempos, tpq):
    def conv(tick):
        sec, last_tick, last_tempo = 0.0, 0, tempos[0][1]
        for t, tempo in tempos:
            if t > tick:
                break
            sec += (t - last_tick) * last_tempo / 1e6 / tpq
            last_tick, last_tempo = t, tempo
        return sec + (tick - last_tick) * last_tempo / 1e6 / tpq
    return conv


def beat_ticks(metres, tpq, end_tick):
    """(tick, bar_position, beats_per_bar) of every beat up to end_tick."""
    out = []
    for i, (start, num, den) in enumerate(metres):
        stop = metres[i + 1][0] if i + 1 < len(metres) else end_tick
        unit = tpq * 4 // den
        per_bar = num
        if den == 8 and num % 3 == 0 and num > 3:  # compound: dotted-quarter beats
            unit *= 3
            per_bar = num // 3
        tick, pos = start, 0
        while tick < stop:
            out.append((tick, pos % per_bar + 1, per_bar, unit))
            tick += unit
            pos += 1
    return out


def repeat_at_beat_or_bar(mid, metres):
    """The larger autocorrelation of the note-on envelope at one beat and at one bar (see above)."""
    tpq = mid.ticks_per_beat
    slot = tpq / 12.0
    hits = {}
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == 'note_on' and msg.velocity > 0:
                k = int(round(tick / slot))
                hits[k] = hits.get(k, 0) + msg.velocity
    if not hits:
        return 0.0
    n = max(hits) + 1
    env = [0.0] * n
    for k, v in hits.items():
        env[k] = float(v)
    mean = sum(env) / n
    env = [v - mean for v in env]
    energy = sum(v * v for v in env)
    # The meter in force over the most ticks gives the beat unit and the bar.
    spans = [(metres[i + 1][0] if i + 1 < len(metres) else n * slot) - start for i, (start, _, _) in
             enumerate(metres)]
    _, num, den = metres[max(range(len(metres)), key=lambda i: spans[i])]
    unit, per_bar = 12 * 4 / den, num
    if den == 8 and num % 3 == 0 and num > 3:
        unit, per_bar = unit * 3, num // 3

    def autocorr(lag_slots):
        lag = int(round(lag_slots))
        if energy <= 0 or lag <= 0 or lag >= n:
            return 0.0
        return sum(env[i] * env[i + lag] for i in range(n - lag)) / energy
    return max(autocorr(unit), autocorr(unit * per_bar))


def main():
    path = sys.argv[1]
    mid = mido.MidiFile(path)
    tpq = mid.ticks_per_beat
    tempos, metres, notes, drums = tempo_and_meter_maps(mid)
    if not notes:
        print(f'{path}: no notes')
        return
    to_s = tick_to_seconds(tempos, tpq)
    last = notes[-1]
    beats = [b for b in beat_ticks(metres, tpq, last + 1)]
    first_note = notes[0]
    # Grid fit relative to the beat unit in force at each note.
    on_grid = 0
    for n in notes:
        unit = next((u for t, _, _, u in reversed(beats) if t <= n), beats[0][3])
        base = next((t for t, _, _, _ in reversed(beats) if t <= n), 0)
        off = (n - base) % unit
        tol = unit / 24
        fits = any(min(off % (unit / k), unit / k - off % (unit / k)) <= tol for k in (4, 3))
        on_grid += fits
    bpms = sorted({round(60e6 / t, 1) for _, t in tempos})
    summary = (f'{path.split("/")[-1]}: tpq {tpq} tempi {len(tempos)} bpm {bpms[0]}-{bpms[-1]} '
               f'metres {[(n, d) for _, n, d in metres]} grid {on_grid / len(notes):.3f} '
               f'drums {int(drums)} first_note {to_s(first_note):.2f}s end {to_s(last):.1f}s '
               f'notes {len(notes)} repeat {repeat_at_beat_or_bar(mid, metres):.2f}')
    print(summary)
    if len(sys.argv) > 2:
        with open(sys.argv[2], 'w') as f:
            for tick, pos, per_bar, _ in beats:
                f.write(f'{to_s(tick):.6f} {pos} {per_bar}\n')


if __name__ == '__main__':
    main()
