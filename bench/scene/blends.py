#!/usr/bin/python3
"""Fades and dissolves of generated pictures through montagescene: are they reported as such?

    bench/scene/blends.py --build build-main [--detector adaptive] [--lengths 2,3,4,...]

Pictures are videotestsrc patterns (320x240, 25 fps, RGB pushed by appsrc, I420 into the element;
no media file is written). Per pair of pictures and blend length n, four cases against their
known frames: a dissolve (40 frames, n blended, the next picture), a cut to black then a fade-in
(40, 30 black, n fading in), a fade-out then a cut out of black (40, n fading out, 30 black), and
a fade out and in through 10 black frames. Reports the cases whose boundary count or kind is
wrong, then how far each reported transition-start and transition-end is from the first blended
and first clean frame. Needs python3-gi, python3-numpy and the build's plugins.
"""
import argparse
import collections
import os
import sys

import gi
import numpy as np

gi.require_version('Gst', '1.0')
from gi.repository import Gst  # noqa: E402

W, H, FRAME_NS = 320, 240, 40000000
PAIRS = [('smpte', 'pinwheel'), ('colors', 'checkers-8'), ('gradient', 'smpte'),
         ('pinwheel', 'colors')]
_pictures = {}


def picture(pattern):
    if pattern not in _pictures:
        if pattern == 'black':
            _pictures[pattern] = np.zeros((H, W, 3), np.uint8)
        else:
            p = Gst.parse_launch(f'videotestsrc pattern={pattern} num-buffers=1 ! '
                                 f'video/x-raw,format=RGB,width={W},height={H} ! '
                                 'appsink name=s sync=false')
            p.set_state(Gst.State.PLAYING)
            buf = p.get_by_name('s').emit('pull-sample').get_buffer()
            ok, info = buf.map(Gst.MapFlags.READ)
            _pictures[pattern] = np.frombuffer(bytes(info.data), np.uint8).reshape(H, W, 3).copy()
            buf.unmap(info)
            p.set_state(Gst.State.NULL)
    return _pictures[pattern]


def frames_of(segments):
    """segments: ('pic', pattern, frames) or ('blend', n): n frames mixed from the last frame
    before to the first after, linearly in RGB."""
    out, pending = [], None
    for seg in segments:
        if seg[0] == 'blend':
            pending = seg[1]
            continue
        pic = picture(seg[1]).astype(np.float32)
        if pending:
            prev = out[-1].astype(np.float32)
            for k in range(1, pending + 1):
                t = k / (pending + 1)
                out.append((prev * (1 - t) + pic * t).round().astype(np.uint8))
            pending = None
        out += [pic.astype(np.uint8)] * seg[2]
    return out


def detect(frames, props):
    """Boundaries (frame, transition, start frame) and each new shot's end frame."""
    p = Gst.parse_launch(f'appsrc name=a format=time caps=video/x-raw,format=RGB,width={W},'
                         f'height={H},framerate=25/1 ! videoconvert ! video/x-raw,format=I420 ! '
                         f'montagescene {props} ! fakesink')
    src, bus = p.get_by_name('a'), p.get_bus()
    p.set_state(Gst.State.PLAYING)
    for i, f in enumerate(frames):
        buf = Gst.Buffer.new_wrapped(f.tobytes())
        buf.pts, buf.duration = i * FRAME_NS, FRAME_NS
        src.emit('push-buffer', buf)
    src.emit('end-of-stream')
    cuts, ends = [], []
    while True:
        m = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS |
                                   Gst.MessageType.ERROR | Gst.MessageType.ELEMENT)
        if m.type == Gst.MessageType.ELEMENT:
            st = m.get_structure()
            if st.get_name() == 'montage-scene':
                cuts.append((round(st.get_value('timestamp') / FRAME_NS),
                             st.get_value('transition'),
                             round(st.get_value('transition-start') / FRAME_NS)))
            elif st.get_name() == 'montage-shot' and st.get_value('index') > 0:
                ends.append(round(st.get_value('transition-end') / FRAME_NS))
            continue
        if m.type == Gst.MessageType.ERROR:
            sys.exit(f'pipeline error: {m.parse_error()[0].message}')
        break
    p.set_state(Gst.State.NULL)
    return cuts, ends


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', default='build', help='meson build directory (its gst/ plugins)')
    ap.add_argument('--detector', default='adaptive')
    ap.add_argument('--lengths', default='2,3,4,5,6,8,10,12,16,20,24,30,36,48')
    args = ap.parse_args()
    os.environ['GST_PLUGIN_PATH'] = os.path.join(os.path.abspath(args.build), 'gst')
    Gst.init(None)
    wrong, total = 0, 0
    start_err, end_err = collections.Counter(), collections.Counter()
    for a, b in PAIRS:
        for n in [int(x) for x in args.lengths.split(',')]:
            cases = {
                'dissolve': ([('pic', a, 40), ('blend', n), ('pic', b, 40)],
                             [('dissolve', 40, 40 + n)]),
                'cut to black, fade-in': ([('pic', a, 40), ('pic', 'black', 30), ('blend', n),
                                           ('pic', b, 40)],
                                          [('cut', 40, 40), ('fade', 70, 70 + n)]),
                'fade-out, cut out of black': ([('pic', a, 40), ('blend', n),
                                                ('pic', 'black', 30), ('pic', b, 40)],
                                               [('fade', 40, 70 + n)]),
                'fade out and in': ([('pic', a, 40), ('blend', n), ('pic', 'black', 10),
                                     ('blend', n), ('pic', b, 40)],
                                    [('fade', 40, 50 + 2 * n)]),
            }
            for name, (segments, want) in cases.items():
                cuts, ends = detect(frames_of(segments), f'detector={args.detector}')
                total += 1
                if len(cuts) != len(want) or any(c[1] != w[0] for c, w in zip(cuts, want)):
                    wrong += 1
                    print(f'{a} -> {b}, {n} frames, {name}: got '
                          f'{[(c[1], c[2], ends[k] if k < len(ends) else None) for k, c in enumerate(cuts)]}'
                          f' (transition, start, end), want {want}')
                    continue
                for c, e, w in zip(cuts, ends, want):
                    start_err[c[2] - w[1]] += 1
                    end_err[e - w[2]] += 1
    print(f'{args.detector}: boundary count or kind wrong in {wrong} of {total} cases')
    print('  where right, transition-start minus first blended frame (frames: count): '
          + ', '.join(f'{k:+d}: {v}' for k, v in sorted(start_err.items())))
    print('  where right, transition-end minus first clean frame (frames: count): '
          + ', '.join(f'{k:+d}: {v}' for k, v in sorted(end_err.items())))


if __name__ == '__main__':
    main()
