/* libFuzzer target: the export readers on arbitrary text. Built three times
 * (fuzz_export_edl, fuzz_export_otio, fuzz_export_fcpxml) with
 * FUZZ_EXPORT_FORMAT naming the parser. Each must return true, or false with
 * an error, never crash, hang or leak. For EDL the first byte picks one of a
 * few frame rates (drop-frame included) and the rest is the text. */
#include <gst/montage/export.h>

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  montage::ExportedEdit edit;
  GError *error = nullptr;
  bool ok;
#if FUZZ_EXPORT_FORMAT == 0
  static const int rates[][2] = {{25, 1}, {30000, 1001}, {24, 1}, {60000, 1001}, {30, 1}, {50, 1}};
  if (size < 1)
    return 0;
  const int *rate = rates[data[0] % (sizeof rates / sizeof rates[0])];
  ok = montage::parse_edl(std::string((const char *)data + 1, size - 1), rate[0], rate[1], edit,
                          &error);
#elif FUZZ_EXPORT_FORMAT == 1
  ok = montage::parse_otio(std::string((const char *)data, size), edit, &error);
#else
  ok = montage::parse_fcpxml(std::string((const char *)data, size), edit, &error);
#endif
  if (ok == (error != nullptr))
    abort(); /* failure must come with exactly one error, success with none */
  g_clear_error(&error);
  return 0;
}
