/* libFuzzer target: the ADTS code on arbitrary bytes. Built three times with
 * FUZZ_ADTS_TARGET naming what is fed:
 *   0 parse_adts_header() on the input, and at every offset of its first 64 bytes;
 *   1 AdtsIndex::build() (the header scan with resynchronisation), and a
 *     round trip of the index it builds through serialise()/deserialise();
 *   2 AdtsIndex::deserialise() (a corrupt cache entry), and, when accepted,
 *     every frame, run and lookup of the index it returns.
 * None may crash, hang, read out of bounds or return an inconsistent index. */
#include <gst/montage/adts.h>

#include <cstdint>
#include <cstdlib>

#if FUZZ_ADTS_TARGET != 0
namespace
{

/* Walks everything an accepted index exposes, as AdtsExtractor would. */
void walk(const montage::AdtsIndex &index)
{
  guint64 end = 0;
  for (size_t i = 0; i < index.frame_count(); i++) {
    montage::AdtsFrame f = index.frame(i);
    if (f.offset < end)
      abort(); /* frames overlap or go backwards */
    end = f.offset + f.size;
  }
  if (end > index.file_size())
    abort(); /* a frame lies past the end of the file */
  for (size_t r = 0; r < index.runs().size(); r++) {
    const montage::AdtsRun &run = index.runs()[r];
    if (run.frames == 0)
      continue;
    index.find_frame(r, 0);
    index.find_frame(r, run.samples / 2);
    index.find_frame(r, run.samples + 1);
  }
}

} // namespace
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  GError *error = nullptr;
#if FUZZ_ADTS_TARGET == 0
  montage::AdtsHeader header;
  for (size_t off = 0; off < size && off < 64; off++)
    montage::parse_adts_header(data + off, size - off, header);
#elif FUZZ_ADTS_TARGET == 1
  montage::AdtsScanReport report;
  std::unique_ptr<montage::AdtsIndex> index =
      montage::AdtsIndex::build(data, size, &report, &error);
  if (index) {
    walk(*index);
    std::vector<uint8_t> bytes = index->serialise();
    std::unique_ptr<montage::AdtsIndex> again =
        montage::AdtsIndex::deserialise(bytes.data(), bytes.size(), &error);
    if (!again || again->frame_count() != index->frame_count())
      abort(); /* serialise() wrote something deserialise() refuses */
  }
#else
  std::unique_ptr<montage::AdtsIndex> index = montage::AdtsIndex::deserialise(data, size, &error);
  if (index)
    walk(*index);
#endif
  g_clear_error(&error);
  return 0;
}
