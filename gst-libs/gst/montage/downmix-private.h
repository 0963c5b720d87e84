/* gst-montage: the stereo downmix the montage plays a song of more than two
 * channels with, shared by the two render paths (render.cpp, where it is
 * defined, and render-cuts.cpp) and the tool's song analysis
 * (tools/analysis.cpp), so that the beats are tracked on the sound the
 * montage plays. Not installed; docs/render.md, "The song". */
#pragma once

#include <gst/audio/audio.h>
#include <gst/gst.h>

#include <vector>

namespace montage
{
namespace render_detail
{

/* The downmix of audio of more than two channels to stereo: `left` and
 * `right` get one gain per input channel, in `info`'s channel order (the
 * two rows of audioconvert's mix-matrix). Front left and right go to their
 * side at 1.0; the front centre to both at 1/sqrt(2) (-3 dB); every other
 * left or right channel (surround, rear, side, wide, left or right of centre,
 * top, bottom) to its side at 1/sqrt(2); the rear and top centres to both at
 * 1/2; LFE is dropped. That is the stereo downmix of ITU-R BS.775 (its
 * Lo/Ro equations for 3/2: L = FL + 0.7071 C + 0.7071 Ls), with the
 * channels it leaves out placed by the same rule. False, with `left` and
 * `right` emptied, for two channels or fewer and for unpositioned layouts
 * (no channel mask): audioconvert's own downmix then applies. */
bool stereo_downmix(const GstAudioInfo &info, std::vector<float> &left, std::vector<float> &right);

/* Makes `convert` (an audioconvert whose output is stereo) downmix input of
 * more than two channels with stereo_downmix()'s gains instead of its own:
 * a probe on its sink pad sets its mix-matrix at each CAPS event (only when
 * the gains change, as setting it asks upstream to renegotiate), and clears
 * it for input stereo_downmix() leaves alone. Once per element; any thread.
 * Why: audioconvert's default matrix (GstAudioChannelMixer) is normalised
 * so that no output can exceed full scale, which divides every channel by
 * the largest row sum: a 5.1 song came out 10.4 dB quieter than the same
 * song in stereo (a new user's trial; docs/render.md, "The song"). */
void downmix_to_stereo(GstElement *convert);

} // namespace render_detail
} // namespace montage
