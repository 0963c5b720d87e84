/* A stand-in for a hardware H.264 encoder that starts fine and then fails
 * while encoding, as a driver that loses its session does: it accepts I420,
 * claims H.264 byte-stream output (the caps only), drops the first frames
 * and posts an error ("test encoder lost its session") on its 6th frame, so
 * it passes a probe of fewer frames and fails a real encode. */
#pragma once

namespace montage_test {

/* Registers the element as "montagetestfailenc" (rank NONE, application
 * plugin) once per process; later calls do nothing. Returns false only when
 * registration fails. */
bool register_failing_encoder();

constexpr const char *kFailingEncoder = "montagetestfailenc";

} // namespace montage_test
