/* Seed maker for fuzz_adts_index (run by fuzz/make-corpus.sh): writes the
 * serialised AdtsIndex of an ADTS file, as the analysis cache stores it.
 *
 *   adts_index_seed IN.aac OUT.bin
 *
 * Exits 1 with the reason when IN cannot be indexed or OUT written. */
#include <gst/montage/adts.h>

#include <cstdio>

int main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: %s IN.aac OUT.bin\n", argv[0]);
    return 2;
  }
  GError *error = nullptr;
  auto index = montage::AdtsIndex::build_from_file(argv[1], nullptr, &error);
  if (!index) {
    fprintf(stderr, "%s: %s\n", argv[1], error->message);
    g_error_free(error);
    return 1;
  }
  const std::vector<uint8_t> bytes = index->serialise();
  if (!g_file_set_contents(argv[2], (const gchar *)bytes.data(), (gssize)bytes.size(), &error)) {
    fprintf(stderr, "%s\n", error->message);
    g_error_free(error);
    return 1;
  }
  return 0;
}
