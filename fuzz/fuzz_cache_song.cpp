/* libFuzzer target: montage::decode_song() on arbitrary bytes (a corrupt or
 * hostile analysis-cache payload). It must return false or a song, never
 * crash, hang or read out of bounds. A decoded song is re-encoded and decoded
 * again: the encoder must accept whatever the decoder accepted. */
#include <gst/montage/cache.h>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  montage::SongAnalysis song;
  if (!montage::decode_song(data, size, song))
    return 0;
  std::vector<uint8_t> again = montage::encode_song(song);
  montage::SongAnalysis round;
  if (!montage::decode_song(again.data(), again.size(), round))
    abort(); /* encode_song wrote something decode_song refuses */
  return 0;
}
