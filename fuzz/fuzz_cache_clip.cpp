/* libFuzzer target: montage::decode_clip() on arbitrary bytes (a corrupt or
 * hostile analysis-cache payload). It must return false or a clip, never
 * crash, hang or read out of bounds. A decoded clip is re-encoded and decoded
 * again: the encoder must accept whatever the decoder accepted. */
#include <gst/montage/cache.h>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  montage::ClipAnalysis song;
  if (!montage::decode_clip(data, size, song))
    return 0;
  std::vector<uint8_t> again = montage::encode_clip(song);
  montage::ClipAnalysis round;
  if (!montage::decode_clip(again.data(), again.size(), round))
    abort(); /* encode_clip wrote something decode_clip refuses */
  return 0;
}
