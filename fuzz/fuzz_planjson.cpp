/* libFuzzer target: montage::parse_plan_json() on arbitrary text (a plan file
 * edited by hand or damaged). It must return true, or false with an error,
 * never crash, hang or leak the error. */
#include <gst/montage/planjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  montage::PlanJson plan;
  GError *error = nullptr;
  const bool ok = montage::parse_plan_json(std::string((const char *)data, size), plan, &error);
  if (ok == (error != nullptr))
    abort(); /* failure must come with exactly one error, success with none */
  g_clear_error(&error);
  return 0;
}
