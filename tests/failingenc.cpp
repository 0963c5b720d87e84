/* The failing test encoder; see failingenc.h. */
#include "failingenc.h"

#include <gst/gst.h>

#define TEST_TYPE_FAILING_ENC (test_failing_enc_get_type())
G_DECLARE_FINAL_TYPE(TestFailingEnc, test_failing_enc, TEST, FAILING_ENC, GstElement)
struct _TestFailingEnc {
  GstElement parent;
  GstPad *sinkpad;
  GstPad *srcpad;
  guint frames;
};
G_DEFINE_TYPE(TestFailingEnc, test_failing_enc, GST_TYPE_ELEMENT)

static GstStaticPadTemplate fail_sink =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw,format=I420"));
static GstStaticPadTemplate fail_src = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("video/x-h264,stream-format=byte-stream,alignment=au"));

static GstFlowReturn fail_chain(GstPad *, GstObject *parent, GstBuffer *buf)
{
  TestFailingEnc *self = TEST_FAILING_ENC(parent);
  gst_buffer_unref(buf);
  if (++self->frames >= 6) {
    GST_ELEMENT_ERROR(self, LIBRARY, ENCODE, ("test encoder lost its session"), (nullptr));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

static gboolean fail_sink_event(GstPad *pad, GstObject *parent, GstEvent *event)
{
  TestFailingEnc *self = TEST_FAILING_ENC(parent);
  if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
    gst_event_unref(event);
    GstCaps *caps = gst_static_pad_template_get_caps(&fail_src);
    gboolean ok = gst_pad_push_event(self->srcpad, gst_event_new_caps(caps));
    gst_caps_unref(caps);
    return ok;
  }
  return gst_pad_event_default(pad, parent, event);
}

static void test_failing_enc_init(TestFailingEnc *self)
{
  self->sinkpad = gst_pad_new_from_static_template(&fail_sink, "sink");
  gst_pad_set_chain_function(self->sinkpad, fail_chain);
  gst_pad_set_event_function(self->sinkpad, fail_sink_event);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template(&fail_src, "src");
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}

static void test_failing_enc_class_init(TestFailingEncClass *klass)
{
  GstElementClass *ec = GST_ELEMENT_CLASS(klass);
  gst_element_class_add_static_pad_template(ec, &fail_sink);
  gst_element_class_add_static_pad_template(ec, &fail_src);
  gst_element_class_set_static_metadata(ec, "Failing test encoder",
                                        "Codec/Encoder/Video/Hardware", "Fails on frame 6", "test");
}

namespace montage_test {

bool register_failing_encoder()
{
  static const bool registered =
      gst_element_register(nullptr, kFailingEncoder, GST_RANK_NONE, TEST_TYPE_FAILING_ENC);
  return registered;
}

} // namespace montage_test
